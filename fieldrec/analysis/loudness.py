"""Streaming loudness per ITU-R BS.1770-4 / EBU R 128 (Tech 3341) and loudness range (Tech 3342).

The K-weighted, channel-weighted mean square is summed over 10 ms sub-blocks. From those:

* momentary loudness: 400 ms window, updated every 10 ms sub-block (so short bursts are caught);
* short-term loudness: 3 s window, updated every 10 ms;
* integrated loudness: 400 ms gating blocks every 100 ms (75 % overlap) from the start of the take,
  absolute gate -70 LUFS, relative gate -10 LU below the loudness of the absolute-gated blocks;
* loudness range (Tech 3342): short-term values every 100 ms (10 Hz), absolute gate -70 LUFS,
  relative gate -20 LU, LRA = 95th minus 10th percentile (linear interpolation) of the kept values.

Gating-block and short-term energies are kept as compact float64 arrays (10 values per second each,
about 7 MB per 24 h), never the samples. All loudness values are in LUFS, ranges in LU.
"""

from __future__ import annotations

import numpy as np

from .blocks import GrowArray, SubBlockSummer
from .db import energy_to_lufs
from .kweighting import k_weighting_sos
from .lazy_scipy import sosfilt_kernel

SUBBLOCK_S = 0.010
MOMENTARY_SUBBLOCKS = 40  # 400 ms
SHORT_TERM_SUBBLOCKS = 300  # 3 s
GATING_HOP_SUBBLOCKS = 10  # 100 ms: 75 % overlap of 400 ms blocks; also the 10 Hz short-term rate for LRA
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 channel weights.

    1 channel: 1.0; 2 (L, R): 1.0 each; 5 (L, R, C, Ls, Rs): 1, 1, 1, 1.41, 1.41;
    6 (L, R, C, LFE, Ls, Rs, the WAV/SMPTE order): 1, 1, 1, 0 (LFE excluded), 1.41, 1.41.
    Any other count: 1.0 for every channel (no standard layout is known for it).
    """
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    return np.ones(channels)


def gated_loudness(block_energies: np.ndarray) -> float:
    """Integrated loudness in LUFS of 400 ms gating-block energies (-inf when nothing passes the gates)."""
    e = block_energies[energy_to_lufs(block_energies) > ABSOLUTE_GATE_LUFS]
    if e.size == 0:
        return float("-inf")
    relative_gate = float(energy_to_lufs(e.mean())) + RELATIVE_GATE_LU
    e = e[energy_to_lufs(e) > relative_gate]
    if e.size == 0:
        return float("-inf")
    return float(energy_to_lufs(e.mean()))


def loudness_range(short_term_energies: np.ndarray) -> float:
    """Loudness range in LU (EBU Tech 3342) of short-term (3 s) energies; NaN when none pass the gates."""
    e = short_term_energies[energy_to_lufs(short_term_energies) > ABSOLUTE_GATE_LUFS]
    if e.size == 0:
        return float("nan")
    relative_gate = float(energy_to_lufs(e.mean())) + LRA_RELATIVE_GATE_LU
    levels = energy_to_lufs(e)
    levels = levels[levels > relative_gate]
    if levels.size == 0:
        return float("nan")
    lo, hi = np.percentile(levels, [10.0, 95.0])
    return float(hi - lo)


class LoudnessHistogram:
    """Counts and energy sums of block loudness in 0.01 LU bins from -70 to +10 LUFS.

    Gives integrated loudness and LRA in time independent of the take length, for live display;
    the bins only matter for blocks within 0.01 LU of a gate or percentile.
    """

    LO, HI, STEP = ABSOLUTE_GATE_LUFS, 10.0, 0.01

    def __init__(self) -> None:
        n = int(round((self.HI - self.LO) / self.STEP))
        self.counts = np.zeros(n, dtype=np.int64)
        self.energy = np.zeros(n, dtype=np.float64)
        self.upper_lufs = self.LO + self.STEP * np.arange(1, n + 1)  # upper edge of each bin
        self._cache = {}

    def add(self, energies: np.ndarray) -> None:
        if energies.size == 0:
            return
        self._cache: dict[str, float] = {}
        lufs = energy_to_lufs(energies)
        keep = lufs > self.LO
        if not keep.any():
            return
        idx = np.clip(((lufs[keep] - self.LO) / self.STEP).astype(np.int64), 0, self.counts.size - 1)
        np.add.at(self.counts, idx, 1)
        np.add.at(self.energy, idx, energies[keep])

    def gated_loudness(self) -> float:
        if "I" not in self._cache:
            self._cache["I"] = self._gated_loudness()
        return self._cache["I"]

    def loudness_range(self) -> float:
        if "LRA" not in self._cache:
            self._cache["LRA"] = self._loudness_range()
        return self._cache["LRA"]

    def _gated_loudness(self) -> float:
        total = self.counts.sum()
        if total == 0:
            return float("-inf")
        gate = float(energy_to_lufs(self.energy.sum() / total)) + RELATIVE_GATE_LU
        keep = self.upper_lufs > gate
        n = self.counts[keep].sum()
        return float(energy_to_lufs(self.energy[keep].sum() / n)) if n else float("-inf")

    def _loudness_range(self) -> float:
        total = self.counts.sum()
        if total == 0:
            return float("nan")
        gate = float(energy_to_lufs(self.energy.sum() / total)) + LRA_RELATIVE_GATE_LU
        counts = np.where(self.upper_lufs > gate, self.counts, 0)
        cum = np.cumsum(counts)
        n = cum[-1]
        if n == 0:
            return float("nan")
        lo = self.upper_lufs[np.searchsorted(cum, 0.10 * n)] - self.STEP / 2
        hi = self.upper_lufs[np.searchsorted(cum, 0.95 * n)] - self.STEP / 2
        return float(hi - lo)


class LoudnessMeter:
    """Momentary, short-term, integrated loudness and loudness range of a stream of blocks.

    ``process(block)`` takes float blocks of shape (frames, channels), full scale = 1.0, of any size;
    the result does not depend on how the stream is split. Not thread-safe: one feeding thread.
    """

    def __init__(self, samplerate: float, channels: int, weights: np.ndarray | None = None) -> None:
        self.samplerate = float(samplerate)
        self.channels = int(channels)
        self.weights = channel_weights(channels) if weights is None else np.asarray(weights, dtype=np.float64)
        self._sos = k_weighting_sos(samplerate)
        self.subblock_frames = max(1, int(round(self.samplerate * SUBBLOCK_S)))
        self.reset()

    def reset(self) -> None:
        """Forget everything (new take)."""
        self._zi = np.zeros((self.channels, self._sos.shape[0], 2), dtype=np.float64)  # per channel, per section
        self._summer = SubBlockSummer(self.subblock_frames, 1)
        self._history = np.zeros(0, dtype=np.float64)  # last sub-block sums (up to 300)
        self._subblocks = 0
        self._gating_blocks = GrowArray()
        self._short_term_blocks = GrowArray()
        self.momentary_energy = float("nan")  # newest momentary mean square (NaN before 400 ms)
        self.short_term_energy = float("nan")
        self.momentary_max_energy = float("-inf")
        self.short_term_max_energy = float("-inf")

    def process(self, block: np.ndarray) -> None:
        """Feed a float block of shape (frames, channels)."""
        self.process_t(np.ascontiguousarray(np.asarray(block, dtype=np.float64).T))

    def process_t(self, xt: np.ndarray) -> None:
        """Channel-major feed: float64 (channels, frames)."""
        if xt.shape[1] == 0:
            return
        y = np.array(xt, dtype=np.float64, order="C")  # K-weighted in place (scipy.signal.sosfilt's loop)
        sosfilt_kernel()(self._sos, y, self._zi)
        np.multiply(y, y, out=y)
        weighted = self.weights @ y
        sums = self._summer.push(weighted[None, :])[:, 0]
        k = sums.shape[0]
        if k == 0:
            return
        h = self._history.shape[0]
        seq = np.concatenate([self._history, sums])
        end_counts = self._subblocks + 1 + np.arange(k)  # sub-blocks seen after each new one
        n = self.subblock_frames
        self._update_window(seq, h, end_counts, MOMENTARY_SUBBLOCKS, n, momentary=True)
        self._update_window(seq, h, end_counts, SHORT_TERM_SUBBLOCKS, n, momentary=False)
        self._subblocks += k
        self._history = seq[-SHORT_TERM_SUBBLOCKS:].copy()

    def _update_window(
        self, seq: np.ndarray, h: int, end_counts: np.ndarray, length: int, n: int, momentary: bool
    ) -> None:
        valid = end_counts >= length
        if not valid.any():
            return
        first = int(np.argmax(valid))  # first new sub-block that completes a full window
        start = h + first - length + 1  # index in seq of the first window's first sub-block
        tail = seq[start:]
        windows = np.lib.stride_tricks.as_strided(
            tail, (tail.shape[0] - length + 1, length), (tail.strides[0], tail.strides[0]), writeable=False
        )
        energies = windows.sum(axis=1) / (length * n)
        on_hop = end_counts[first:] % GATING_HOP_SUBBLOCKS == 0
        if momentary:
            self.momentary_energy = float(energies[-1])
            self.momentary_max_energy = max(self.momentary_max_energy, float(energies.max()))
            self._gating_blocks.extend(energies[on_hop])
        else:
            self.short_term_energy = float(energies[-1])
            self.short_term_max_energy = max(self.short_term_max_energy, float(energies.max()))
            self._short_term_blocks.extend(energies[on_hop])

    # ---- readings (LUFS / LU; -inf or NaN when undefined) ----
    @property
    def momentary_lufs(self) -> float:
        return float(energy_to_lufs(self.momentary_energy))

    @property
    def short_term_lufs(self) -> float:
        return float(energy_to_lufs(self.short_term_energy))

    @property
    def momentary_max_lufs(self) -> float:
        return float(energy_to_lufs(max(self.momentary_max_energy, 0.0)))

    @property
    def short_term_max_lufs(self) -> float:
        return float(energy_to_lufs(max(self.short_term_max_energy, 0.0)))

    @property
    def integrated_lufs(self) -> float:
        return gated_loudness(self._gating_blocks.values)

    @property
    def loudness_range_lu(self) -> float:
        return loudness_range(self._short_term_blocks.values)

    @property
    def gating_block_count(self) -> int:
        return len(self._gating_blocks)

    @property
    def short_term_block_count(self) -> int:
        return len(self._short_term_blocks)

    @property
    def gating_energies(self) -> np.ndarray:
        """Mean squares of the 400 ms gating blocks so far (a view: copy what you keep)."""
        return self._gating_blocks.values

    @property
    def short_term_energies(self) -> np.ndarray:
        """Mean squares of the 3 s short-term windows every 100 ms so far (a view: copy what you keep)."""
        return self._short_term_blocks.values
