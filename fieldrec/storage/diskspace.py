"""Free disk space and how many seconds of audio still fit."""

import os
from pathlib import Path

from fieldrec.formats import FORMATS
from fieldrec.storage.errors import StorageError

#: Warn the recordist when fewer than this many seconds (15 minutes) of audio still fit. The one threshold:
#: the take's status warning, ``fieldrec.field.power`` (battery and disk) and the window's health strip use it.
LOW_SPACE_SECONDS = 15 * 60

#: Bytes per sample as stored in the file for each supported subtype (from the one format table).
SAMPLE_BYTES = {f.subtype: f.sample_bytes for f in FORMATS.values()}


def free_bytes(folder: str | Path, fd: int | None = None) -> int:
    """Bytes available to this (unprivileged-equivalent) user in the file system holding ``folder``, or the
    open file ``fd`` if given (it stays right when the folder is renamed while a take is written to it;
    ``folder`` then only names it in the message)."""
    try:
        st = os.statvfs(folder if fd is None else fd)
    except OSError as exc:
        raise StorageError(f"cannot check free space in {folder}: {exc.strerror}; choose an existing folder") from None
    return st.f_bavail * st.f_frsize


def bytes_per_second(samplerate: int, channels: int, subtype: str) -> int:
    """Uncompressed audio data rate in bytes per second (an upper bound for FLAC)."""
    try:
        width = SAMPLE_BYTES[subtype]
    except KeyError:
        raise StorageError(f"unknown subtype {subtype!r}; use one of {', '.join(SAMPLE_BYTES)}") from None
    return int(samplerate) * int(channels) * width


def seconds_left(folder: str | Path, bytes_per_second: int) -> float:
    """Seconds of audio at ``bytes_per_second`` that still fit in ``folder``'s file system."""
    if bytes_per_second <= 0:
        raise StorageError(f"bytes_per_second must be positive, got {bytes_per_second}")
    return free_bytes(folder) / bytes_per_second
