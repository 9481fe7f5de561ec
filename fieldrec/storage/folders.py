"""Is a folder usable for output? ``check_writable_folder`` creates it and proves a file can be written."""

from __future__ import annotations

import os
from pathlib import Path

from fieldrec.storage.errors import StorageError


def check_writable_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) and write and delete a probe file in it.

    Raises ``StorageError`` with one line when it cannot be created, is not a folder, or is not writable.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageError(f"cannot use the output folder {folder}: {err.strerror or err}") from None
    if not folder.is_dir():
        raise StorageError(f"the output folder {folder} is not a folder")
    probe = folder / f".fieldrec-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise StorageError(f"the output folder {folder} is not writable: {err.strerror or err}") from None
