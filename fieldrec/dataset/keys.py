"""Metadata keys by name: what ``--group-by``, ``--stratify-by``, ``--label-by`` and ``--where`` look up.

Named keys: ``take`` (the file stem), ``site`` / ``location`` (location name), ``session`` (the metadata's
``session`` or else the take's folder name), ``day`` (local date of the take's start, YYYY-MM-DD),
``recorder`` (equipment recorder, else the input device's name), ``tag`` (the first tag), ``tags``
(the list; as a group or label, joined by ``;``), ``duration`` (seconds). Any other word is a dotted path into the sidecar
(``recording.device.name``, ``analysis.snr_db``), tried under ``metadata`` first (``habitat`` means
``metadata.habitat``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldrec.dataset.records import TakeRecord

NAMED_KEYS = ("take", "site", "location", "session", "day", "recorder", "tag", "tags", "duration")


def _dig(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def key_value(take: TakeRecord, key: str) -> Any:
    """The value of ``key`` for ``take`` (None when the take does not have it)."""
    meta = take.metadata
    if key == "take":
        # the files of one split family (`record --split`) are one take: never in two splits
        family = _dig(meta, ["field", "family", "id"])
        return f"family:{family}" if family else take.take_id
    if key in ("site", "location"):
        return (meta.get("location") or {}).get("name") or None
    if key == "session":
        return meta.get("session") or Path(take.audio_path).parent.name or None
    if key == "day":
        start = take.recording.get("start_local") or take.recording.get("start_utc")
        return start[:10] if isinstance(start, str) and len(start) >= 10 else None
    if key == "recorder":
        return (meta.get("equipment") or {}).get("recorder") or (take.recording.get("device") or {}).get("name") or None
    if key == "tag":
        tags = meta.get("tags") or []
        return tags[0] if tags else None
    if key == "tags":
        return list(meta.get("tags") or []) or None
    if key == "duration":
        return take.duration_s
    path = key.split(".")
    value = _dig(meta, path)
    if value is None:
        value = _dig(take.sidecar, path)
    return value


def key_text(take: TakeRecord, key: str) -> str:
    """``key_value`` as text ("" when missing); lists are joined by ``;``."""
    value = key_value(take, key)
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)
