"""Interim features for the export until ``fieldrec.analysis.frame_features`` lands (same interface).

Built from the measurement core's spectra (``fieldrec.analysis.spectrum``, ``fieldrec.analysis.features``):
Welch power and magnitude spectra (calibrated, a sine of amplitude A reads A^2 / A at its bin), spectral
centroid, bandwidth, roll-off (Hz), flatness (geometric / arithmetic mean of the power, 0..1), peaks
(Hz, dBFS), RMS (linear, full scale 1.0), zero-crossing rate (crossings per sample) and a log-mel
spectrogram (dB of power through a Slaney-normalised mel filter bank on the Slaney mel scale).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from fieldrec.analysis.features import spectral_bandwidth, spectral_centroid, spectral_peaks, spectral_rolloff
from fieldrec.analysis.spectrum import WelchAccumulator, stft_power

FEATURE_NAMES: tuple[str, ...] = ("power_spectrum", "magnitude_spectrum", "log_mel", "centroid", "bandwidth",
                                  "rolloff", "flatness", "peaks", "rms", "zcr")


@dataclass(frozen=True)
class FeatureParams:
    """Every parameter that shapes a feature. ``n_fft``/``hop`` in samples, frequencies in Hz."""

    n_fft: int = 1024
    hop: int = 512
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float | None = None
    rolloff_fraction: float = 0.85
    max_peaks: int = 10
    peak_prominence_db: float = 10.0
    window: str = "hann"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=16)
def mel_filterbank(samplerate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels, n_fft//2+1) triangular filters, Slaney mel scale and area normalisation."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / samplerate)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights.flags.writeable = False
    return weights


def compute_features(x: np.ndarray, samplerate: int, names: tuple[str, ...] | list[str] | None = None,
                     params: FeatureParams = FeatureParams()) -> dict[str, np.ndarray | float]:
    """Features of the 1-D float signal ``x`` (full scale 1.0): arrays and scalars by name (see module doc).

    Arrays come with their axes: ``freqs_hz`` for the spectra, ``mel_freqs_hz`` for ``log_mel``.
    """
    want = tuple(FEATURE_NAMES if names is None else names)
    x = np.asarray(x, dtype=np.float64)
    out: dict[str, np.ndarray | float] = {}
    spectral = {"power_spectrum", "magnitude_spectrum", "centroid", "bandwidth", "rolloff", "flatness", "peaks"}
    if spectral & set(want):
        nfft = min(params.n_fft, max(2, len(x)))
        acc = WelchAccumulator(samplerate, nfft, params.window, overlap=1.0 - params.hop / params.n_fft)
        acc.process(x)
        power, freqs = acc.power(), acc.freqs
        mag = np.sqrt(power)
        if "power_spectrum" in want or "magnitude_spectrum" in want:
            out["freqs_hz"] = freqs
        if "power_spectrum" in want:
            out["power_spectrum"] = power
        if "magnitude_spectrum" in want:
            out["magnitude_spectrum"] = mag
        silent = not np.any(power > 0)
        if "centroid" in want:
            out["centroid"] = float("nan") if silent else float(spectral_centroid(freqs, mag))
        if "bandwidth" in want:
            out["bandwidth"] = float("nan") if silent else float(spectral_bandwidth(freqs, mag))
        if "rolloff" in want:
            out["rolloff"] = float("nan") if silent else float(spectral_rolloff(freqs, power, params.rolloff_fraction))
        if "flatness" in want:
            p = np.maximum(power, 1e-20)
            out["flatness"] = float(np.exp(np.mean(np.log(p))) / np.mean(p))
        if "peaks" in want:
            peaks = spectral_peaks(freqs, power, params.max_peaks, params.peak_prominence_db)
            out["peaks"] = np.array([[p["hz"], p["dbfs"]] for p in peaks], dtype=np.float64).reshape(-1, 2)
    if "log_mel" in want:
        fmax = params.fmax if params.fmax is not None else samplerate / 2
        bank = mel_filterbank(samplerate, params.n_fft, params.n_mels, params.fmin, fmax)
        p = stft_power(x, params.n_fft, params.hop, params.window) if len(x) >= params.n_fft else \
            np.zeros((params.n_fft // 2 + 1, 0))
        out["log_mel"] = 10 * np.log10(np.maximum(bank @ p, 1e-10))
        out["mel_freqs_hz"] = _mel_to_hz(np.linspace(_hz_to_mel(params.fmin), _hz_to_mel(fmax), params.n_mels + 2))[1:-1]
    if "rms" in want:
        out["rms"] = float(np.sqrt(np.mean(x * x))) if len(x) else float("nan")
    if "zcr" in want:
        s = np.signbit(x)
        out["zcr"] = float(np.count_nonzero(s[1:] != s[:-1]) / max(1, len(x) - 1))
    return out
