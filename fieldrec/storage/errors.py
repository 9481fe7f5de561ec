"""Exceptions raised by fieldrec.storage; every message is one line saying what was wrong and what to do."""


class StorageError(Exception):
    """A file or folder could not be created, written or read."""


class DiskFullError(StorageError):
    """The disk has no room for the next block; the file written so far is valid and can be closed."""


class SidecarError(StorageError):
    """A JSON sidecar is missing, corrupt, not an object, or from a newer fieldrec."""


class TemplateError(StorageError, ValueError):
    """A file name template refers to an unknown field or uses unsupported syntax."""
