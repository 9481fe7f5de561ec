"""Features of one mono signal for a dataset: spectra, log-mel, per-frame descriptors, ecoacoustic indices.

``compute_features(x, samplerate, names, params)`` returns one dict. Values that are NumPy arrays
(spectra, the log-mel spectrogram, per-frame series) belong in the output's ``.npz``; values that are
Python floats (means, indices) belong in a row of ``features.csv``. Every parameter that shaped a value is
in ``FeatureParams``; ``params.to_dict()`` is what to record in the provenance.

Three analyses, all read from one float64 STFT (``n_fft``-sample periodic ``window`` frames every ``hop``
samples, computed once per signal and shared by every spectral feature and index):

* **Frames** (``log_mel``, ``centroid``, ``bandwidth``, ``rolloff``, ``flatness``, ``rms``, ``zcr``): as
  librosa's defaults (``center=True``: frame i is centred on sample i * hop, the signal padded by
  ``n_fft // 2`` with ``pad_mode``; 1 + len // hop frames), so that with the same parameters the values
  equal ``librosa.feature.*`` (see each key below). Not scaled (|X|^2 of the windowed frame, as librosa).
* **Welch** (``power_spectrum``, ``magnitude_spectrum``, ``peaks``): the same frames but not centred
  (segment j starts at sample j * hop), power averaged, calibrated so a sine of amplitude A reads A^2 in
  the power spectrum and A in the magnitude spectrum at its bin (``20 log10`` of it in dBFS); as
  ``spectrum.WelchAccumulator``. A signal shorter than ``n_fft`` is zero-padded to one segment.
* **maad spectrogram** (``aci``, ``adi``, ``aei``, ``bi``, ``ndsi``, ``h_f``): scikit-maad's own
  spectrogram and rules (``eco_indices``) on the same uncentred segments; maad removes each segment's
  mean c before the window, and since the FFT is linear that spectrum is X - c * FFT(window), where the
  window's FFT is non-zero in only a few bins (2 for hann): no second FFT. ``h_t`` works on the waveform.

The uncentred segments are frames ``n_fft // 2 / hop`` onwards of the centred STFT when ``hop`` divides
``n_fft // 2`` and the signal holds at least ``n_fft`` samples (always true of librosa-like parameters);
otherwise they get their own FFT. Which way is chosen depends on the parameters and the length only, never
on which features are asked for, so a feature has the same value alone or with the others.

``compute_features_batch(xs, ...)`` does the same for many signals of one length at once (shape
(signals, samples), for example the 1 s windows of a take): one FFT call and one pass of every feature over
all of them, the per-signal Python work paid once per batch. Its results equal ``compute_features`` on
each signal. Nothing here uses BLAS (the mel filter bank is applied as a sparse product), so no thread
pool wakes up for a small matrix product and the results do not depend on the BLAS build.

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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.fft

from . import eco_indices as eco
from .db import amp_to_db
from .features import spectral_bandwidth, spectral_centroid, spectral_peaks, spectral_rolloff
from .mel import mel_filter_bank, mel_frequencies
from .spectrum import WINDOWS, get_window

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


#: frames per FFT call: bounds the windowed copy of a long signal (2048 frames of 1024 samples: 16 MB)
_FFT_CHUNK = 2048


@lru_cache(maxsize=16)
def _window_parts(name: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(window, the bins where its FFT is not zero, the FFT there, sum w, sum w^2).

    The windows are cosine sums, so their FFT is exactly zero beyond a few bins (hann: 0 and 1); what the
    computed FFT holds there is rounding (about 1e-16 of bin 0), dropped."""
    w = get_window(name, n)
    wf = np.fft.rfft(w)
    mag = np.abs(wf)
    nz = np.flatnonzero(mag > 1e-12 * mag.max())
    vals = wf[nz]
    for a in (nz, vals):
        a.flags.writeable = False
    return w, nz, vals, float(w.sum()), float(np.sum(w * w))


