"""Cheap ecoacoustic indices, computed as scikit-maad 1.5 computes them (same spectrogram, same rules).

The spectrogram is scikit-maad's ``maad.sound.spectrogram(x, fs, window, nperseg, noverlap)``:
frames not centred, each frame's mean removed (``detrend="constant"``, the maad default) before
the window, power scaled to 2 |X|^2 / (nperseg * sum(w^2)) (a power spectral density times the bin
width), the Nyquist bin dropped, and only frames that lie wholly inside the signal kept (len // hop - 1
of them). ``sxx_power`` below is that spectrogram and ``sxx_amp`` its square root.

Every function works on a batch of equal-length signals at once: spectrograms are frame-major arrays of
shape (signals, frames, bins) and each index comes back as one float64 per signal, shape (signals,).
Band edges are matched to bins once per (bins, band parameters) and cached.

* ACI (acoustic complexity, Pieretti 2011, seewave flavour): sum over bins of
  sum_t |A[f, t+1] - A[f, t]| / sum_t A[f, t] on the amplitude spectrogram. A bin with no energy at all
  adds 0 (maad gives NaN there).
* ADI (acoustic diversity, Villanueva-Rivera 2011): bands of ``bin_step`` Hz from ``fmin`` to ``fmax``;
  per band the fraction of cells whose amplitude is within ``db_threshold`` dB of the spectrogram's
  maximum; ADI = Shannon entropy (natural log) of those fractions.
* AEI (acoustic evenness): Gini coefficient of the same band fractions.
* BI (bioacoustic index, Boelman 2007, soundecology flavour): mean over time of the max-normalised
  amplitude spectrogram in dB, minus its minimum in the band ``flim``, summed over the band's bins and
  divided by the bin width in Hz.
* NDSI (normalised difference soundscape index, Kasten 2012, soundecology flavour): power summed in
  1 kHz bins (width = that of the anthrophony band); (biophony - anthrophony) / (biophony + anthrophony),
  from -1 (all anthrophony) to +1 (all biophony).
* H_t (temporal entropy, QUT flavour): normalised Shannon entropy (0..1) of the squared envelope, where
  the envelope is the maximum |x| in consecutive non-overlapping frames of ``nt`` samples.
* H_f (spectral entropy, QUT flavour): normalised Shannon entropy (0..1) of the mean power spectrum
  (the spectrogram averaged over time).

Band edges are matched to the nearest bin as maad's ``index_bw`` does. Entropies follow maad's
``entropy``: a zero probability counts as the smallest positive float, and an all-zero vector has
entropy 1 (normalised).
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np

_MIN = sys.float_info.min


def band_mask(fn: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Bins from the one nearest ``lo`` Hz to the one nearest ``hi`` Hz (maad's ``index_bw``)."""
    f0 = fn[np.abs(fn - lo).argmin()]
    f1 = fn[np.abs(fn - hi).argmin()]
    return (fn >= f0) & (fn <= f1)


