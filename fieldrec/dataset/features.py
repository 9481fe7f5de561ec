"""Features step: the measurement core's features (``fieldrec.analysis.frame_features``) of each output, saved as ``.npz`` (arrays) plus a row
of scalars for ``features.csv``; every parameter that shaped them is in ``FeatureParams.to_dict()``.

``write_npz`` writes a NumPy ``.npz`` whose bytes depend only on the arrays (``numpy.savez`` stamps the
time of writing into the zip entries, which would make reruns differ).
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from fieldrec.analysis.frame_features import FEATURE_NAMES, FeatureParams, compute_features

__all__ = ["FEATURE_NAMES", "FeatureParams", "compute_features", "params_from_dict", "parse_features", "split_features",
           "write_npz"]


def parse_features(word: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma list of names; raises ValueError naming an unknown feature."""
    w = word.strip().lower()
    if w == "all":
        return tuple(FEATURE_NAMES)
    if w in ("none", ""):
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in w.split(",") if n.strip()))
    unknown = [n for n in names if n not in FEATURE_NAMES]
    if unknown:
        raise ValueError(f"unknown feature {unknown[0]!r}; choose from: all, none, {', '.join(FEATURE_NAMES)}")
    return names


def split_features(values: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, float | None]]:
    """(arrays for the .npz, scalars for the CSV row; NaN becomes None)."""
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, float | None] = {}
    for name, value in values.items():
        if isinstance(value, np.ndarray) and value.ndim > 0:
            arrays[name] = value
        else:
            v = float(value)
            scalars[name] = v if math.isfinite(v) else None
    return arrays, scalars


def params_from_dict(data: dict[str, Any]) -> FeatureParams:
    """``FeatureParams`` back from its ``to_dict()`` (lists back to tuples)."""
    return FeatureParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Write ``arrays`` to ``path`` as an uncompressed .npz (readable by ``numpy.load``) with fixed zip
    time stamps (1980-01-01), keys in sorted order; return its SHA-256 (hex). The file is built in memory
    and written in one go, so it is hashed without being read back."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with zf.open(info, "w") as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    data = buf.getbuffer()
    with open(path, "wb") as fh:
        fh.write(data)
    return hashlib.sha256(data).hexdigest()
