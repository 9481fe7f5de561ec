"""Peak overview of a whole take: min and max per bucket of frames, built once in one streaming pass, cached.

``build_overview(path)`` reads the file block by block (``BLOCK_BUCKETS`` buckets at a time, so memory stays
at a few MB however long the take) and keeps, per channel, the minimum and maximum of every ``bucket``
frames (512 by default: an hour at 192 kHz gives 1.35 M buckets, 21.6 MB for 2 channels in float32), plus a
64x coarser level for wide views. ``load_or_build(path)`` keeps it in the user cache folder
(``platformdirs.user_cache_dir("fieldrec")/overview``) keyed by the file's resolved path, size and
modification time, so the second open reads a few MB instead of the file.

``envelope(start, stop, columns)`` answers a view: per column the min and max of the frames it covers (full
scale = 1.0), from the coarsest level that still has a bucket per column; when the view is narrower than
that, from the file itself (at most ``columns * bucket`` frames are read).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs
import soundfile as sf

log = logging.getLogger(__name__)

BUCKET = 512
COARSE = 64  #: buckets per coarse bucket
BLOCK_BUCKETS = 2048  #: buckets read per block (1 Mframe at 512)
CACHE_VERSION = 1

_INT_SCALE = {"PCM_16": 2.0**15, "PCM_24": 2.0**31, "PCM_32": 2.0**31}  # libsndfile scales 24-bit to int32


class OverviewCancelled(Exception):
    """The build was cancelled (the view closed before it finished)."""


@dataclass
class Overview:
    """Per-bucket minimum and maximum of each channel, full scale = 1.0. ``mins``/``maxs``: (buckets, ch)."""

    samplerate: int
    channels: int
    frames: int
    bucket: int
    mins: np.ndarray
    maxs: np.ndarray
    path: Path | None = None

    def __post_init__(self) -> None:
        self._coarse = _reduce_level(self.mins, self.maxs, COARSE)

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate

    @property
    def nbytes(self) -> int:
        return self.mins.nbytes + self.maxs.nbytes + self._coarse[0].nbytes * 2

    def envelope(self, start: int, stop: int, columns: int,
                 reader: Callable[[int, int], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column start frames (n+1 edges), mins (n, ch), maxs (n, ch)) for frames [start, stop).

        ``reader(start, frames)`` reads float frames from the file; it is used (and needed) only when the
        range holds fewer buckets than ``columns``.
        """
        start = int(max(0, min(start, self.frames)))
        stop = int(max(start, min(stop, self.frames)))
        columns = max(1, int(columns))
        span = stop - start
        if span == 0:
            empty = np.zeros((0, self.channels), np.float32)
            return np.array([start]), empty, empty
        if span < columns * self.bucket and reader is not None:
            data = reader(start, span)
            cols = min(columns, span)
            edges = np.linspace(0, span, cols + 1).astype(np.int64)
            edges = np.unique(edges)
            mins = np.minimum.reduceat(data, edges[:-1], axis=0)
            maxs = np.maximum.reduceat(data, edges[:-1], axis=0)
            return edges + start, mins, maxs
        coarse_bucket = self.bucket * COARSE
        if span >= columns * coarse_bucket * 2:
            lo, hi, size = self._coarse[0], self._coarse[1], coarse_bucket
        else:
            lo, hi, size = self.mins, self.maxs, self.bucket
        b0, b1 = start // size, min(lo.shape[0], -(-stop // size))
        n = b1 - b0
        cols = min(columns, n)
        edges = np.unique(np.linspace(0, n, cols + 1).astype(np.int64))
        mins = np.minimum.reduceat(lo[b0:b1], edges[:-1], axis=0)
        maxs = np.maximum.reduceat(hi[b0:b1], edges[:-1], axis=0)
        frames = np.minimum((edges + b0) * size, self.frames)
        frames[0] = max(frames[0], 0)
        return frames, mins, maxs


