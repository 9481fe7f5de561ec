"""Small array helpers for the views: min/max column history, spectra and spectrogram columns.

Qt-free maths so it can be tested on plain arrays. Spectra come from ``fieldrec.analysis.spectrum``
(full-scale sine at a bin centre = 0 dBFS), so the window and ``fieldrec analyze`` agree.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from fieldrec.analysis import spectrum
from fieldrec.analysis.db import power_to_db

WINDOWS = spectrum.WINDOWS
DB_FLOOR = -160.0


class MinMaxHistory:
    """A ring of per-column (min, max) pairs: the waveform's peak-downsampled history.

    ``push(block)`` reduces incoming frames into columns of ``frames_per_column`` samples,
    carrying the remainder to the next call, so that no sample is skipped and a peak of a single
    sample is always visible.
    """

    def __init__(self, columns: int, channels: int, frames_per_column: int):
        self.columns = int(columns)
        self.channels = int(channels)
        self.fpc = max(1, int(frames_per_column))
        self.mins = np.zeros((self.columns, self.channels), dtype=np.float32)
        self.maxs = np.zeros((self.columns, self.channels), dtype=np.float32)
        self.pos = 0  # next column to write
        self.total_columns = 0
        self._carry = np.zeros((0, self.channels), dtype=np.float32)

    def push(self, block: np.ndarray) -> int:
        """Add frames (n, channels); returns the number of new columns."""
        if block.size == 0:
            return 0
        block = np.asarray(block, dtype=np.float32).reshape(-1, self.channels)
        x = np.concatenate([self._carry, block]) if len(self._carry) else block
        k = len(x) // self.fpc
        if k == 0:
            self._carry = x.copy()
            return 0
        # channel-major, so each column's reduction runs over contiguous samples (3-9x faster than over the
        # middle axis of (k, fpc, channels))
        body = np.ascontiguousarray(x[: k * self.fpc].T).reshape(self.channels, k, self.fpc)
        mn = body.min(axis=2).T
        mx = body.max(axis=2).T
        self._carry = x[k * self.fpc :].copy()
        if k >= self.columns:
            mn, mx, k = mn[-self.columns :], mx[-self.columns :], self.columns
        first = min(k, self.columns - self.pos)
        self.mins[self.pos : self.pos + first] = mn[:first]
        self.maxs[self.pos : self.pos + first] = mx[:first]
        rest = k - first
        if rest:
            self.mins[:rest] = mn[first:]
            self.maxs[:rest] = mx[first:]
        self.pos = (self.pos + k) % self.columns
        self.total_columns += k
        return k

    def ordered(self) -> tuple[np.ndarray, np.ndarray]:
        """(mins, maxs) oldest first, each (columns, channels)."""
        p = self.pos
        return (np.concatenate([self.mins[p:], self.mins[:p]]), np.concatenate([self.maxs[p:], self.maxs[:p]]))

    def interleaved(self, channel: int) -> np.ndarray:
        """min, max, min, max… for one channel (2 × columns points), oldest first: drawn as one line."""
        mn, mx = self.ordered()
        out = np.empty(2 * self.columns, dtype=np.float32)
        out[0::2] = mn[:, channel]
        out[1::2] = mx[:, channel]
        return out


_WELCH: dict[tuple[float, int, str], spectrum.WelchAccumulator] = {}


def spectrum_dbfs(x: np.ndarray, samplerate: float, nfft: int, window: str = "hann") -> tuple[np.ndarray, np.ndarray]:
    """Averaged (Welch, 50 % overlap) spectrum in dBFS of (frames,) or (frames, channels) — channels
    averaged in power — with ``fieldrec.analysis.spectrum.WelchAccumulator`` in float32 (its live-meter mode,
    relative error about 1e-7; the window is built once per size). Short input is zero-padded."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[0] < nfft:
        pad = np.zeros((nfft - x.shape[0], *x.shape[1:]), np.float32)
        x = np.concatenate([pad, x])
    key = (float(samplerate), int(nfft), window)
    acc = _WELCH.get(key)
    if acc is None:
        if len(_WELCH) > 8:
            _WELCH.clear()
        acc = _WELCH[key] = spectrum.WelchAccumulator(samplerate, nfft, window, 0.5, dtype=np.float32)
    acc.reset()
    acc.process(x)
    return acc.freqs, power_to_db(acc.power())


_WINDOWS32: dict[tuple[str, int], np.ndarray] = {}


def _window32(window: str, nfft: int) -> np.ndarray:
    w = _WINDOWS32.get((window, nfft))
    if w is None:
        w = _WINDOWS32[(window, nfft)] = spectrum.get_window(window, nfft).astype(np.float32)
    return w


def spectrogram_columns_db(x: np.ndarray, samplerate: float, nfft: int, hop: int, window: str = "hann") -> tuple[np.ndarray, np.ndarray]:
    """Spectrogram columns of (frames,) or (frames, channels) (channels averaged in power):
    (freqs_hz, db[time, freq]) with one column per ``hop`` frames, floored at ``DB_FLOOR``.

    Same calibration as ``fieldrec.analysis.spectrum.spectrogram_db`` (a sine of amplitude A reads
    20 log10 A dBFS), computed for all channels in one vectorised STFT.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] < nfft:
        x = np.concatenate([np.zeros((nfft - x.shape[0], x.shape[1]), np.float32), x])
    w = _window32(window, nfft)
    segs = np.lib.stride_tricks.sliding_window_view(x, nfft, axis=0)[::hop]  # (time, ch, nfft)
    spec = scipy.fft.rfft(segs * w, axis=-1)  # float32 in, complex64 out (numpy's FFT would be float64)
    power = (spec.real**2 + spec.imag**2).mean(axis=1) * np.float32((2.0 / w.sum()) ** 2)  # (time, freq)
    db = 10.0 * np.log10(np.maximum(power, np.float32(10 ** (DB_FLOOR / 10))))
    return np.fft.rfftfreq(nfft, 1.0 / samplerate), db


def log_frequency_map(freqs: np.ndarray, rows: int, fmin: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Map linear FFT bins onto ``rows`` log-spaced frequency rows from ``fmin`` to Nyquist.

    Returns (row_centre_hz, bin_index_per_row) — each row shows its nearest bin, so low rows are
    not smeared and the image height does not depend on the FFT size.
    """
    fmax = float(freqs[-1])
    centres = np.geomspace(fmin, fmax, rows)
    idx = np.clip(np.searchsorted(freqs, centres), 1, len(freqs) - 1)
    left = idx - 1
    nearer_left = (centres - freqs[left]) < (freqs[idx] - centres)
    idx = np.where(nearer_left, left, idx)
    return centres, idx


def db_ticks_frequency(fmin: float, fmax: float) -> list[tuple[float, str]]:
    """Readable frequency ticks (Hz) between fmin and fmax: 20, 50, 100, 200, 500, 1k … 50k."""
    out = []
    for f in (20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if fmin <= f <= fmax:
            out.append((float(f), f"{f // 1000}k" if f >= 1000 else str(f)))
    return out
