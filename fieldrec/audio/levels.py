"""Sample type conversion for viewers and meters (full scale = 1.0)."""

from __future__ import annotations

import numpy as np

_SCALE = {"int16": 1.0 / 32768.0, "int32": 1.0 / 2147483648.0}


def to_float(block: np.ndarray, dtype: str | np.dtype | None = None) -> np.ndarray:
    """Return ``block`` as float32 with integer full scale mapped to [-1, 1].

    int16 is scaled by 1/32768, int32 by 1/2**31 (the top int32 codes round to 1.0 in float32);
    float input is returned as float32 unchanged in value. ``dtype`` defaults to ``block.dtype``.
    """
    name = np.dtype(dtype if dtype is not None else block.dtype).name
    if name in _SCALE:
        out = block.astype(np.float32)
        out *= np.float32(_SCALE[name])
        return out
    if name in ("float32", "float64"):
        return np.asarray(block, dtype=np.float32)
    raise ValueError(f"cannot convert samples of type {name!r}; use int16, int32 or float32")
