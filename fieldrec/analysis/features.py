"""Spectral features from a spectrum: centroid, bandwidth, roll-off (Hz) and peaks (Hz, dBFS).

Centroid and bandwidth weight frequencies by magnitude (sqrt of power), as librosa does, so the
centroid of a pure tone is its frequency. Roll-off is the frequency below which ``fraction`` of the
total power lies.
"""

from __future__ import annotations

import numpy as np

from .db import power_to_db


def spectral_centroid(freqs: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Centroid in Hz of magnitude spectra along axis 0 (NaN where all-zero)."""
    mag = np.asarray(magnitude, dtype=np.float64)
    f = freqs.reshape((-1,) + (1,) * (mag.ndim - 1))
    total = mag.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (f * mag).sum(axis=0) / total


def spectral_bandwidth(
    freqs: np.ndarray, magnitude: np.ndarray, centroid: np.ndarray | None = None
) -> np.ndarray:
    """Magnitude-weighted standard deviation of frequency around the centroid, in Hz (``centroid``:
    ``spectral_centroid(freqs, magnitude)`` when the caller has it already)."""
    mag = np.asarray(magnitude, dtype=np.float64)
    f = freqs.reshape((-1,) + (1,) * (mag.ndim - 1))
    c = spectral_centroid(freqs, mag) if centroid is None else centroid
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(((f - c) ** 2 * mag).sum(axis=0) / mag.sum(axis=0))


def spectral_rolloff(freqs: np.ndarray, power: np.ndarray, fraction: float = 0.85, axis: int = 0) -> np.ndarray:
    """Lowest frequency in Hz below which ``fraction`` of the power lies (bins along ``axis``)."""
    p = np.asarray(power, dtype=np.float64)
    cum = np.cumsum(p, axis=axis)
    total = np.take(cum, [-1], axis=axis)
    idx = np.argmax(cum >= fraction * total, axis=axis)
    return freqs[idx]


def spectral_peaks(
    freqs: np.ndarray,
    power: np.ndarray,
    max_peaks: int = 10,
    prominence_db: float = 10.0,
    interpolate: bool = True,
) -> list[dict[str, float]]:
    """The ``max_peaks`` strongest peaks by level with at least ``prominence_db`` prominence.

    Returns [{"hz", "dbfs"}] sorted from strongest. With ``interpolate`` the frequency and level come
    from a parabola through the peak bin and its neighbours in dB (exact for a sine at a bin centre,
    within a few percent of a bin otherwise); without it, the bin frequency and bin level.
    """
    db = power_to_db(power)
    floor = -400.0  # stands in for -inf (silent bins) so find_peaks sees finite numbers
    db = np.where(np.isfinite(db), db, floor)
    idx = find_peaks_by_prominence(db, prominence_db)
    idx = idx[np.argsort(db[idx])[::-1]][:max_peaks]
    df = float(freqs[1] - freqs[0]) if freqs.size > 1 else 0.0
    peaks = []
    for i in idx:
        hz, level = float(freqs[i]), float(db[i])
        if interpolate and 0 < i < db.size - 1:
            a, b, c = db[i - 1], db[i], db[i + 1]
            denom = a - 2 * b + c
            if denom < 0:
                delta = 0.5 * (a - c) / denom
                hz = float(hz + delta * df)
                level = float(b - 0.25 * (a - c) * delta)
        peaks.append({"hz": hz, "dbfs": level})
    return peaks


def find_peaks_by_prominence(x: np.ndarray, min_prominence: float) -> np.ndarray:
    """Indices of the peaks of 1-D ``x`` with at least ``min_prominence``, in ascending order.

    The same peaks as ``scipy.signal.find_peaks(x, prominence=min_prominence)`` (its algorithm: a flat
    peak counts once, at the middle of its plateau, rounded down; prominence is the height above the
    higher of the lowest points on either side before a higher sample), without importing scipy.signal.
    """
    v = np.asarray(x, dtype=np.float64).tolist()
    n = len(v)
    peaks = []
    i = 1
    while i < n - 1:
        if v[i - 1] < v[i]:
            ahead = i + 1
            while ahead < n - 1 and v[ahead] == v[i]:
                ahead += 1
            if v[ahead] < v[i]:
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    keep = []
    for p in peaks:
        top = v[p]
        left_min = top
        j = p
        while j >= 0 and v[j] <= top:
            left_min = min(left_min, v[j])
            j -= 1
        right_min = top
        j = p
        while j < n and v[j] <= top:
            right_min = min(right_min, v[j])
            j += 1
        if top - max(left_min, right_min) >= min_prominence:
            keep.append(p)
    return np.array(keep, dtype=np.intp)
