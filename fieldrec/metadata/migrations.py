"""Upgrades of older sidecars, one step per version: ``MIGRATIONS[n]`` turns a version-n dict into n+1.

Version 1 (fieldrec before the metadata model): ``metadata`` held location {name, latitude, longitude},
equipment {recorder, microphone}, notes and tags (plus whatever the window added); there was no take uid,
no audio-only hash, no markers with a length, no ``metadata.time``. Version 2 keeps every v1 value where it
was and adds the new fields empty, except ``metadata.time``, which is derived from ``recording.start_*``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any


def _offset(local: Any) -> str | None:
    if not isinstance(local, str) or len(local) < 6:
        return None
    tail = local[-6:]
    if local.endswith("Z"):
        return "+00:00"
    if tail[0] in "+-" and tail[3] == ":":
        return tail
    return None


#: Keys version 2 defines in ``metadata``, with the JSON type it gives them.
_V2_TEXT = ("project", "session", "scene", "recordist", "licence", "notes")
_V2_OBJECTS = ("location", "time", "equipment", "environment", "subject")


def _move_clashes(meta: dict[str, Any]) -> None:
    """A v1 key that v2 now defines but with another shape (a user's ``project: {...}``) moves,
    verbatim, to ``metadata.v1_extra`` instead of failing validation or being coerced."""
    clashes: dict[str, Any] = {}
    for key in _V2_TEXT:
        if key in meta and isinstance(meta[key], dict | list):
            clashes[key] = meta.pop(key)
    for key in _V2_OBJECTS:
        if key in meta and not isinstance(meta[key], dict) and not (key == "equipment" and isinstance(meta[key], str)):
            clashes[key] = meta.pop(key)
    if "take" in meta and not (isinstance(meta["take"], int) and not isinstance(meta["take"], bool)):
        clashes["take"] = meta.pop("take")
    if "circled" in meta and not isinstance(meta["circled"], bool):
        clashes["circled"] = meta.pop("circled")
    if clashes:
        meta.setdefault("v1_extra", {}).update(clashes)


def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 sidecar as version 2 (nothing dropped: unknown keys stay where they were)."""
    out = copy.deepcopy(data)
    out["schema_version"] = 2
    file = out.setdefault("file", {})
    file.setdefault("audio_sha256", None)
    file.setdefault("chunks", [])
    rec = out.setdefault("recording", {})
    rec.setdefault("uid", None)
    meta = out.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    _move_clashes(meta)
    equipment = meta.get("equipment")
    if isinstance(equipment, str):
        meta["equipment"] = {"recorder": equipment}
    time = meta.get("time")
    if not isinstance(time, dict):
        meta["time"] = {
            "start_utc": rec.get("start_utc"),
            "start_local": rec.get("start_local"),
            "utc_offset": _offset(rec.get("start_local")),
            "timezone": None,
        }
    out["metadata"] = meta
    for marker in out.get("markers") or []:
        if isinstance(marker, dict):
            marker.setdefault("length_frames", 0)
    return out


#: ``MIGRATIONS[n]`` upgrades a version-n sidecar dict to version n+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: v1_to_v2}

__all__ = ["MIGRATIONS", "v1_to_v2"]
