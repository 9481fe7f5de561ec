"""FileMeter: the MeterBank's measurements of a whole file, on two threads.

``fieldrec analyze`` is waited for, and every import, export and repair runs it, so it should take no
longer than a dedicated meter (ffmpeg's ``ebur128=peak=true``; docs/benchmarks.md). ``FileMeter`` is a
``MeterBank`` whose blocks are measured in two halves at once: the calling thread does sample levels,
clipping and loudness (the K-weighting filter), a worker thread the true peak and the spectrum (FFTs).
The heavy parts of both (scipy's ``sosfilt`` and FFTs, numpy's loops) release the GIL, so on two cores
they overlap. The true peak is kept as the take maximum only (``TruePeakMeter.process_max_t``), which
skips the FFT frames that cannot reach it. ``result()`` is ``MeterBank.result()``: the same numbers,
bit for bit, as feeding the blocks to a ``MeterBank``. There are no live readings (``snapshot()`` stays
at its reset state). Use it as a context manager, or call ``close()``, to stop the worker.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from .meters import MeterBank


class FileMeter(MeterBank):
    """``MeterBank(samplerate, channels, clip_level)`` for files; ``threads=1`` measures on the caller's thread."""

    IN_FLIGHT = 1  # blocks handed to the worker and not yet done (bounds memory to a few blocks)

    def __init__(self, samplerate: float, channels: int, clip_level: float = 1.0, threads: int = 2) -> None:
        super().__init__(samplerate, channels, clip_level)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="fieldrec-analyze") if threads > 1 else None
        self._in_flight: deque[Future[None]] = deque()

    def __enter__(self) -> FileMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker thread (after the blocks it holds); the meter cannot be fed after this."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._in_flight.clear()

    def process_t(self, xt: np.ndarray) -> None:
        """Feed a channel-major float64 block (channels, frames), C-contiguous, full scale = 1.0; not changed."""
        if xt.ndim != 2 or xt.shape[0] != self.channels:
            raise ValueError(f"expected a block of shape ({self.channels}, frames), got {xt.shape}")
        if xt.shape[1]:
            self._measure_t(np.ascontiguousarray(xt, dtype=np.float64))

    def _measure(self, x: np.ndarray) -> None:  # MeterBank.process(): (frames, channels) blocks
        self._measure_t(np.ascontiguousarray(x.T, dtype=np.float64))

    def _measure_t(self, xt: np.ndarray) -> None:
        peak = self._levels.process_t(xt)
        if self._pool is None:
            self._peak_and_spectrum(xt, peak)
        else:
            self._in_flight.append(self._pool.submit(self._peak_and_spectrum, xt, peak))
        if (peak >= self.clip_level).any():
            self._clips.process_t(np.abs(xt))
        else:
            self._clips.process_unclipped()
        self._loudness.process_t(xt)
        while len(self._in_flight) > self.IN_FLIGHT:
            self._in_flight.popleft().result()  # re-raises what failed on the worker

    def _peak_and_spectrum(self, xt: np.ndarray, peak: np.ndarray) -> None:
        self._true_peak.process_max_t(xt, sample_peak=peak)
        self._spectrum.process_t(xt)

    def result(self) -> dict[str, Any]:
        """As ``MeterBank.result()``, once the worker has measured every block."""
        self.flush()
        while self._in_flight:
            self._in_flight.popleft().result()
        return super().result()
