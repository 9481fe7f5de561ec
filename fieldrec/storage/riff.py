"""RIFF/RF64 WAVE chunks: a tolerant reader, chunk packing, and the audio-only hash.

Reading tolerates what real recorders write: a RIFF size a few bytes wrong (the walk goes by the file's
real length), an odd-sized chunk without its pad byte (the next id is looked for at both places), a
truncated last chunk (reported, not fatal), RF64/BW64 with sizes in ``ds64``.

``hash_wav(path)`` reads a file once and returns both SHA-256 digests fieldrec keeps: of the whole file,
and of the sample bytes of the ``data`` chunk only (stable across metadata edits).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fieldrec.storage.errors import StorageError

_MIB = 1024 * 1024
_FORMS = (b"RIFF", b"RF64", b"BW64")
_KNOWN = {b"fmt ", b"data", b"fact", b"bext", b"iXML", b"guan", b"cue ", b"LIST", b"JUNK", b"junk", b"PAD ",
          b"ds64", b"PEAK", b"smpl", b"inst", b"axml", b"umid", b"_PMX", b"FLLR", b"minf", b"elm1", b"regn"}


class RiffError(StorageError):
    """Not a RIFF/RF64 WAVE file, or one too damaged to find its data chunk; one line."""


@dataclass(frozen=True)
class Chunk:
    """One chunk: ``id`` (4 bytes), ``offset`` of its 8-byte header in the file, ``size`` of its body
    (bytes, as declared or from ds64), ``truncated`` when the file ends inside it."""

    id: bytes
    offset: int
    size: int
    truncated: bool = False

    @property
    def body(self) -> int:
        """File offset of the chunk body."""
        return self.offset + 8

    @property
    def end(self) -> int:
        """File offset just past the body and its pad byte."""
        return self.body + self.size + (self.size & 1)


@dataclass
class RiffFile:
    """The chunk layout of a WAVE file. ``riff_size`` as declared (ds64's for RF64); ``file_size`` real."""

    path: Path
    form: bytes
    riff_size: int
    file_size: int
    chunks: list[Chunk] = field(default_factory=list)
    ds64: tuple[int, int, int] | None = None  #: (riff size, data size, sample count) of an RF64 file
    problems: list[str] = field(default_factory=list)

    def find(self, cid: bytes) -> Chunk | None:
        return next((c for c in self.chunks if c.id == cid), None)

    def find_all(self, cid: bytes) -> list[Chunk]:
        return [c for c in self.chunks if c.id == cid]

    @property
    def data(self) -> Chunk:
        chunk = self.find(b"data")
        if chunk is None:
            raise RiffError(f"{self.path.name}: no data chunk; not a complete WAVE file")
        return chunk

    def read(self, chunk: Chunk) -> bytes:
        """The body of ``chunk`` (as much as the file holds)."""
        with open(self.path, "rb") as fh:
            fh.seek(chunk.body)
            return fh.read(chunk.size)

    def list_type(self, chunk: Chunk) -> bytes:
        """The 4-byte type of a LIST chunk (``INFO``, ``adtl``)."""
        with open(self.path, "rb") as fh:
            fh.seek(chunk.body)
            return fh.read(4)


def _plausible_id(raw: bytes) -> bool:
    return len(raw) == 4 and all(32 <= b < 127 for b in raw)


def read_riff(path: str | Path) -> RiffFile:
    """Walk the chunks of a WAVE file. Raises ``RiffError`` when it is not RIFF/RF64/BW64 WAVE."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise RiffError(f"{path.name}: cannot open ({exc.strerror})") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in _FORMS or head[8:12] != b"WAVE":
            raise RiffError(f"{path.name}: not a WAVE file (no RIFF/RF64 WAVE header)")
        form = head[:4]
        riff = RiffFile(path, form, struct.unpack("<I", head[4:8])[0], size)
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            cid, csize = struct.unpack("<4sI", fh.read(8))
            prev_odd = bool(riff.chunks) and riff.chunks[-1].size & 1
            fits = _plausible_id(cid) and pos + 8 + csize <= size
            if prev_odd and (cid not in _KNOWN or not fits):
                # the odd chunk before may have had no pad byte: look one byte back too
                fh.seek(pos - 1)
                cid2, csize2 = struct.unpack("<4sI", fh.read(8))
                if _plausible_id(cid2) and (cid2 in _KNOWN or not fits) and pos - 1 + 8 + csize2 <= size:
                    riff.problems.append(f"chunk {riff.chunks[-1].id!r} has an odd size and no pad byte")
                    pos, cid, csize = pos - 1, cid2, csize2
            if not _plausible_id(cid):
                riff.problems.append(f"garbage at byte {pos}; the rest of the file is ignored")
                break
            if cid == b"ds64" and csize >= 24:
                body = fh.read(24)
                if len(body) == 24:
                    riff.ds64 = struct.unpack("<QQQ", body)
            if cid == b"data" and csize == 0xFFFFFFFF and riff.ds64 is not None:
                csize = riff.ds64[1]
            truncated = pos + 8 + csize > size
            if truncated:
                riff.problems.append(f"chunk {cid!r} at byte {pos} is cut off by the end of the file")
                csize_kept = csize
                riff.chunks.append(Chunk(cid, pos, csize_kept, True))
                break
            riff.chunks.append(Chunk(cid, pos, csize))
            pos += 8 + csize + (csize & 1)
            if csize & 1 and pos > size:  # the last chunk was odd and had no pad byte
                pos = size
        if form == b"RF64" and riff.ds64 is not None:
            riff.riff_size = riff.ds64[0]
        if riff.riff_size + 8 != size and not (form == b"RIFF" and riff.riff_size + 8 == size + 1):
            riff.problems.append(f"RIFF size says {riff.riff_size + 8} bytes, the file has {size}")
    return riff


def pack_chunk(cid: bytes, body: bytes) -> bytes:
    """``cid`` + little-endian size + ``body`` + a pad byte when the size is odd."""
    if len(cid) != 4:
        raise ValueError(f"chunk id must be 4 bytes, got {cid!r}")
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def pack_list(list_type: bytes, subchunks: list[tuple[bytes, bytes]]) -> bytes:
    """A ``LIST`` chunk of ``list_type`` (``INFO``, ``adtl``) holding ``(id, body)`` sub-chunks."""
    return pack_chunk(b"LIST", list_type + b"".join(pack_chunk(cid, body) for cid, body in subchunks))


def iter_subchunks(body: bytes) -> list[tuple[bytes, bytes]]:
    """The ``(id, body)`` sub-chunks of a LIST body after its 4-byte type; tolerant of missing pads."""
    out: list[tuple[bytes, bytes]] = []
    pos = 4
    while pos + 8 <= len(body):
        cid, size = struct.unpack("<4sI", body[pos:pos + 8])
        if not _plausible_id(cid):
            if out and len(out[-1][1]) & 1 and _plausible_id(body[pos - 1:pos + 3]):
                pos -= 1
                continue
            break
        out.append((cid, body[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


def _sha256_range(path: str | Path, start: int, stop: int | None,
                  progress: Callable[[int, int], None] | None = None, total: int = 0) -> str:
    digest = hashlib.sha256()
    buf = bytearray(4 * _MIB)
    view = memoryview(buf)
    pos = start
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)
        while stop is None or pos < stop:
            want = len(buf) if stop is None else min(len(buf), stop - pos)
            n = fh.readinto(view[:want])
            if not n:
                break
            digest.update(view[:n])  # hashlib releases the GIL for large buffers
            pos += n
            if progress is not None:
                progress(pos, total)
    return digest.hexdigest()


#: files up to this size are hashed in one read in the calling thread (an exported 1 s window is ~32 KB)
SMALL_FILE_BYTES = 4 << 20


def hash_wav(path: str | Path, riff: RiffFile | None = None,
             progress: Callable[[int, int], None] | None = None) -> tuple[str, str]:
    """(SHA-256 of the whole file, SHA-256 of the ``data`` chunk's sample bytes).

    The two digests are computed in two threads over the page cache (hashlib releases the GIL), so on two
    cores they take about the time of one (files up to ``SMALL_FILE_BYTES``: one read, in this thread); ``progress(done_bytes, total_bytes)`` follows the whole-file hash.
    """
    riff = riff or read_riff(path)
    data = riff.data
    start, stop = data.body, min(data.body + data.size, riff.file_size)
    if riff.file_size <= SMALL_FILE_BYTES:  # one read, no thread: a thread costs more than it saves here
        with open(path, "rb") as fh:
            blob = fh.read()
        if progress is not None:
            progress(len(blob), riff.file_size)
        return hashlib.sha256(blob).hexdigest(), hashlib.sha256(memoryview(blob)[start:stop]).hexdigest()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldrec-hash") as pool:
        audio = pool.submit(_sha256_range, path, start, stop)
        whole = _sha256_range(path, 0, None, progress, riff.file_size)
        return whole, audio.result()