def _reduce_level(mins: np.ndarray, maxs: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    n = mins.shape[0]
    if n == 0:
        return mins.copy(), maxs.copy()
    idx = np.arange(0, n, factor)
    return np.minimum.reduceat(mins, idx, axis=0), np.maximum.reduceat(maxs, idx, axis=0)


def build_overview(path: str | os.PathLike[str], bucket: int = BUCKET,
                   progress: Callable[[float], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Overview:
    """One streaming pass over ``path``: min/max per ``bucket`` frames per channel.

    ``progress(fraction)`` is called after each block; ``cancelled()`` returning True stops the pass with
    ``OverviewCancelled``. Integer PCM is read as integers (no float conversion of every sample).
    Raises ``soundfile.LibsndfileError``/``OSError`` for files that cannot be read.
    """
    path = Path(path)
    with sf.SoundFile(str(path)) as f:
        frames, channels, sr = int(f.frames), int(f.channels), int(f.samplerate)
        scale = _INT_SCALE.get(f.subtype)
        dtype = ("int16" if f.subtype == "PCM_16" else "int32") if scale else "float32"
        n_buckets = -(-frames // bucket)
        mins = np.empty((n_buckets, channels), np.float32)
        maxs = np.empty((n_buckets, channels), np.float32)
        block = bucket * BLOCK_BUCKETS
        buf = np.empty((block, channels), dtype=dtype)
        done_b = 0
        read = 0
        while read < frames:
            if cancelled is not None and cancelled():
                raise OverviewCancelled(str(path))
            n = f.read(out=buf).shape[0]
            if n == 0:
                break
            full = n // bucket
            if full:
                view = buf[: full * bucket].reshape(full, bucket, channels)
                mins[done_b:done_b + full] = view.min(axis=1)
                maxs[done_b:done_b + full] = view.max(axis=1)
            if n % bucket:
                tail = buf[full * bucket:n]
                mins[done_b + full] = tail.min(axis=0)
                maxs[done_b + full] = tail.max(axis=0)
                full += 1
            done_b += full
            read += n
            if progress is not None:
                progress(read / frames)
    if done_b < n_buckets:  # a file shorter than its header: the rest is silence on screen
        mins[done_b:] = 0
        maxs[done_b:] = 0
    if scale:
        mins /= scale
        maxs /= scale
    return Overview(sr, channels, frames, bucket, mins, maxs, path)


def cache_dir() -> Path:
    """Where overviews are kept: ``platformdirs.user_cache_dir("fieldrec")/overview``."""
    return Path(platformdirs.user_cache_dir("fieldrec", appauthor=False)) / "overview"


def cache_key(path: str | os.PathLike[str], bucket: int = BUCKET) -> str:
    """Hex key of (resolved path, size, mtime in ns, bucket, cache version): changes when the file does."""
    p = Path(path).resolve()
    st = p.stat()
    text = f"{p}|{st.st_size}|{st.st_mtime_ns}|{bucket}|{CACHE_VERSION}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def load_or_build(path: str | os.PathLike[str], folder: Path | None = None, bucket: int = BUCKET,
                  progress: Callable[[float], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> tuple[Overview, bool]:
    """(overview, came from the cache). A cache that cannot be read or written is rebuilt or skipped."""
    path = Path(path)
    folder = Path(folder) if folder is not None else cache_dir()
    key = cache_key(path, bucket)
    cached = folder / f"{key}.npz"
    try:
        with np.load(cached) as z:
            meta = z["meta"]
            ov = Overview(int(meta[0]), int(meta[1]), int(meta[2]), int(meta[3]), z["mins"], z["maxs"], path)
        return ov, True
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, IndexError) as err:
        log.warning("overview cache %s unreadable (%s); rebuilding", cached, err)
    ov = build_overview(path, bucket, progress, cancelled)
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".overview-", suffix=".npz", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, meta=np.array([ov.samplerate, ov.channels, ov.frames, ov.bucket], np.int64),
                     mins=ov.mins, maxs=ov.maxs)
        os.replace(tmp, cached)
    except OSError as err:
        log.warning("overview cache not written in %s: %s", folder, err)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return ov, False
