"""The library of takes: an index built from the sidecars under one or more folders (Qt-free).

``fieldrec.library.index`` scans folders and returns one ``TakeRecord`` per take, with the problems
``fieldrec check`` would report (missing sidecar or audio, size or frame mismatch, hash on demand);
``fieldrec.library.filters`` holds the search and filters the library window applies.
"""
