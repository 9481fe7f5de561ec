"""Random access to a take's frames: ``TakeReader(path).read(start, frames)`` -> float32 (frames, channels).

One open ``soundfile.SoundFile`` per reader; a reader belongs to one thread (the GUI thread, or one worker),
so views and workers each open their own. Reads past the end are padded with zeros; memory per read is
what was asked for, never the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf


class TakeReader:
    """Frames of one audio file, full scale = 1.0; ``samplerate`` in Hz, ``frames`` per channel."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._f = sf.SoundFile(str(self.path))
        self.samplerate = int(self._f.samplerate)
        self.channels = int(self._f.channels)
        self.frames = int(self._f.frames)
        self.subtype = str(self._f.subtype)

    def read(self, start: int, frames: int) -> np.ndarray:
        """``frames`` frames from ``start`` (float32, (frames, channels)); zeros outside the file."""
        start, frames = int(start), max(0, int(frames))
        out = np.zeros((frames, self.channels), np.float32)
        lo, hi = max(0, start), min(self.frames, start + frames)
        if hi > lo:
            self._f.seek(lo)
            got = self._f.read(hi - lo, dtype="float32", always_2d=True)
            out[lo - start: lo - start + got.shape[0]] = got
        return out

    def blocks(self, start: int, stop: int, block_frames: int = 65536) -> Iterator[np.ndarray]:
        """Consecutive float32 blocks of at most ``block_frames`` covering [start, stop) (clipped to the file)."""
        start, stop = max(0, int(start)), min(self.frames, int(stop))
        pos = start
        while pos < stop:
            n = min(block_frames, stop - pos)
            self._f.seek(pos)
            block = self._f.read(n, dtype="float32", always_2d=True)
            if block.shape[0] == 0:
                break
            pos += block.shape[0]
            yield block

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> TakeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