def _band_range(fn: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    """``band_mask`` as a slice [start, stop) of bins (the bins are sorted, so the mask is contiguous)."""
    idx = np.flatnonzero(band_mask(fn, lo, hi))
    return int(idx[0]), int(idx[-1]) + 1


@lru_cache(maxsize=64)
def _cached_range(fn_bytes: bytes, lo: float, hi: float) -> tuple[int, int]:
    return _band_range(np.frombuffer(fn_bytes), lo, hi)


@lru_cache(maxsize=64)
def _score_bands(fn_bytes: bytes, fmin: float, fmax: float, bin_step: float) -> tuple[np.ndarray, np.ndarray]:
    fn = np.frombuffer(fn_bytes)
    n = int(np.floor((fmax - fmin) / bin_step))
    ranges = [_band_range(fn, int(fmin + bin_step * i), int(int(fmin + bin_step * i) + bin_step)) for i in range(n)]
    lo = np.array([r[0] for r in ranges], dtype=np.intp)
    hi = np.array([r[1] for r in ranges], dtype=np.intp)
    return lo, hi


def _key(fn: np.ndarray) -> bytes:
    """The bin frequencies as a cache key (the band tables depend on them alone)."""
    return np.ascontiguousarray(fn, dtype=np.float64).tobytes()


def _bin_hz(fn: np.ndarray) -> float:
    return float(fn[1] - fn[0]) if fn.shape[0] > 1 else 0.0


def normalised_entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy along the last axis of ``p`` (non-negative) divided by log(len): 0 for a spike,
    1 for flat or all-zero (0 when there are fewer than 2 values)."""
    p = np.asarray(p, dtype=np.float64)
    n = p.shape[-1]
    if n <= 1:
        return np.zeros(p.shape[:-1])
    total = p.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pmf = p / total
    pmf = np.where(pmf == 0, _MIN, pmf)
    h = -np.sum(pmf * np.log(pmf), axis=-1) / np.log(n)
    return np.where(total[..., 0] == 0, 1.0, h)


def acoustic_complexity_index(sxx_amp: np.ndarray) -> np.ndarray:
    """ACI (sum over bins) of amplitude spectrograms (signals, frames, bins)."""
    a = sxx_amp
    if a.shape[1] < 2:
        return np.zeros(a.shape[0])
    num = np.abs(np.diff(a, axis=1)).sum(axis=1)
    den = a.sum(axis=1)
    return np.sum(np.divide(num, den, out=np.zeros_like(num), where=den > 0), axis=-1)


def band_scores(
    sxx_amp: np.ndarray, fn: np.ndarray, fmin: float, fmax: float, bin_step: float, db_threshold: float
) -> np.ndarray:
    """Per band of ``bin_step`` Hz: the fraction of cells within ``db_threshold`` dB of each spectrogram's
    maximum, shape (signals, bands). A cell is in when 20 log10(A / max) >= ``db_threshold``, tested as
    A >= max * 10^(db_threshold / 20)."""
    a = sxx_amp
    lo, hi = _score_bands(_key(fn), float(fmin), float(fmax), float(bin_step))
    if a.shape[1] == 0 or a.shape[2] == 0:
        return np.zeros((a.shape[0], lo.shape[0]))
    peak = a.max(axis=(1, 2))
    # silence (peak 0): every cell sits at 20 log10(tiny), far below any threshold
    limit = np.where(peak > 0, peak * 10.0 ** (db_threshold / 20.0), np.inf)
    counts = np.count_nonzero(a >= limit[:, None, None], axis=1)  # (signals, bins)
    cum = np.concatenate([np.zeros((a.shape[0], 1), dtype=np.int64), np.cumsum(counts, axis=1)], axis=1)
    return (cum[:, hi] - cum[:, lo]) / ((hi - lo) * a.shape[1])


def diversity_of_scores(scores: np.ndarray) -> np.ndarray:
    """ADI from band scores (signals, bands): their Shannon entropy (natural log)."""
    if scores.shape[1] <= 1:
        return np.zeros(scores.shape[0])
    return normalised_entropy(scores) * float(np.log(scores.shape[1]))


def evenness_of_scores(scores: np.ndarray) -> np.ndarray:
    """AEI from band scores (signals, bands): their Gini coefficient (0 = even, towards 1 = one band)."""
    s = np.sort(scores, axis=1)
    total = s.sum(axis=1)
    n = s.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 2.0 * np.sum(s * np.arange(1, n + 1), axis=1) / total - (n + 1)
    return np.where(total == 0, 0.0, g / max(n, 1))


def acoustic_diversity_index(
    sxx_amp: np.ndarray, fn: np.ndarray, fmin: float, fmax: float, bin_step: float, db_threshold: float
) -> np.ndarray:
    """ADI: Shannon entropy (natural log) of the band scores."""
    return diversity_of_scores(band_scores(sxx_amp, fn, fmin, fmax, bin_step, db_threshold))


def acoustic_evenness_index(
    sxx_amp: np.ndarray, fn: np.ndarray, fmin: float, fmax: float, bin_step: float, db_threshold: float
) -> np.ndarray:
    """AEI: Gini coefficient of the band scores (0 = even, towards 1 = one band holds the activity)."""
    return evenness_of_scores(band_scores(sxx_amp, fn, fmin, fmax, bin_step, db_threshold))


def bioacoustic_index(sxx_amp: np.ndarray, fn: np.ndarray, flim: tuple[float, float]) -> np.ndarray:
    """BI (soundecology flavour) in dB·bins / Hz over the band ``flim`` (Hz)."""
    a = sxx_amp
    if a.shape[1] == 0 or a.shape[2] == 0:
        return np.zeros(a.shape[0])
    peak = a.max(axis=(1, 2))
    safe = np.where(peak > 0, peak, 1.0)
    mean = a.mean(axis=1) / safe[:, None]
    db = 20.0 * np.log10(np.where(mean == 0, _MIN, mean))
    lo, hi = _cached_range(_key(fn), float(flim[0]), float(flim[1]))
    band = db[:, lo:hi]
    bi = np.sum(band - band.min(axis=1, keepdims=True), axis=1) / _bin_hz(fn)
    return np.where(peak > 0, bi, 0.0)


@lru_cache(maxsize=64)
def _ndsi_bands(fn_bytes: bytes, bio: tuple[float, float], anthro: tuple[float, float]):
    fn = np.frombuffer(fn_bytes)
    bin_hz = _bin_hz(fn)
    step = anthro[1] - anthro[0]
    if step < bin_hz:
        raise ValueError(f"the anthrophony band ({step} Hz) must be at least one bin ({bin_hz} Hz) wide")
    edges = np.arange(fn[0], fn[-1] + step, step)
    lo = np.searchsorted(fn, edges[:-1], side="left")  # bins with b0 <= f < b1
    hi = np.searchsorted(fn, edges[1:], side="left")
    counts = hi - lo
    centres = edges[:-1]
    return lo, hi, float(np.mean(counts)), band_mask(centres, *bio), band_mask(centres, *anthro)


def soundscape_index(
    sxx_power: np.ndarray, fn: np.ndarray, bio: tuple[float, float], anthro: tuple[float, float]
) -> np.ndarray:
    """NDSI (soundecology flavour); NaN when both bands hold no power."""
    lo, hi, mean_count, bio_m, anthro_m = _ndsi_bands(_key(fn), tuple(bio), tuple(anthro))
    p = sxx_power
    per_bin = p.sum(axis=1)  # (signals, bins): power summed over frames
    cum = np.concatenate([np.zeros((p.shape[0], 1)), np.cumsum(per_bin, axis=1)], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        binned = (cum[:, hi] - cum[:, lo]) / (hi - lo) * mean_count  # an empty band is NaN, as in maad
        bio_e = binned[:, bio_m].sum(axis=1)
        anthro_e = binned[:, anthro_m].sum(axis=1)
        total = bio_e + anthro_e
        return np.where(total > 0, (bio_e - anthro_e) / total, np.nan)


def temporal_entropy(x: np.ndarray, nt: int = 512) -> np.ndarray:
    """H_t (QUT flavour) of signals (signals, samples): normalised entropy of the squared max-|x| envelope
    in frames of ``nt`` samples."""
    k = x.shape[1] // nt
    env = np.abs(x[:, : k * nt].reshape(x.shape[0], k, nt)).max(axis=2) if k else np.zeros((x.shape[0], 0))
    return normalised_entropy(env**2)


def spectral_entropy(sxx_power: np.ndarray) -> np.ndarray:
    """H_f (QUT flavour): normalised entropy of the time-averaged power spectrum."""
    if sxx_power.shape[1] == 0:
        return np.ones(sxx_power.shape[0])
    return normalised_entropy(sxx_power.mean(axis=1))
