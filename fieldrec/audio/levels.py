"""Sample type conversion for viewers and meters (full scale = 1.0)."""

from __future__ import annotations

import numpy as np

_SCALE = {"int16": 1.0 / 32768.0, "int32": 1.0 / 2147483648.0}


def _scale_of(block: np.ndarray, dtype: str | np.dtype | None) -> float | None:
    """The factor that maps ``block``'s samples (as ``dtype``, default its own) to full scale = 1.0: None for
    float samples (already there); ValueError for a sample type fieldrec does not capture."""
    name = np.dtype(dtype if dtype is not None else block.dtype).name
    if name in _SCALE:
        return _SCALE[name]
    if name in ("float32", "float64"):
        return None
    raise ValueError(f"cannot convert samples of type {name!r}; use int16, int32 or float32")


def to_float(block: np.ndarray, dtype: str | np.dtype | None = None) -> np.ndarray:
    """Return ``block`` as float32 with integer full scale mapped to [-1, 1].

    int16 is scaled by 1/32768, int32 by 1/2**31 (the top int32 codes round to 1.0 in float32);
    float input is returned as float32 unchanged in value. ``dtype`` defaults to ``block.dtype``.
    """
    scale = _scale_of(block, dtype)
    if scale is None:
        return np.asarray(block, dtype=np.float32)
    out = block.astype(np.float32)
    out *= np.float32(scale)
    return out


def peak_of(block: np.ndarray, dtype: str | np.dtype | None = None) -> np.ndarray:
    """Per-channel sample peak of ``block`` (frames, channels), float64 with full scale = 1.0, computed on the
    samples as captured (no float copy of the block; ``max(x.max(), -x.min())`` also handles the most negative
    integer code, -32768/32768 = 1.0). A 1-D block is one channel; zeros for an empty block."""
    scale = _scale_of(block, dtype)
    if block.ndim == 1:
        block = block[:, None]
    if len(block) == 0:
        return np.zeros(block.shape[1])
    # channel-major first: numpy reduces (frames, 2) over axis 0 far slower than (2, frames) over its rows
    rows = np.ascontiguousarray(block.T)
    peak = np.maximum(rows.max(axis=1).astype(np.float64), -rows.min(axis=1).astype(np.float64))
    return peak if scale is None else peak * scale
