"""Cheap ecoacoustic indices, computed as scikit-maad 1.5 computes them (same spectrogram, same rules).

The spectrogram is scikit-maad's ``maad.sound.spectrogram(x, fs, window, nperseg, noverlap)``:
frames not centred, each frame's mean removed (``detrend="constant"``, the maad default) before
the window, power scaled to 2 |X|^2 / (nperseg * sum(w^2)) (a power spectral density times the bin
width), the Nyquist bin dropped, and only frames that lie wholly inside the signal kept (len // hop - 1
of them). ``Sxx_power`` below is that spectrogram (bins x frames) and ``Sxx_amp`` its square root.

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

import numpy as np

from .spectrum import get_window

_MIN = sys.float_info.min


def maad_spectrogram(
    x: np.ndarray, samplerate: float, nperseg: int = 1024, hop: int = 512, window: str = "hann",
    detrend: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-maad's power spectrogram of 1-D ``x``: (bin frequencies in Hz, power (nperseg // 2, frames))."""
    x = np.asarray(x, dtype=np.float64)
    n_frames = min(x.shape[0] // hop - 1, (x.shape[0] - nperseg) // hop + 1) if x.shape[0] >= nperseg else 0
    fn = np.fft.rfftfreq(nperseg, 1.0 / samplerate)[:-1]
    if n_frames <= 0:
        return fn, np.zeros((fn.shape[0], 0))
    segs = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::hop][:n_frames]
    if detrend:
        segs = segs - segs.mean(axis=1, keepdims=True)
    w = get_window(window, nperseg)
    spec = np.fft.rfft(segs * w, axis=-1)[:, :-1]
    power = (spec.real**2 + spec.imag**2) * (2.0 / (nperseg * float(np.sum(w * w))))
    return fn, np.ascontiguousarray(power.T)


