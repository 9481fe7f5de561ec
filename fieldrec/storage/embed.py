"""Putting the metadata chunks into a finished WAV, crash-safely, and the two hashes of a take.

**At finalisation** (``embed_in_place``, the take's file already closed by libsndfile): the chunks are
*appended after* ``data``, then fsynced, and only then is the RIFF size (``ds64`` riff size for an RF64
file) rewritten to include them, and fsynced again. At every moment the file is a valid WAVE whose
``data`` chunk is untouched: before the size update the new bytes lie beyond the RIFF size and readers
ignore them; a kill during the 4-byte (8 for ds64) size write leaves either size. ``fieldrec check``
reports a file with bytes past its RIFF size as "chunk embedding was interrupted" and ``--repair`` cuts
them off and embeds again. Space is not reserved before ``data`` because libsndfile owns the header while
recording and rewrites it after every block.

**On edit** (``rewrite_with_chunks``): a new file is written beside the old one (header and ``data``
copied byte for byte, old fieldrec chunks after ``data`` dropped, new ones appended), fsynced, its audio
hash compared with the expected one, and renamed over the old file (then the folder is fsynced).

**Hashes** (``take_hashes``): ``sha256`` of every byte of the final file, and ``audio_sha256`` of the
audio samples only: for WAV the bytes of the ``data`` chunk body; for FLAC the decoded samples as
interleaved little-endian int16 (PCM_16) or int32 (PCM_24, left-aligned as libsndfile gives them). The
audio hash does not change when metadata is edited.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from fieldrec.storage.errors import StorageError
from fieldrec.storage.riff import RiffFile, hash_wav, read_riff

_OURS = (b"cue ", b"bext", b"iXML", b"guan")
_OUR_LISTS = (b"adtl", b"INFO")


@dataclass(frozen=True)
class EmbedResult:
    """``bytes``: final file size; ``sha256`` whole file; ``audio_sha256`` samples only; ``chunks`` names."""

    bytes: int
    sha256: str
    audio_sha256: str
    chunks: tuple[str, ...]


def _fsync(fh) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_ours(riff: RiffFile, chunk) -> bool:
    if chunk.id in _OURS or chunk.id == b"JUNK":  # after data, a JUNK is what embed_in_place left
        return True
    return chunk.id == b"LIST" and riff.list_type(chunk) in _OUR_LISTS


def audio_end(riff: RiffFile) -> int:
    """File offset just past the ``data`` body and its pad byte."""
    data = riff.data
    return data.body + data.size + (data.size & 1)


def _write_size(fh, riff: RiffFile, total: int) -> None:
    if riff.form == b"RIFF":
        if total - 8 > 0xFFFFFFFF:
            raise StorageError(f"{riff.path.name}: the chunks would take the file past 4 GiB in RIFF form; "
                               "the metadata stays in the sidecar only")
        fh.seek(4)
        fh.write(struct.pack("<I", total - 8))
    else:
        ds64 = riff.find(b"ds64")
        if ds64 is None:
            raise StorageError(f"{riff.path.name}: RF64 file without ds64 chunk; cannot grow it")
        fh.seek(ds64.body)
        fh.write(struct.pack("<Q", total - 8))


def embed_in_place(path: str | Path, chunks: list[tuple[str, bytes]],
                   progress: Callable[[int, int], None] | None = None, hash: bool = True,
                   durable: bool = True) -> EmbedResult:
    """Append ``chunks`` (``chunk_map.build_chunks``) after ``data`` of the closed WAV at ``path``.

    Anything after ``data`` (a previous, possibly interrupted, embedding) is cut off first. The audio
    bytes are never touched. The chunks are first written inside one ``JUNK`` chunk that covers them all
    (so a kill while writing leaves only a cut-off JUNK chunk, which readers skip, never a cut-off bext
    that ffmpeg refuses), fsynced; then that JUNK's size is set to 0 (the chunks become visible), then
    the RIFF size; each step fsynced. Raises ``StorageError`` (one line) when the file has no whole data.
    ``hash=False`` leaves the two digests empty (the caller hashes, e.g. with its own error handling).
    ``durable=False`` (a file under a temporary name that the caller renames into place, as the dataset
    export does) writes the same bytes without the JUNK step and the three fsyncs.
    """
    path = Path(path)
    riff = read_riff(path)
    end = audio_end(riff)
    if end > riff.file_size:
        raise StorageError(f"{path.name}: its data chunk runs past the end of the file; check --repair first")
    blob = b"".join(body for _name, body in chunks)
    if not durable:
        with open(path, "r+b") as fh:
            fh.truncate(end)
            fh.seek(end)
            fh.write(blob)
            _write_size(fh, riff, end + len(blob))
        whole, audio = hash_wav(path, progress=progress) if hash else ("", "")
        return EmbedResult(path.stat().st_size, whole, audio, tuple(name for name, _ in chunks))
    with open(path, "r+b") as fh:
        fh.truncate(end)  # also supplies a missing pad byte (as a zero)
        fh.seek(end)
        fh.write(b"JUNK" + struct.pack("<I", len(blob)))
        fh.write(blob)
        _fsync(fh)
        fh.seek(end + 4)
        fh.write(struct.pack("<I", 0))
        _fsync(fh)
        _write_size(fh, riff, end + 8 + len(blob))
        _fsync(fh)
    whole, audio = hash_wav(path, progress=progress) if hash else ("", "")
    return EmbedResult(path.stat().st_size, whole, audio, tuple(name for name, _ in chunks))


def rewrite_with_chunks(path: str | Path, chunks: list[tuple[str, bytes]], expected_audio_sha256: str | None
                        ) -> EmbedResult:
    """Replace the metadata chunks of ``path`` via a new file + fsync + rename.

    The new file's audio hash must equal ``expected_audio_sha256`` (when given) or nothing is renamed and
    ``StorageError`` says so. Chunks of other tools before ``data`` are kept; fieldrec's after ``data``
    are replaced.
    """
    path = Path(path)
    riff = read_riff(path)
    end = audio_end(riff)
    if end > riff.file_size:
        raise StorageError(f"{path.name}: its data chunk runs past the end of the file; refusing to edit")
    tmp = path.with_name(f".{path.name}.edit.tmp")
    keep_after = [c for c in riff.chunks if c.offset >= end and not _is_ours(riff, c) and not c.truncated]
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            left = end
            while left > 0:
                block = src.read(min(left, 1 << 20))
                if not block:
                    block = b"\0" * left  # a missing pad byte
                dst.write(block)
                left -= len(block)
            for c in keep_after:
                src.seek(c.offset)
                dst.write(src.read(c.end - c.offset))
            for _name, body in chunks:
                dst.write(body)
            total = dst.tell()
            _fsync(dst)
        with open(tmp, "r+b") as fh:
            _write_size(fh, riff, total)
            _fsync(fh)
        whole, audio = hash_wav(tmp)
        if expected_audio_sha256 is not None and audio != expected_audio_sha256:
            raise StorageError(f"{path.name}: its audio no longer matches the sidecar's audio_sha256; "
                               "not editing, the original is kept (run fieldrec check)")
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise StorageError(f"cannot rewrite {path.name}: {exc.strerror or exc}; the original is kept") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return EmbedResult(total, whole, audio, tuple(name for name, _ in chunks))


def flac_audio_sha256(path: str | Path, subtype: str | None = None) -> str:
    """SHA-256 of a FLAC file's decoded samples (interleaved little-endian int16 or int32)."""
    digest = hashlib.sha256()
    with sf.SoundFile(str(path)) as snd:
        dtype = "int16" if (subtype or snd.subtype) == "PCM_16" else "int32"
        while True:
            block = snd.read(65536, dtype=dtype, always_2d=True)
            if not len(block):
                break
            digest.update(np.ascontiguousarray(block).astype(f"<{dtype[0]}{np.dtype(dtype).itemsize}").tobytes())
    return digest.hexdigest()


def take_hashes(path: str | Path, progress: Callable[[int, int], None] | None = None) -> tuple[str, str]:
    """(whole-file SHA-256, audio-samples SHA-256) of a WAV/RF64 or FLAC take; see the module text.
    ``progress(done_bytes, total_bytes)`` as the file is read."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"fLaC":
        from fieldrec.storage.hashing import sha256_file

        return sha256_file(path, progress=progress), flac_audio_sha256(path)
    return hash_wav(path, progress=progress)
