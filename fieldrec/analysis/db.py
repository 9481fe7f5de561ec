"""Decibel conversions shared by the meters (full scale = 1.0)."""

from __future__ import annotations

import math

import numpy as np

LUFS_OFFSET = -0.691  # BS.1770: loudness = -0.691 + 10 log10(weighted mean square)


def amp_to_db(amplitude: np.ndarray | float) -> np.ndarray:
    """20 log10(amplitude); -inf for 0 (no warning)."""
    a = np.asarray(amplitude, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(a)


def power_to_db(power: np.ndarray | float) -> np.ndarray:
    """10 log10(power); -inf for 0 (no warning)."""
    p = np.asarray(power, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(p)


def energy_to_lufs(energy: np.ndarray | float) -> np.ndarray:
    """Loudness in LUFS of a channel-weighted mean square; -inf for 0."""
    return LUFS_OFFSET + power_to_db(energy)


def finite_or_none(value: float | np.floating) -> float | None:
    """A plain float, or None for -inf/inf/NaN (JSON-safe)."""
    v = float(value)
    return v if math.isfinite(v) else None