def band_mask(fn: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Bins from the one nearest ``lo`` Hz to the one nearest ``hi`` Hz (maad's ``index_bw``)."""
    f0 = fn[np.abs(fn - lo).argmin()]
    f1 = fn[np.abs(fn - hi).argmin()]
    return (fn >= f0) & (fn <= f1)


def normalised_entropy(p: np.ndarray) -> float:
    """Shannon entropy of ``p`` (non-negative) divided by log(len): 0 for a spike, 1 for flat or all-zero."""
    p = np.asarray(p, dtype=np.float64)
    n = p.shape[0]
    if n <= 1:
        return 0.0
    total = p.sum()
    if total == 0:
        return 1.0
    pmf = p / total
    pmf = np.where(pmf == 0, _MIN, pmf)
    return float(-np.sum(pmf * np.log(pmf)) / np.log(n))


def acoustic_complexity_index(sxx_amp: np.ndarray) -> float:
    """ACI (sum over bins) of an amplitude spectrogram (bins, frames)."""
    a = np.asarray(sxx_amp, dtype=np.float64)
    if a.shape[1] < 2:
        return 0.0
    num = np.abs(np.diff(a, axis=1)).sum(axis=1)
    den = a.sum(axis=1)
    return float(np.sum(np.divide(num, den, out=np.zeros_like(num), where=den > 0)))


def band_scores(
    sxx_amp: np.ndarray, fn: np.ndarray, fmin: float, fmax: float, bin_step: float, db_threshold: float
) -> np.ndarray:
    """Per band of ``bin_step`` Hz: the fraction of cells within ``db_threshold`` dB of the maximum."""
    a = np.asarray(sxx_amp, dtype=np.float64)
    peak = a.max() if a.size else 0.0
    if peak > 0:
        rel = a / peak
        rel = np.where(rel == 0, _MIN, rel)
        above = 20.0 * np.log10(rel) >= db_threshold
    else:  # silence: every cell sits at 20 log10(tiny), far below any threshold
        above = np.zeros(a.shape, dtype=bool)
    n = int(np.floor((fmax - fmin) / bin_step))
    scores = np.empty(n)
    for i in range(n):
        f0 = int(fmin + bin_step * i)
        m = band_mask(fn, f0, int(f0 + bin_step))
        scores[i] = above[m].mean(axis=0).mean() if a.shape[1] else 0.0
    return scores


def acoustic_diversity_index(
    sxx_amp: np.ndarray, fn: np.ndarray, fmin: float, fmax: float, bin_step: float, db_threshold: float
) -> float:
    """ADI: Shannon entropy (natural log) of the band scores."""
    s = band_scores(sxx_amp, fn, fmin, fmax, bin_step, db_threshold)
    return normalised_entropy(s) * float(np.log(s.shape[0])) if s.shape[0] > 1 else 0.0


def acoustic_evenness_index(
    sxx_amp: np.ndarray, fn: np.ndarray, fmin: float, fmax: float, bin_step: float, db_threshold: float
) -> float:
    """AEI: Gini coefficient of the band scores (0 = even, towards 1 = one band holds the activity)."""
    s = np.sort(band_scores(sxx_amp, fn, fmin, fmax, bin_step, db_threshold))
    total = s.sum()
    if total == 0:
        return 0.0
    n = s.shape[0]
    g = 2.0 * np.sum(s * np.arange(1, n + 1)) / total - (n + 1)
    return float(g / n)


def bioacoustic_index(sxx_amp: np.ndarray, fn: np.ndarray, flim: tuple[float, float]) -> float:
    """BI (soundecology flavour) in dB·bins / Hz over the band ``flim`` (Hz)."""
    a = np.asarray(sxx_amp, dtype=np.float64)
    peak = a.max() if a.size else 0.0
    if peak == 0 or a.shape[1] == 0:
        return 0.0
    mean = (a / peak).mean(axis=1)
    db = 20.0 * np.log10(np.where(mean == 0, _MIN, mean))
    band = db[band_mask(fn, *flim)]
    return float(np.sum(band - band.min()) / (fn[1] - fn[0]))


def soundscape_index(
    sxx_power: np.ndarray, fn: np.ndarray, bio: tuple[float, float], anthro: tuple[float, float]
) -> float:
    """NDSI (soundecology flavour); NaN when both bands hold no power."""
    p = np.asarray(sxx_power, dtype=np.float64)
    step = anthro[1] - anthro[0]
    if step < fn[1] - fn[0]:
        raise ValueError(f"the anthrophony band ({step} Hz) must be at least one bin ({fn[1] - fn[0]} Hz) wide")
    edges = np.arange(fn[0], fn[-1] + step, step)
    rows, counts = [], []
    for b0, b1 in zip(edges[:-1], edges[1:], strict=True):
        m = (fn >= b0) & (fn < b1)
        counts.append(int(m.sum()))
        rows.append(p[m].mean(axis=0) if m.any() else np.full(p.shape[1], np.nan))
    binned = np.asarray(rows) * float(np.mean(counts))
    centres = edges[:-1]
    bio_e = float(np.sum(binned[band_mask(centres, *bio)]))
    anthro_e = float(np.sum(binned[band_mask(centres, *anthro)]))
    total = bio_e + anthro_e
    return (bio_e - anthro_e) / total if total > 0 else float("nan")


def temporal_entropy(x: np.ndarray, nt: int = 512) -> float:
    """H_t (QUT flavour): normalised entropy of the squared max-|x| envelope in frames of ``nt`` samples."""
    x = np.asarray(x, dtype=np.float64)
    k = x.shape[0] // nt
    env = np.abs(x[: k * nt].reshape(k, nt)).max(axis=1) if k else np.zeros(0)
    return normalised_entropy(env**2)


def spectral_entropy(sxx_power: np.ndarray) -> float:
    """H_f (QUT flavour): normalised entropy of the time-averaged power spectrum."""
    p = np.asarray(sxx_power, dtype=np.float64)
    if p.shape[1] == 0:
        return 1.0
    return normalised_entropy(p.mean(axis=1))
