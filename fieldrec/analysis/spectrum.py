"""Spectra calibrated in dBFS: a full-scale sine at a bin centre reads 0 dBFS at its bin.

Magnitude spectra are scaled by 2 / sum(window) (one-sided, amplitude); power spectra by
(2 / sum(window))^2, so a sine of amplitude A reads 20 log10(A) dBFS in both (the DC and Nyquist bins
are scaled the same way, so they read 6 dB high for a constant). Windows: "hann" (periodic),
"blackmanharris" (4-term) and "flattop" (scipy's 5-term, best for the level of a sine between bins).
``WelchAccumulator`` averages segments across blocks, so a file longer than memory is analysed in
bounded memory and gives the same result however it is split.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

from .db import amp_to_db, power_to_db

WINDOWS = ("hann", "blackmanharris", "flattop")
#: each window's cosine-sum coefficients (scipy.signal.windows' values; flattop is its 5-term window)
_COSINE_TERMS = {
    "hann": (0.5, 0.5),
    "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
    "flattop": (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368),
}


@lru_cache(maxsize=32)
def get_window(name: str, nfft: int) -> np.ndarray:
    """The periodic (DFT-even) analysis window ``name`` of length ``nfft``."""
    if name not in WINDOWS:
        raise ValueError(f"unknown window {name!r}; use one of {', '.join(WINDOWS)}")
    # periodic cosine sums, as scipy.signal.get_window(name, nfft, fftbins=True) (whose import takes a second)
    a = np.asarray(_COSINE_TERMS[name])
    phase = np.linspace(-np.pi, np.pi, nfft + 1)[:-1]
    w = (a[:, None] * np.cos(np.arange(len(a))[:, None] * phase)).sum(axis=0)
    w.flags.writeable = False
    return w


def _segments(x: np.ndarray, nfft: int, hop: int) -> np.ndarray:
    """Frames of ``x`` (1-D or (frames, ch)) as a view of shape (n_segments, [ch,] nfft)."""
    if x.shape[0] < nfft:
        shape = (0, *x.shape[1:], nfft)
        return np.empty(shape, dtype=np.float64)
    return np.lib.stride_tricks.sliding_window_view(x, nfft, axis=0)[::hop]


def magnitude_spectrum_dbfs(
    x: np.ndarray, samplerate: float, window: str = "hann"
) -> tuple[np.ndarray, np.ndarray]:
    """One FFT over all of ``x`` (1-D): (frequencies in Hz, amplitude in dBFS)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        raise ValueError("need at least 2 samples for a spectrum")
    w = get_window(window, n)
    mag = np.abs(np.fft.rfft(x * w)) * (2.0 / w.sum())
    return np.fft.rfftfreq(n, 1.0 / samplerate), amp_to_db(mag)


