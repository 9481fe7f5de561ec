"""Features of one mono signal for a dataset: spectra, log-mel, per-frame descriptors, ecoacoustic indices.

``compute_features(x, samplerate, names, params)`` returns one dict. Values that are NumPy arrays
(spectra, the log-mel spectrogram, per-frame series) belong in the output's ``.npz``; values that are
Python floats (means, indices) belong in a row of ``features.csv``. Every parameter that shaped a value is
in ``FeatureParams``; ``params.to_dict()`` is what to record in the provenance.

Three analyses, each computed once and shared by the features that need it:

* **Welch** (``power_spectrum``, ``magnitude_spectrum``, ``peaks``): ``n_fft``-sample ``window``
  segments every ``hop`` samples, not centred, power averaged (``spectrum.WelchAccumulator``); calibrated
  so a sine of amplitude A reads A^2 in the power spectrum and A in the magnitude spectrum at its bin
  (``20 log10`` of it in dBFS). A signal shorter than ``n_fft`` is zero-padded to one segment.
* **Frames** (``log_mel``, ``centroid``, ``bandwidth``, ``rolloff``, ``flatness``, ``rms``, ``zcr``): as
  librosa's defaults (``center=True``: frame i is centred on sample i * hop, the signal padded by
  ``n_fft // 2`` with ``pad_mode``; 1 + len // hop frames), so that with the same parameters the values
  equal ``librosa.feature.*`` (see each key below). The STFT is float64, not scaled (|X|^2 of the windowed
  frame, as librosa).
* **maad spectrogram** (``aci``, ``adi``, ``aei``, ``bi``, ``ndsi``, ``h_f``): scikit-maad's own
  spectrogram and rules (``eco_indices``), ``n_fft`` / ``hop`` / ``window`` as above, frames not centred.
  ``h_t`` works on the waveform.

Keys per feature name (arrays marked [], frames along the last axis; "frame_times_s" [] comes with any
frame feature, "welch_freqs_hz" [] with any Welch feature):

==================== ===============================================================================
power_spectrum       "power_spectrum" [bins] Welch power, full-scale^2 (sine A -> A^2)
magnitude_spectrum   "magnitude_spectrum" [bins] sqrt of it, full scale (sine A -> A)
log_mel              "log_mel" [n_mels, frames] dB: 10 log10(max(mel_amin, mel power)), clipped at
                     ``mel_top_db`` below its maximum (librosa.power_to_db(melspectrogram(power=2,
                     htk=False, norm="slaney"), ref=1, amin=1e-10, top_db=80)); "mel_freqs_hz" [n_mels]
                     the filters' centre frequencies
centroid             "centroid_hz" [frames] magnitude-weighted mean frequency (NaN for a silent frame,
                     where librosa says 0); "centroid_mean_hz", "centroid_std_hz" over non-silent frames
bandwidth            "bandwidth_hz" [frames] magnitude-weighted standard deviation around the centroid
                     (librosa p=2); "bandwidth_mean_hz"
rolloff              "rolloff_hz" [frames] lowest bin frequency below which ``rolloff_fraction`` of the
                     frame's magnitude sum lies (librosa's rule); "rolloff_mean_hz"
flatness             "flatness" [frames] geometric / arithmetic mean of max(flatness_amin, |X|^2), 0..1;
                     "flatness_mean"
peaks                "peaks_hz", "peaks_dbfs" [up to n_peaks] the strongest Welch peaks with at least
                     ``peak_prominence_db`` prominence, parabolic interpolation in dB; "peak_hz",
                     "peak_dbfs" the strongest (NaN when there is none)
rms                  "rms" [frames] sqrt(mean x^2) of each n_fft-sample frame (librosa.feature.rms);
                     "rms_dbfs" of the whole signal (full-scale sine -3.01 dBFS; -inf for silence)
zcr                  "zcr" [frames] sign changes per sample in each frame, edge padding, |x| <= 1e-10
                     counts as 0 (librosa.feature.zero_crossing_rate); "zcr_mean" per sample,
                     "zcr_mean_hz" = zcr_mean x samplerate (crossings per second)
aci                  "aci" acoustic complexity index
adi                  "adi" acoustic diversity index (nats)
aei                  "aei" acoustic evenness index (Gini, 0..1)
bi                   "bi" bioacoustic index
ndsi                 "ndsi" normalised difference soundscape index (-1..1; NaN when both bands are silent)
h_t                  "h_t" temporal entropy (0..1)
h_f                  "h_f" spectral entropy (0..1)
==================== ===============================================================================
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import eco_indices
from .db import amp_to_db
from .features import spectral_bandwidth, spectral_centroid, spectral_peaks, spectral_rolloff
from .mel import mel_filter_bank, mel_frequencies
from .spectrum import WINDOWS, WelchAccumulator, stft_power

FEATURE_NAMES: tuple[str, ...] = (
    "power_spectrum",
    "magnitude_spectrum",
    "log_mel",
    "centroid",
    "bandwidth",
    "rolloff",
    "flatness",
    "peaks",
    "rms",
    "zcr",
    "aci",
    "adi",
    "aei",
    "bi",
    "ndsi",
    "h_t",
    "h_f",
)

_WELCH = {"power_spectrum", "magnitude_spectrum", "peaks"}
_STFT = {"log_mel", "centroid", "bandwidth", "rolloff", "flatness"}
_FRAMES = _STFT | {"rms", "zcr"}
_MAAD = {"aci", "adi", "aei", "bi", "ndsi", "h_f"}
PAD_MODES = ("constant", "reflect", "edge")


@dataclass(frozen=True)
class FeatureParams:
    """Every parameter that shapes a feature. Frequencies in Hz, lengths in samples, levels in dB.

    Defaults: librosa's conventions for the frame features (but ``n_fft`` 1024 / ``hop`` 512 and 64 mels)
    and the defaults of scikit-maad's ``all_spectral_alpha_indices`` / ``all_temporal_alpha_indices``
    for the indices.
    """

    n_fft: int = 1024  # FFT / frame length for every analysis
    hop: int = 512  # hop between frames / Welch segments
    n_mels: int = 64
    fmin: float = 0.0  # lowest mel filter edge
    fmax: float | None = None  # highest mel filter edge; None = samplerate / 2
    window: str = "hann"  # periodic window, one of spectrum.WINDOWS
    center: bool = True  # frame features: frames centred on i * hop (librosa's default)
    pad_mode: str = "constant"  # padding for centred STFT and RMS frames (librosa >= 0.10's default); ZCR pads "edge" as librosa
    mel_amin: float = 1e-10  # floor of the mel power before the log
    mel_top_db: float | None = 80.0  # log-mel clipped at (max - top_db); None = no clipping
    rolloff_fraction: float = 0.85
    flatness_amin: float = 1e-10
    zcr_threshold: float = 1e-10  # |x| at or below this counts as zero for the zero-crossing rate
    n_peaks: int = 10
    peak_prominence_db: float = 10.0
    index_detrend: bool = True  # maad spectrogram removes each frame's mean (its default)
    adi_fmin: float = 0.0  # ADI and AEI bands; fmax above samplerate / 2 is lowered to it
    adi_fmax: float = 10000.0
    adi_bin_step: float = 1000.0
    adi_db_threshold: float = -50.0  # relative to the spectrogram's maximum amplitude
    aei_fmin: float = 0.0
    aei_fmax: float = 10000.0
    aei_bin_step: float = 1000.0
    aei_db_threshold: float = -50.0
    bi_flim: tuple[float, float] = (1000.0, 10000.0)
    ndsi_biophony: tuple[float, float] = (1000.0, 10000.0)
    ndsi_anthrophony: tuple[float, float] = (0.0, 1000.0)
    h_t_frame: int = 512  # envelope frame (maad's Nt)

    def __post_init__(self) -> None:
        if self.n_fft < 2 or self.hop < 1 or self.hop > self.n_fft:
            raise ValueError(f"need n_fft >= 2 and 1 <= hop <= n_fft, got n_fft={self.n_fft}, hop={self.hop}")
        if self.window not in WINDOWS:
            raise ValueError(f"unknown window {self.window!r}; use one of {', '.join(WINDOWS)}")
        if self.pad_mode not in PAD_MODES:
            raise ValueError(f"unknown pad_mode {self.pad_mode!r}; use one of {', '.join(PAD_MODES)}")
        if self.n_mels < 1 or self.n_peaks < 0 or self.h_t_frame < 1:
            raise ValueError("n_mels and h_t_frame must be at least 1, n_peaks at least 0")
        if not 0.0 < self.rolloff_fraction <= 1.0:
            raise ValueError(f"rolloff_fraction must be in (0, 1], got {self.rolloff_fraction}")
        for name in ("adi_bin_step", "aei_bin_step"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every parameter (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _frame_view(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    if x.shape[0] < length:
        return np.zeros((0, length))
    return np.lib.stride_tricks.sliding_window_view(x, length)[::hop]


def _mean_defined(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def compute_features(
    x: np.ndarray,
    samplerate: int,
    names: tuple[str, ...] | list[str] | None = None,
    params: FeatureParams = FeatureParams(),  # noqa: B008 (frozen, so a shared default is safe)
) -> dict[str, np.ndarray | float]:
    """The features ``names`` (default: all of FEATURE_NAMES) of 1-D float ``x`` at ``samplerate`` Hz.

    Raises ValueError for an unknown name, a signal that is not 1-D or is empty, or parameters that do
    not fit the rate (fmax above samplerate / 2).
    """
    wanted = tuple(FEATURE_NAMES if names is None else names)
    unknown = [n for n in wanted if n not in FEATURE_NAMES]
    if unknown:
        raise ValueError(f"unknown feature(s) {', '.join(unknown)}; choose from {', '.join(FEATURE_NAMES)}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"features need a 1-D mono signal, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("features need at least one sample")
    fs = float(samplerate)
    p = params
    nyquist = fs / 2.0
    out: dict[str, np.ndarray | float] = {}
    want = set(wanted)

    if want & _WELCH:
        _welch_features(x, fs, p, want, out)
    if want & _FRAMES:
        _frame_features(x, fs, p, want, out, nyquist)
    if want & _MAAD:
        fn, sxx = eco_indices.maad_spectrogram(
            np.pad(x, (0, max(0, p.n_fft - x.shape[0]))), fs, p.n_fft, p.hop, p.window, p.index_detrend
        )
        amp = np.sqrt(sxx)
        if "aci" in want:
            out["aci"] = eco_indices.acoustic_complexity_index(amp)
        if "adi" in want:
            out["adi"] = eco_indices.acoustic_diversity_index(
                amp, fn, p.adi_fmin, min(p.adi_fmax, nyquist), p.adi_bin_step, p.adi_db_threshold
            )
        if "aei" in want:
            out["aei"] = eco_indices.acoustic_evenness_index(
                amp, fn, p.aei_fmin, min(p.aei_fmax, nyquist), p.aei_bin_step, p.aei_db_threshold
            )
        if "bi" in want:
            out["bi"] = eco_indices.bioacoustic_index(amp, fn, p.bi_flim)
        if "ndsi" in want:
            out["ndsi"] = eco_indices.soundscape_index(sxx, fn, p.ndsi_biophony, p.ndsi_anthrophony)
        if "h_f" in want:
            out["h_f"] = eco_indices.spectral_entropy(sxx)
    if "h_t" in want:
        out["h_t"] = eco_indices.temporal_entropy(x, p.h_t_frame)
    return out


def _welch_features(x: np.ndarray, fs: float, p: FeatureParams, want: set[str], out: dict) -> None:
    acc = WelchAccumulator(fs, nfft=p.n_fft, window=p.window, overlap=1.0 - p.hop / p.n_fft)
    if acc.hop != p.hop:  # rounding of the overlap fraction: set the hop exactly
        acc.hop = p.hop
    acc.process(np.pad(x, (0, max(0, p.n_fft - x.shape[0]))))
    power = acc.power()
    out["welch_freqs_hz"] = acc.freqs
    if "power_spectrum" in want:
        out["power_spectrum"] = power
    if "magnitude_spectrum" in want:
        out["magnitude_spectrum"] = np.sqrt(power)
    if "peaks" in want:
        peaks = spectral_peaks(acc.freqs, power, max_peaks=p.n_peaks, prominence_db=p.peak_prominence_db)
        out["peaks_hz"] = np.array([q["hz"] for q in peaks], dtype=np.float64)
        out["peaks_dbfs"] = np.array([q["dbfs"] for q in peaks], dtype=np.float64)
        out["peak_hz"] = peaks[0]["hz"] if peaks else float("nan")
        out["peak_dbfs"] = peaks[0]["dbfs"] if peaks else float("nan")


def _frame_features(
    x: np.ndarray, fs: float, p: FeatureParams, want: set[str], out: dict, nyquist: float
) -> None:
    half = p.n_fft // 2
    xp = np.pad(x, half, mode=p.pad_mode) if p.center else x
    if xp.shape[0] < p.n_fft:  # uncentred and shorter than a frame: one zero-padded frame
        xp = np.pad(xp, (0, p.n_fft - xp.shape[0]))
    n_frames = (xp.shape[0] - p.n_fft) // p.hop + 1
    out["frame_times_s"] = np.arange(n_frames) * p.hop / fs if p.center else (
        np.arange(n_frames) * p.hop + half
    ) / fs
    if want & _STFT:
        power = stft_power(xp, p.n_fft, p.hop, p.window, dtype=np.float64)  # (bins, frames)
        freqs = np.fft.rfftfreq(p.n_fft, 1.0 / fs)
        mag = np.sqrt(power)
        if "log_mel" in want:
            fmax = nyquist if p.fmax is None else float(p.fmax)
            if fmax > nyquist * (1 + 1e-9):
                raise ValueError(f"fmax {fmax} Hz is above the Nyquist frequency {nyquist} Hz")
            bank = mel_filter_bank(fs, p.n_fft, p.n_mels, float(p.fmin), fmax)
            mel = bank @ power
            with np.errstate(divide="ignore"):
                db = 10.0 * np.log10(np.maximum(p.mel_amin, mel))
            if p.mel_top_db is not None and db.size:
                db = np.maximum(db, db.max() - p.mel_top_db)
            out["log_mel"] = db
            out["mel_freqs_hz"] = mel_frequencies(p.n_mels + 2, float(p.fmin), fmax)[1:-1]
        if want & {"centroid", "bandwidth"}:
            centroid = spectral_centroid(freqs, mag)
            if "centroid" in want:
                out["centroid_hz"] = centroid
                out["centroid_mean_hz"] = _mean_defined(centroid)
                defined = centroid[np.isfinite(centroid)]
                out["centroid_std_hz"] = float(defined.std()) if defined.size else float("nan")
            if "bandwidth" in want:
                bw = spectral_bandwidth(freqs, mag)
                out["bandwidth_hz"] = bw
                out["bandwidth_mean_hz"] = _mean_defined(bw)
        if "rolloff" in want:
            ro = spectral_rolloff(freqs, mag, p.rolloff_fraction)
            out["rolloff_hz"] = ro
            out["rolloff_mean_hz"] = float(ro.mean())
        if "flatness" in want:
            t = np.maximum(p.flatness_amin, power)
            flat = np.exp(np.log(t).mean(axis=0)) / t.mean(axis=0)
            out["flatness"] = flat
            out["flatness_mean"] = float(flat.mean())
    if "rms" in want:
        frames = _frame_view(xp, p.n_fft, p.hop)
        out["rms"] = np.sqrt(np.mean(frames * frames, axis=1))
        ms = float(np.mean(x * x))
        out["rms_dbfs"] = float(amp_to_db(math.sqrt(ms)))
    if "zcr" in want:
        xz = np.pad(x, half, mode="edge") if p.center else xp
        xz = np.where(np.abs(xz) <= p.zcr_threshold, 0.0, xz)
        sb = np.signbit(xz)
        cross = np.concatenate([[0], np.cumsum(sb[1:] != sb[:-1])])  # cross[i] = changes in xz[0..i]
        starts = np.arange(n_frames) * p.hop
        # changes between consecutive samples inside each frame (the first sample has none before it)
        zcr = (cross[starts + p.n_fft - 1] - cross[starts]) / p.n_fft
        out["zcr"] = zcr.astype(np.float64)
        out["zcr_mean"] = float(zcr.mean())
        out["zcr_mean_hz"] = float(zcr.mean() * fs)