@lru_cache(maxsize=16)
def _mel_sparse(
    samplerate: float, n_fft: int, n_mels: int, fmin: float, fmax: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """``mel_filter_bank`` as a sparse product: (bins, weights, row starts, empty rows or None, the
    filters' centre frequencies in Hz), rows in order.

    Each bin feeds at most two filters, so the product is about 2 x bins multiply-adds per frame instead
    of n_mels x bins, and it runs in NumPy's own loops (a dense ``@`` goes to BLAS, whose thread pool
    costs more than the product on a busy machine)."""
    bank = mel_filter_bank(samplerate, n_fft, n_mels, fmin, fmax)
    rows, cols = np.nonzero(bank)
    vals = bank[rows, cols]
    counts = np.bincount(rows, minlength=n_mels)
    starts = np.minimum(np.concatenate([[0], np.cumsum(counts)[:-1]]), max(cols.shape[0] - 1, 0))
    empty = counts == 0
    centres = mel_frequencies(n_mels + 2, fmin, fmax)[1:-1]
    for a in (cols, vals, starts, empty, centres):
        a.flags.writeable = False
    return cols, vals, starts, empty if empty.any() else None, centres


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    """(signals, frames, length) read-only view of ``length``-sample frames every ``hop`` samples of ``x``
    (signals, samples), which holds at least ``length`` samples."""
    n = (x.shape[1] - length) // hop + 1
    s0, s1 = x.strides
    return np.lib.stride_tricks.as_strided(x, (x.shape[0], n, length), (s0, hop * s1, s1), writeable=False)


def _pad(x: np.ndarray, before: int, after: int, mode: str = "constant") -> np.ndarray:
    """``x`` (signals, samples) padded along the samples; zeros without ``np.pad``'s overhead."""
    if mode != "constant":
        return np.pad(x, ((0, 0), (before, after)), mode=mode)
    out = np.zeros((x.shape[0], before + x.shape[1] + after))
    out[:, before : before + x.shape[1]] = x
    return out


def _rfft_frames(frames: np.ndarray, w: np.ndarray) -> np.ndarray:
    """FFT of every windowed frame: (signals, frames, n // 2 + 1) complex128, at most _FFT_CHUNK frames a call."""
    n_sig, n_fr, n = frames.shape
    if n_sig * n_fr <= _FFT_CHUNK:
        return scipy.fft.rfft(frames * w, axis=-1)
    out = np.empty((n_sig, n_fr, n // 2 + 1), dtype=np.complex128)
    if n_fr <= _FFT_CHUNK:
        step = _FFT_CHUNK // n_fr
        for i in range(0, n_sig, step):
            out[i : i + step] = scipy.fft.rfft(frames[i : i + step] * w, axis=-1)
    else:
        for i in range(n_sig):
            for j in range(0, n_fr, _FFT_CHUNK):
                out[i, j : j + _FFT_CHUNK] = scipy.fft.rfft(frames[i, j : j + _FFT_CHUNK] * w, axis=-1)
    return out


def _centred(xs: np.ndarray, p: FeatureParams) -> tuple[np.ndarray, int]:
    """(the signals padded for the frame features, their number of frames)."""
    half = p.n_fft // 2
    xp = _pad(xs, half, half, p.pad_mode) if p.center else xs
    if xp.shape[1] < p.n_fft:  # uncentred and shorter than a frame: one zero-padded frame
        xp = _pad(xp, 0, p.n_fft - xp.shape[1])
    return xp, (xp.shape[1] - p.n_fft) // p.hop + 1


class _Spectra:
    """The one STFT of a batch and what every spectral feature reads from it (see the module docstring)."""

    def __init__(self, xs: np.ndarray, xp: np.ndarray, p: FeatureParams) -> None:
        w, self.w_nz, self.w_fft, self.w_sum, self.w_sum2 = _window_parts(p.window, p.n_fft)
        stft = _rfft_frames(_frames(xp, p.n_fft, p.hop), w)  # (signals, frames, bins), centred frames
        self.power = stft.real**2 + stft.imag**2
        n = xs.shape[1]
        # the uncentred segments: x zero-padded to one segment when shorter
        self.xu = xs if n >= p.n_fft else _pad(xs, 0, p.n_fft - n)
        self.n_u = (self.xu.shape[1] - p.n_fft) // p.hop + 1
        half = p.n_fft // 2
        if not p.center:
            k0: int | None = 0  # the frames are the uncentred segments (xp is xu)
        elif n >= p.n_fft and half % p.hop == 0:
            k0 = half // p.hop  # centred frame k0 + j starts at sample j * hop of x
        else:
            k0 = None
        if k0 is not None:
            u_stft = stft[:, k0 : k0 + self.n_u]
            self.u_power = self.power[:, k0 : k0 + self.n_u]
        else:
            u_stft = _rfft_frames(_frames(self.xu, p.n_fft, p.hop), w)
            self.u_power = u_stft.real**2 + u_stft.imag**2
        # of the complex values only the bins that maad's detrend changes are needed (the rest is power)
        self.u_nz = np.ascontiguousarray(u_stft[..., self.w_nz])


def _defined_stats(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``v``: (mean, standard deviation) of its finite values, NaN for a row with none."""
    ok = np.isfinite(v)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, v, 0.0).sum(axis=1) / count
        dev = np.where(ok, v - mean[:, None], 0.0)
        std = np.sqrt((dev * dev).sum(axis=1) / count)
    return mean, std


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
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"features need a 1-D mono signal, got shape {x.shape}")
    return compute_features_batch(x[None, :], samplerate, names, params)[0]


def compute_features_batch(
    xs: np.ndarray,
    samplerate: int,
    names: tuple[str, ...] | list[str] | None = None,
    params: FeatureParams = FeatureParams(),  # noqa: B008 (frozen, so a shared default is safe)
) -> list[dict[str, np.ndarray | float]]:
    """``compute_features`` of each row of ``xs`` (signals, samples): one dict per signal, in order.

    Arrays that do not depend on the signal (frequencies, frame times) are one object shared by the dicts.
    Raises ValueError as ``compute_features`` does, and for ``xs`` that is not 2-D.
    """
    wanted = tuple(FEATURE_NAMES if names is None else names)
    unknown = [n for n in wanted if n not in FEATURE_NAMES]
    if unknown:
        raise ValueError(f"unknown feature(s) {', '.join(unknown)}; choose from {', '.join(FEATURE_NAMES)}")
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 2:
        raise ValueError(f"a batch of features needs a 2-D array (signals, samples), got shape {xs.shape}")
    if xs.shape[1] == 0:
        raise ValueError("features need at least one sample")
    fs = float(samplerate)
    p = params
    nyquist = fs / 2.0
    want = set(wanted)
    fmax = nyquist if p.fmax is None else float(p.fmax)
    if "log_mel" in want and fmax > nyquist * (1 + 1e-9):
        raise ValueError(f"fmax {fmax} Hz is above the Nyquist frequency {nyquist} Hz")
    outs: list[dict[str, np.ndarray | float]] = [{} for _ in range(xs.shape[0])]
    if not outs:
        return outs
    xp, n_frames = _centred(xs, p)
    spectra = _Spectra(xs, xp, p) if want & (_WELCH | _STFT | _MAAD) else None
    if want & _WELCH:
        _welch_features(spectra, fs, p, want, outs)
    if want & _FRAMES:
        _frame_features(spectra, xs, xp, n_frames, fs, p, want, outs, fmax)
    if want & _MAAD:
        _index_features(spectra, fs, p, want, outs, nyquist)
    if "h_t" in want:
        _put(outs, "h_t", eco.temporal_entropy(xs, p.h_t_frame))
    return outs


def _put(outs: list[dict], key: str, values: np.ndarray) -> None:
    """One value per signal: rows of an array, or Python floats from a 1-D one."""
    if values.ndim == 1:
        for out, v in zip(outs, values.tolist(), strict=True):
            out[key] = v
    else:
        for out, v in zip(outs, values, strict=True):
            out[key] = v


def _share(outs: list[dict], key: str, value: np.ndarray) -> None:
    for out in outs:
        out[key] = value


def _welch_features(s: _Spectra, fs: float, p: FeatureParams, want: set[str], outs: list[dict]) -> None:
    power = s.u_power.sum(axis=1) * ((2.0 / s.w_sum) ** 2 / s.n_u)  # (signals, bins)
    freqs = np.fft.rfftfreq(p.n_fft, 1.0 / fs)
    _share(outs, "welch_freqs_hz", freqs)
    if "power_spectrum" in want:
        _put(outs, "power_spectrum", power)
    if "magnitude_spectrum" in want:
        _put(outs, "magnitude_spectrum", np.sqrt(power))
    if "peaks" in want:
        for out, row in zip(outs, power, strict=True):
            peaks = spectral_peaks(freqs, row, max_peaks=p.n_peaks, prominence_db=p.peak_prominence_db)
            out["peaks_hz"] = np.array([q["hz"] for q in peaks], dtype=np.float64)
            out["peaks_dbfs"] = np.array([q["dbfs"] for q in peaks], dtype=np.float64)
            out["peak_hz"] = peaks[0]["hz"] if peaks else float("nan")
            out["peak_dbfs"] = peaks[0]["dbfs"] if peaks else float("nan")


def _frame_features(
    s: _Spectra | None, xs: np.ndarray, xp: np.ndarray, n_frames: int, fs: float, p: FeatureParams,
    want: set[str], outs: list[dict], fmax: float,
) -> None:
    half = p.n_fft // 2
    _share(outs, "frame_times_s", np.arange(n_frames) * p.hop / fs if p.center else (
        np.arange(n_frames) * p.hop + half
    ) / fs)
    if want & _STFT:
        assert s is not None
        power = s.power  # (signals, frames, bins)
        freqs = np.fft.rfftfreq(p.n_fft, 1.0 / fs)
        mag = np.sqrt(power)
        mag_t = np.moveaxis(mag, -1, 0)  # bins first, as the spectral_* functions take them
        if "log_mel" in want:
            cols, vals, starts, empty, centres = _mel_sparse(fs, p.n_fft, p.n_mels, float(p.fmin), fmax)
            mel = np.zeros((*power.shape[:2], p.n_mels))
            if cols.shape[0]:
                for j in range(0, power.shape[1], _FFT_CHUNK):  # bounds the gathered copy of a long signal
                    mel[:, j : j + _FFT_CHUNK] = np.add.reduceat(power[:, j : j + _FFT_CHUNK, cols] * vals, starts,
                                                                 axis=-1)
                if empty is not None:
                    mel[..., empty] = 0.0
            with np.errstate(divide="ignore"):
                db = 10.0 * np.log10(np.maximum(p.mel_amin, mel))
            if p.mel_top_db is not None:
                db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - p.mel_top_db)
            _put(outs, "log_mel", np.ascontiguousarray(db.transpose(0, 2, 1)))  # (signals, n_mels, frames)
            _share(outs, "mel_freqs_hz", centres)
        if want & {"centroid", "bandwidth"}:
            centroid = spectral_centroid(freqs, mag_t)
            if "centroid" in want:
                mean, std = _defined_stats(centroid)
                _put(outs, "centroid_hz", centroid)
                _put(outs, "centroid_mean_hz", mean)
                _put(outs, "centroid_std_hz", std)
            if "bandwidth" in want:
                bw = spectral_bandwidth(freqs, mag_t, centroid=centroid)
                _put(outs, "bandwidth_hz", bw)
                _put(outs, "bandwidth_mean_hz", _defined_stats(bw)[0])
        if "rolloff" in want:
            ro = spectral_rolloff(freqs, mag, p.rolloff_fraction, axis=-1)
            _put(outs, "rolloff_hz", ro)
            _put(outs, "rolloff_mean_hz", ro.mean(axis=1))
        if "flatness" in want:
            t = np.maximum(p.flatness_amin, power)
            flat = np.exp(np.log(t).mean(axis=-1)) / t.mean(axis=-1)
            _put(outs, "flatness", flat)
            _put(outs, "flatness_mean", flat.mean(axis=1))
    if "rms" in want:
        frames = _frames(xp, p.n_fft, p.hop)
        _put(outs, "rms", np.sqrt(np.mean(frames * frames, axis=-1)))
        _put(outs, "rms_dbfs", amp_to_db(np.sqrt(np.mean(xs * xs, axis=1))))
    if "zcr" in want:
        # |x| <= threshold counts as 0, which is not negative: the sign bit is x < -threshold. Centred frames
        # pad by repeating the edge samples ("edge"), which adds no sign change: count on x itself, change k
        # lying between samples k and k + 1, and frame i holding the changes i * hop - pad ... + n_fft - 2.
        xz = xs if p.center else xp
        neg = xz < -p.zcr_threshold
        cross = np.zeros((xz.shape[0], xz.shape[1]), dtype=np.int64)  # cross[:, j] = changes before change j
        np.cumsum(neg[:, 1:] != neg[:, :-1], axis=1, out=cross[:, 1:])
        first = np.arange(n_frames) * p.hop - (half if p.center else 0)
        last = np.clip(first + p.n_fft - 1, 0, xz.shape[1] - 1)  # one past the frame's last change
        zcr = (cross[:, last] - cross[:, np.clip(first, 0, xz.shape[1] - 1)]) / p.n_fft
        mean = zcr.mean(axis=1)
        _put(outs, "zcr", zcr.astype(np.float64))
        _put(outs, "zcr_mean", mean)
        _put(outs, "zcr_mean_hz", mean * fs)


def _index_features(
    s: _Spectra, fs: float, p: FeatureParams, want: set[str], outs: list[dict], nyquist: float
) -> None:
    n_m = max(0, min(s.xu.shape[1] // p.hop - 1, s.n_u))  # maad keeps the segments wholly inside
    fn = np.fft.rfftfreq(p.n_fft, 1.0 / fs)[:-1]
    scale = 2.0 / (p.n_fft * s.w_sum2)
    sxx = s.u_power[:, :n_m, :-1] * scale  # (signals, segments, bins), Nyquist bin dropped
    if p.index_detrend and n_m:
        c = _frames(s.xu, p.n_fft, p.hop)[:, :n_m].mean(axis=-1)  # (signals, segments)
        keep = s.w_nz < sxx.shape[2]
        spec = s.u_nz[:, :n_m, keep] - c[..., None] * s.w_fft[keep]
        sxx[..., s.w_nz[keep]] = (spec.real**2 + spec.imag**2) * scale
    amp = np.sqrt(sxx)
    if "aci" in want:
        _put(outs, "aci", eco.acoustic_complexity_index(amp))
    scores: dict[tuple[float, ...], np.ndarray] = {}  # ADI and AEI share their bands by default

    def band_scores(fmin: float, fmax: float, step: float, threshold: float) -> np.ndarray:
        key = (fmin, min(fmax, nyquist), step, threshold)
        if key not in scores:
            scores[key] = eco.band_scores(amp, fn, *key)
        return scores[key]

    if "adi" in want:
        _put(outs, "adi", eco.diversity_of_scores(band_scores(p.adi_fmin, p.adi_fmax, p.adi_bin_step,
                                                              p.adi_db_threshold)))
    if "aei" in want:
        _put(outs, "aei", eco.evenness_of_scores(band_scores(p.aei_fmin, p.aei_fmax, p.aei_bin_step,
                                                             p.aei_db_threshold)))
    if "bi" in want:
        _put(outs, "bi", eco.bioacoustic_index(amp, fn, p.bi_flim))
    if "ndsi" in want:
        _put(outs, "ndsi", eco.soundscape_index(sxx, fn, p.ndsi_biophony, p.ndsi_anthrophony))
    if "h_f" in want:
        _put(outs, "h_f", eco.spectral_entropy(sxx))
