"""Mel scale and mel filter banks (Slaney's Auditory Toolbox formulas, as librosa's defaults).

The Slaney mel scale is linear below 1 kHz (200/3 Hz per mel, so 1 kHz = 15 mel) and logarithmic above
it (27 mel per factor 6.4). ``mel_filter_bank`` builds triangular filters between ``n_mels + 2`` points
equally spaced in mel from ``fmin`` to ``fmax`` and normalises each to unit area in Hz (Slaney's
"norm"): the same weights as ``librosa.filters.mel(sr=..., n_fft=..., n_mels=..., fmin=..., fmax=...,
htk=False, norm="slaney")`` in float64.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_F_SP = 200.0 / 3.0  # Hz per mel below the break
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mel
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Frequencies in Hz to Slaney mel."""
    f = np.asarray(hz, dtype=np.float64)
    lin = f / _F_SP
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Slaney mel to frequencies in Hz."""
    m = np.asarray(mel, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_frequencies(n: int, fmin: float, fmax: float) -> np.ndarray:
    """``n`` frequencies in Hz equally spaced on the Slaney mel scale from ``fmin`` to ``fmax``."""
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n))


@lru_cache(maxsize=16)
def mel_filter_bank(samplerate: float, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised triangular filters, shape (n_mels, n_fft // 2 + 1), float64, read-only.

    Row m rises linearly from mel point m to m + 1 and falls to m + 2 (points in Hz from
    ``mel_frequencies(n_mels + 2, fmin, fmax)``), scaled by 2 / (f[m + 2] - f[m]). Applied to a power
    spectrum (|X|^2 per bin) it gives the mel power spectrum.
    """
    if n_mels < 1:
        raise ValueError(f"n_mels must be at least 1, got {n_mels}")
    if not 0.0 <= fmin < fmax:
        raise ValueError(f"need 0 <= fmin < fmax, got fmin={fmin} Hz, fmax={fmax} Hz")
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / samplerate)
    mel_hz = mel_frequencies(n_mels + 2, fmin, fmax)
    fdiff = np.diff(mel_hz)
    ramps = np.subtract.outer(mel_hz, fft_hz)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    weights.flags.writeable = False
    return weights
