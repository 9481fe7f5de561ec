"""Work on takes already on disk, Qt-free: ``index`` (the library of takes built from the sidecars under one
or more folders, with the problems ``fieldrec check`` would report), ``filters`` (the library window's search
and filters), ``check`` (and repair), ``takes`` (edit) and ``importer`` (other recorders' files).
"""
