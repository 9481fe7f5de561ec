"""Peak overview of a whole take: min and max per bucket of frames, built once in one streaming pass, cached.

``build_overview(path)`` reads the file block by block (``BLOCK_BUCKETS`` buckets at a time, so memory stays
at a few MB however long the take) and keeps, per channel, the minimum and maximum of every ``bucket``
frames (512 by default: an hour at 192 kHz gives 1.35 M buckets, 21.6 MB for 2 channels in float32), plus a
64x coarser level for wide views. ``load_or_build(path)`` keeps it in the user cache folder
(``platformdirs.user_cache_dir("fieldrec")/overview``) keyed by the file's resolved path, size and
modification time, so the second open reads a few MB instead of the file.

The same pass keeps a spectral overview: the power spectrum (dBFS, channels averaged, float16) of the first
``SPEC_NFFT`` frames of every coarse bucket (32768 frames: 21,000 columns, 22 MB for an hour at 192 kHz), so
a spectrogram of a view wider than one coarse bucket per screen column needs no file access.

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

from fieldrec.analysis.db import power_to_db
from fieldrec.analysis.spectrum import get_window

log = logging.getLogger(__name__)

BUCKET = 512
COARSE = 64  #: buckets per coarse bucket
BLOCK_BUCKETS = 2048  #: buckets read per block (1 Mframe at 512); a multiple of COARSE
SPEC_NFFT = 1024  #: FFT size of the spectral overview: one hann-windowed FFT at the start of each coarse bucket
CACHE_VERSION = 2

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
    spec_db: np.ndarray | None = None  #: (coarse buckets, SPEC_NFFT//2+1) float16 dBFS, or None

    @property
    def spec_hop(self) -> int:
        """Frames between spectral-overview columns."""
        return self.bucket * COARSE

    def spectrogram(self, start: int, stop: int, columns: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(column centre frames, dBFS (bins, columns)) from the spectral overview: per screen column the
        loudest value of each bin over the overview columns it covers. None when the view is too narrow
        (fewer overview columns than ``columns``) or there is no spectral overview."""
        if self.spec_db is None:
            return None
        hop = self.spec_hop
        c0, c1 = max(0, int(start) // hop), min(self.spec_db.shape[0], -(-int(stop) // hop))
        n = c1 - c0
        if n < columns or n == 0:
            return None
        edges = np.unique(np.linspace(0, n, columns + 1).astype(np.int64))
        db = np.maximum.reduceat(self.spec_db[c0:c1], edges[:-1], axis=0).astype(np.float32)
        centres = (c0 + (edges[:-1] + edges[1:]) / 2) * hop
        return centres, db.T

    def __post_init__(self) -> None:
        self._coarse = _reduce_level(self.mins, self.maxs, COARSE)

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate

    @property
    def nbytes(self) -> int:
        spec = 0 if self.spec_db is None else self.spec_db.nbytes
        return self.mins.nbytes + self.maxs.nbytes + self._coarse[0].nbytes * 2 + spec

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
        hop = bucket * COARSE
        spec = np.empty((-(-frames // hop), SPEC_NFFT // 2 + 1), np.float16)
        window = get_window("hann", SPEC_NFFT)
        spec_scale = (2.0 / window.sum()) ** 2 / (scale or 1.0) ** 2
        done_b = 0
        done_c = 0
        read = 0
        while read < frames:
            if cancelled is not None and cancelled():
                raise OverviewCancelled(str(path))
            n = f.read(out=buf).shape[0]
            if n == 0:
                break
            full = n // bucket
            if full:
                for c in range(channels):  # one channel at a time: ~15x faster than reducing the middle axis
                    col = buf[: full * bucket, c].reshape(full, bucket)
                    mins[done_b:done_b + full, c] = col.min(axis=1)
                    maxs[done_b:done_b + full, c] = col.max(axis=1)
            if n % bucket:
                tail = buf[full * bucket:n]
                mins[done_b + full] = tail.min(axis=0)
                maxs[done_b + full] = tail.max(axis=0)
                full += 1
            done_b += full
            firsts = np.arange(0, n, hop)  # block starts are multiples of hop (BLOCK_BUCKETS % COARSE == 0)
            segs = np.zeros((firsts.size, SPEC_NFFT, channels), np.float64)
            for i, f0 in enumerate(firsts):
                part = buf[f0:min(n, f0 + SPEC_NFFT)]
                segs[i, :part.shape[0]] = part
            fft = np.fft.rfft(segs * window[None, :, None], axis=1)
            power = (fft.real ** 2 + fft.imag ** 2).mean(axis=2) * spec_scale
            spec[done_c:done_c + firsts.size] = power_to_db(power)
            done_c += firsts.size
            read += n
            if progress is not None:
                progress(read / frames)
    if done_b < n_buckets:  # a file shorter than its header: the rest is silence on screen
        mins[done_b:] = 0
        maxs[done_b:] = 0
        spec[done_c:] = -np.inf
    if scale:
        mins /= scale
        maxs /= scale
    return Overview(sr, channels, frames, bucket, mins, maxs, path, spec)


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
            ov = Overview(int(meta[0]), int(meta[1]), int(meta[2]), int(meta[3]), z["mins"], z["maxs"], path,
                          z["spec_db"])
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
                     mins=ov.mins, maxs=ov.maxs, spec_db=ov.spec_db)
        os.replace(tmp, cached)
    except OSError as err:
        log.warning("overview cache not written in %s: %s", folder, err)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return ov, False
