"""Coordinates of sensitive sites: keep, round to N decimals (2 decimals is about 1 km), or drop."""

from __future__ import annotations

import copy
from typing import Any


def apply_policy(value: float | None, policy: str) -> float | None:
    """One coordinate under ``policy`` ("keep", "drop", "round:N")."""
    if value is None or policy == "keep":
        return value
    if policy == "drop":
        return None
    return round(float(value), int(policy.split(":", 1)[1]))


def metadata_with_policy(metadata: dict[str, Any], policy: str) -> dict[str, Any]:
    """A copy of a take's metadata with its location's latitude and longitude under ``policy``."""
    meta = copy.deepcopy(metadata)
    loc = meta.get("location")
    if isinstance(loc, dict):
        for key in ("latitude", "longitude"):
            if key in loc:
                loc[key] = apply_policy(loc[key], policy)
    return meta
