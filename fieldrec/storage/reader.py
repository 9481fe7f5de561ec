"""Chunked float32 reading of audio files in bounded memory, with one-line errors for bad files.

``iter_blocks(path, block_frames)`` opens the file with soundfile (libsndfile), checks it and returns
``(info, blocks)``; ``blocks`` yields float32 arrays of shape (frames, channels), full scale = 1.0
(or int32, full scale 2^31).
Bad input raises ``AudioFileError`` with a message saying what is wrong and what to do: a missing or
unreadable path, a file that is not audio, an empty file (no frames), or a truncated file (a WAV/RF64
whose data chunk claims more bytes than the file holds, fewer frames readable than the header says,
or a decode error part-way).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


class AudioFileError(Exception):
    """A file that cannot be analysed; ``str(err)`` is a one-line reason for people, without the file's name
    (the caller says which file: ``error: PATH: REASON``)."""


@dataclass(frozen=True)
class AudioInfo:
    """What the header says: rate in Hz, channel count, length in frames, libsndfile format names."""

    path: Path
    samplerate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate


def _declared_wav_data_bytes(path: Path) -> tuple[int, int] | None:
    """(data chunk offset, declared data bytes) of a RIFF/RF64 WAVE file, or None if not one/unknown."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RF64", b"BW64"):
            return None
        rf64_data: int | None = None
        pos = 12
        size = os.fstat(f.fileno()).st_size
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_len = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"ds64":
                body = f.read(min(chunk_len, 28))
                if len(body) >= 16:
                    rf64_data = struct.unpack("<Q", body[8:16])[0]
            elif chunk_id == b"data":
                if chunk_len == 0xFFFFFFFF:
                    if rf64_data is None:
                        return None  # streamed WAV of unknown length
                    chunk_len = rf64_data
                return pos + 8, chunk_len
            pos += 8 + chunk_len + (chunk_len & 1)
    return None


def _check_wav_length(path: Path) -> None:
    try:
        found = _declared_wav_data_bytes(path)
    except OSError:
        return
    if found is None:
        return
    offset, declared = found
    have = path.stat().st_size - offset
    if declared > have:
        raise AudioFileError(
            f"truncated WAV: its header declares {declared} bytes of audio but only {have} are "
            "in the file; the take was cut short (repair the header or re-copy the file)"
        )


def open_info(path: str | os.PathLike[str]) -> tuple[AudioInfo, sf.SoundFile]:
    """Open ``path`` and check it; returns (info, open SoundFile). Raises AudioFileError."""
    p = Path(path)
    if not p.exists():
        raise AudioFileError("no such file; check the path")
    if p.is_dir():
        raise AudioFileError("a folder, not an audio file; give the path of a file")
    if p.stat().st_size == 0:
        raise AudioFileError("empty file (0 bytes), nothing to analyse")
    try:
        f = sf.SoundFile(str(p))
    except sf.LibsndfileError as e:
        reason = str(e).rsplit(":", 1)[-1].strip() or "unreadable"
        raise AudioFileError(
            f"not an audio file that can be read ({reason}); use WAV, RF64, FLAC, AIFF or OGG"
        ) from None
    except OSError as e:
        raise AudioFileError(f"cannot open ({e.strerror or e}); check permissions") from None
    info = AudioInfo(p, int(f.samplerate), int(f.channels), int(f.frames), str(f.format), str(f.subtype))
    try:
        if info.frames <= 0:
            raise AudioFileError("empty audio file (0 frames), nothing to analyse")
        if info.format in ("WAV", "WAVEX", "RF64"):
            _check_wav_length(p)
    except AudioFileError:
        f.close()
        raise
    return info, f


def _blocks(f: sf.SoundFile, info: AudioInfo, block_frames: int, dtype: str) -> Iterator[np.ndarray]:
    done = 0
    try:
        while True:
            try:
                block = f.read(block_frames, dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as e:
                raise AudioFileError(
                    f"read error after {done} of {info.frames} frames ({e}); "
                    "the file is truncated or damaged"
                ) from None
            if block.shape[0] == 0:
                break
            done += block.shape[0]
            yield block
        if done < info.frames:
            raise AudioFileError(
                f"truncated: the header says {info.frames} frames but only {done} "
                "could be read; the file is cut short or damaged"
            )
    finally:
        f.close()


def iter_blocks(
    path: str | os.PathLike[str], block_frames: int = 65536, dtype: str = "float32"
) -> tuple[AudioInfo, Iterator[np.ndarray]]:
    """Return (info, iterator of blocks (frames, channels)); at most ``block_frames`` per block.

    ``dtype`` "float32" (full scale = 1.0) or "int32" (PCM left-justified: full scale = 2^31; libsndfile
    converts, so a PCM_16 or PCM_24 file reads the same values either way, 2^31 times larger as int32).
    """
    if block_frames < 1:
        raise ValueError("block_frames must be at least 1")
    if dtype not in ("float32", "int32"):
        raise ValueError(f"dtype must be float32 or int32, got {dtype!r}")
    info, f = open_info(path)
    return info, _blocks(f, info, int(block_frames), dtype)
