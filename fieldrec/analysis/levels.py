"""Sample levels: sample peak, RMS, DC offset, noise floor and SNR estimate (full scale = 1.0).

Conventions: peak in dBFS = 20 log10(max |x|), so a full-scale sine reads 0.00 dBFS; RMS in dBFS =
20 log10(sqrt(mean x^2)) with no +3 dB correction, so a full-scale sine reads -3.01 dBFS RMS (a
full-scale square wave reads 0 dBFS). The noise floor is the 10th percentile of the RMS levels of
consecutive 100 ms windows (mean square averaged over channels) and the SNR estimate is the 95th
percentile of the same windows minus the noise floor, in dB. The 100 ms window energies are kept as
a compact array (10 values per second, about 7 MB per 24 h).
"""

from __future__ import annotations

import numpy as np

from .blocks import GrowArray, SubBlockSummer
from .db import power_to_db

RMS_WINDOW_S = 0.300
NOISE_WINDOW_S = 0.100
SUBBLOCK_S = 0.010


class LevelMeter:
    """Per-channel sample peak, live RMS (last 300 ms), take RMS, DC offset and 100 ms window levels."""

    def __init__(self, samplerate: float, channels: int) -> None:
        self.samplerate = float(samplerate)
        self.channels = int(channels)
        self.subblock_frames = max(1, int(round(self.samplerate * SUBBLOCK_S)))
        self._live_subblocks = int(round(RMS_WINDOW_S / SUBBLOCK_S))
        self._noise_subblocks = int(round(NOISE_WINDOW_S / SUBBLOCK_S))
        self.reset()

    def reset(self) -> None:
        self.frames = 0
        self.peak = np.zeros(self.channels)  # take maximum of |x|
        self.sum = np.zeros(self.channels)
        self.sum_sq = np.zeros(self.channels)
        self._summer = SubBlockSummer(self.subblock_frames, self.channels)
        self._history = np.zeros((0, self.channels))
        self._subblocks = 0
        self._windows = GrowArray()  # 100 ms mean squares, averaged over channels

    def process(self, block: np.ndarray) -> np.ndarray:
        """Feed a float block (frames, channels); return its per-channel peak (linear)."""
        return self.process_t(np.ascontiguousarray(np.asarray(block, dtype=np.float64).T))

    def process_t(self, xt: np.ndarray, abs_xt: np.ndarray | None = None) -> np.ndarray:
        """Channel-major feed: float64 ``xt`` (channels, frames) and, if the caller has it, its absolute value."""
        if xt.shape[1] == 0:
            return np.zeros(self.channels)
        if abs_xt is None:  # max |x| as max(max x, -min x): two reductions, no temporary array
            peak = np.maximum(xt.max(axis=1), -xt.min(axis=1))
        else:
            peak = abs_xt.max(axis=1)
        np.maximum(self.peak, peak, out=self.peak)
        sq = xt * xt
        self.sum += xt.sum(axis=1)
        self.sum_sq += sq.sum(axis=1)
        self.frames += xt.shape[1]
        sums = self._summer.push(sq)
        k = sums.shape[0]
        if k:
            seq = np.concatenate([self._history, sums], axis=0)
            counts = self._subblocks + 1 + np.arange(k)
            ends = np.nonzero(counts % self._noise_subblocks == 0)[0] + self._history.shape[0]
            if ends.size:
                idx = ends[:, None] - np.arange(self._noise_subblocks)[None, :]
                w = seq[idx].sum(axis=1).mean(axis=1) / (self._noise_subblocks * self.subblock_frames)
                self._windows.extend(w)
            self._subblocks += k
            self._history = seq[-self._live_subblocks :].copy()
        return peak

    @property
    def live_history(self) -> np.ndarray:
        """Sums of x^2 of the last (up to 30) complete 10 ms sub-blocks, (sub-blocks, channels).

        Each process call replaces this array (it is never written in place), so another thread may keep
        a reference to it.
        """
        return self._history

    @property
    def live_rms(self) -> np.ndarray:
        """RMS (linear) per channel over the last 300 ms of complete 10 ms sub-blocks."""
        if self._history.shape[0] == 0:
            return np.zeros(self.channels)
        return np.sqrt(self._history.sum(axis=0) / (self._history.shape[0] * self.subblock_frames))

    @property
    def rms(self) -> np.ndarray:
        """RMS (linear) per channel over the whole take."""
        return np.sqrt(self.sum_sq / max(self.frames, 1))

    @property
    def dc_offset(self) -> np.ndarray:
        """Mean per channel over the take (full scale = 1.0)."""
        return self.sum / max(self.frames, 1)

    def noise_floor_and_snr(self) -> tuple[float, float]:
        """(noise floor in dBFS, SNR estimate in dB); -inf/NaN when undefined."""
        w = self._windows.values
        if w.size == 0:
            return float("-inf"), float("nan")
        lo, hi = np.percentile(w, [10.0, 95.0])  # percentiles of the energies (linear interpolation)
        floor = float(power_to_db(lo))
        top = float(power_to_db(hi))
        snr = top - floor if np.isfinite(floor) and np.isfinite(top) else float("nan")
        return floor, snr