class WelchAccumulator:
    """Averaged power spectrum (Welch) of a stream of blocks, averaged over channels too.

    ``process(block)`` takes float blocks (frames,) or (frames, channels); ``power()`` returns the
    mean power per bin, calibrated so a sine of amplitude A reads A^2 at its bin. ``dtype`` float32
    halves the FFT cost (relative error about 1e-7, for live meters); float64 is the default.
    """

    def __init__(
        self,
        samplerate: float,
        nfft: int = 4096,
        window: str = "hann",
        overlap: float = 0.5,
        dtype: type = np.float64,
    ) -> None:
        if not 0.0 <= overlap < 1.0:
            raise ValueError("overlap must be in [0, 1)")
        self.samplerate = float(samplerate)
        self.nfft = int(nfft)
        self.hop = max(1, int(round(self.nfft * (1.0 - overlap))))
        self.dtype = np.dtype(dtype)
        self.window = get_window(window, self.nfft).astype(self.dtype)
        self._scale = (2.0 / self.window.sum()) ** 2
        self.reset()

    def reset(self) -> None:
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0
        self._sum = np.zeros(self.nfft // 2 + 1)
        self.segments = 0  # segment x channel spectra averaged

    def process(self, block: np.ndarray) -> None:
        """Feed (frames,) or (frames, channels)."""
        x = np.asarray(block, dtype=self.dtype)
        if x.ndim == 1:
            x = x[:, None]
        self.process_t(np.ascontiguousarray(x.T))

    def process_t(self, xt: np.ndarray) -> None:
        """Channel-major feed: (channels, frames)."""
        xt = np.asarray(xt, dtype=self.dtype)
        self._pending.append(xt)
        self._pending_frames += xt.shape[1]
        if self._pending_frames < self.nfft:
            return
        buf = np.concatenate(self._pending, axis=1) if len(self._pending) > 1 else self._pending[0]
        n = (buf.shape[1] - self.nfft) // self.hop + 1
        s0, s1 = buf.strides
        segs = np.lib.stride_tricks.as_strided(
            buf, (buf.shape[0], n, self.nfft), (s0, self.hop * s1, s1), writeable=False
        )
        spec = scipy.fft.rfft(segs * self.window, axis=-1)
        v = spec.view(self.dtype)  # (re, im) pairs: |X|^2 = re^2 + im^2, squared in place
        np.multiply(v, v, out=v)
        pairs = v.reshape(-1, spec.shape[-1], 2)
        self._sum += np.add.reduce(pairs[..., 0] + pairs[..., 1], axis=0, dtype=np.float64)
        self.segments += n * buf.shape[0]
        rest = buf[:, n * self.hop :]
        self._pending = [rest.copy()] if rest.shape[1] else []
        self._pending_frames = rest.shape[1]

    @property
    def freqs(self) -> np.ndarray:
        return np.fft.rfftfreq(self.nfft, 1.0 / self.samplerate)

    def power(self) -> np.ndarray:
        """Mean calibrated power per bin (zeros before the first full segment)."""
        if self.segments == 0:
            return np.zeros_like(self._sum)
        return self._sum * (self._scale / self.segments)


def welch_dbfs(
    x: np.ndarray, samplerate: float, nfft: int = 4096, window: str = "hann", overlap: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Averaged power spectrum of ``x`` (1-D or (frames, ch), channels averaged): (Hz, dBFS)."""
    acc = WelchAccumulator(samplerate, nfft, window, overlap)
    acc.process(x)
    if acc.segments == 0:
        raise ValueError(f"need at least nfft={nfft} samples for a Welch spectrum, got {np.shape(x)[0]}")
    return acc.freqs, power_to_db(acc.power())


def stft_magnitude(x: np.ndarray, nfft: int = 1024, hop: int = 512, window: str = "hann") -> np.ndarray:
    """Uncalibrated STFT magnitude |X| of 1-D ``x`` (float64), frames not centred: (nfft//2+1, n_frames)."""
    x = np.asarray(x, dtype=np.float64)
    segs = _segments(x, nfft, hop)
    return np.abs(np.fft.rfft(segs * get_window(window, nfft), axis=-1)).T


def stft_power(
    x: np.ndarray,
    nfft: int = 1024,
    hop: int = 512,
    window: str = "hann",
    dtype: type = np.float32,
    chunk_frames: int = 128,
) -> np.ndarray:
    """Uncalibrated STFT power |X|^2 of 1-D ``x``, frames not centred: (nfft//2+1, n_frames), float64.

    Computed ``chunk_frames`` frames at a time (cache-sized) with FFTs in ``dtype``: float32 (the
    default) is about twice as fast as float64 and differs from it by about 1e-8 of each frame's
    largest bin, far below what a display or a feature needs; pass float64 for bit-level work.
    """
    segs = _segments(np.asarray(x), nfft, hop)
    n = segs.shape[0]
    out = np.empty((n, nfft // 2 + 1), dtype=np.float64)
    w = get_window(window, nfft).astype(dtype)
    for i in range(0, n, chunk_frames):
        spec = scipy.fft.rfft(segs[i : i + chunk_frames].astype(dtype, copy=False) * w, axis=-1)
        np.add(spec.real**2, spec.imag**2, out=out[i : i + chunk_frames])
    return out.T


def spectrogram_db(
    x: np.ndarray, samplerate: float, nfft: int = 1024, hop: int = 512, window: str = "hann"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectrogram of 1-D ``x``: (Hz, frame-centre times in s, level in dBFS [freq, time]).

    Levels are calibrated like ``magnitude_spectrum_dbfs`` (a full-scale sine at a bin centre reads
    0 dBFS); FFTs run in float32 (see ``stft_power``).
    """
    w = get_window(window, nfft)
    power = stft_power(x, nfft, hop, window) * (2.0 / w.sum()) ** 2
    times = (np.arange(power.shape[1]) * hop + nfft / 2) / samplerate
    return np.fft.rfftfreq(nfft, 1.0 / samplerate), times, power_to_db(power)
