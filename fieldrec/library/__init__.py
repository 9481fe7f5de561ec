"""Work on takes already on disk, above storage and analysis: ``check`` (and repair), ``edit``, ``importer``.

Qt-free; the CLI (``fieldrec check|edit|import``) and later the window's library call these.
"""
