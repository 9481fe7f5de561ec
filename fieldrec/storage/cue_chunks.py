"""Markers as a RIFF ``cue `` chunk plus ``LIST``/``adtl`` ``labl`` labels, appended to a finished WAV.

libsndfile accepts cue points only before the first sample is written, but markers are placed during
the take, so they are appended after ``close()``: chunks first (flushed to disk), then the RIFF size in
the header (or the RF64 ``ds64`` size) is patched. A crash in between leaves bytes after the RIFF end,
which readers ignore; a failure truncates the file back to its previous length.
Labels are UTF-8. Positions are frames from the start of the data; markers past 2^32-1 frames (6.2 h
at 192 kHz) do not fit the 32-bit field and are left out (they stay in the sidecar).
"""

import os
import struct
from collections.abc import Sequence
from pathlib import Path

from fieldrec.storage.errors import StorageError

MAX_CUE_FRAME = 0xFFFFFFFF


def _pad(data: bytes) -> bytes:
    return data + b"\0" if len(data) % 2 else data


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + _pad(payload)


def build_cue_chunks(markers: Sequence[tuple[int, str]]) -> bytes:
    """``cue `` and ``LIST``/``adtl`` chunk bytes for (frame, label) pairs; cue ids are 1, 2, ..."""
    points = [(int(frame), str(label)) for frame, label in markers if 0 <= int(frame) <= MAX_CUE_FRAME]
    if not points:
        return b""
    cue = struct.pack("<I", len(points)) + b"".join(
        struct.pack("<II4sIII", ident, frame, b"data", 0, 0, frame) for ident, (frame, _) in enumerate(points, 1))
    labels = b"".join(_chunk(b"labl", struct.pack("<I", ident) + label.encode("utf-8") + b"\0")
                      for ident, (_, label) in enumerate(points, 1) if label)
    out = _chunk(b"cue ", cue)
    if labels:
        out += _chunk(b"LIST", b"adtl" + labels)
    return out


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def append_cue_markers(path: str | Path, markers: Sequence[tuple[int, str]]) -> int:
    """Append markers to the closed WAV/RF64 file at ``path``; return how many cue points were written."""
    path = Path(path)
    data = build_cue_chunks(markers)
    if not data:
        return 0
    count = struct.unpack_from("<I", data, 8)[0]
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        raise StorageError(f"cannot open {path} to add markers: {exc.strerror}") from None
    with os.fdopen(fd, "r+b", buffering=0) as fh:
        head = fh.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RF64"):
            raise StorageError(f"{path.name} is not a WAV file; markers stay in the sidecar")
        size_field_at, size_fmt = 4, "<I"
        if head[:4] == b"RF64":
            ds64 = fh.read(8)
            if ds64[:4] != b"ds64":
                raise StorageError(f"{path.name} is RF64 without a ds64 chunk; markers stay in the sidecar")
            size_field_at, size_fmt = 20, "<Q"
        fh.seek(size_field_at)
        riff_size = struct.unpack(size_fmt, fh.read(struct.calcsize(size_fmt)))[0]
        end = fh.seek(0, os.SEEK_END)
        riff_end = 8 + riff_size
        if riff_end != end:
            raise StorageError(f"{path.name}: RIFF size {riff_size} does not match the file ({end} bytes); "
                               "markers stay in the sidecar")
        if head[:4] == b"RIFF" and riff_size + len(data) > 0xFFFFFFFF:
            raise StorageError(f"{path.name} is too close to 4 GiB for markers; they stay in the sidecar")
        if end % 2:  # chunks start on even offsets: the odd-sized last chunk gets its pad byte
            data = b"\0" + data
        try:
            _write_all(fd, data)
            os.fsync(fd)
            fh.seek(size_field_at)
            _write_all(fd, struct.pack(size_fmt, riff_size + len(data)))
            os.fsync(fd)
        except OSError as exc:
            fh.truncate(end)
            raise StorageError(f"cannot add markers to {path.name}: {exc.strerror}; they stay in the sidecar") from None
    return count
