"""Take numbers: per (project, scene), counting from 1, never colliding with a take already in the folder."""

from __future__ import annotations

import json
from pathlib import Path


def used_takes(folder: Path, project: str, scene: str) -> set[int]:
    """Take numbers the sidecars in ``folder`` already use for this project and scene."""
    used: set[int] = set()
    if not folder.is_dir():
        return used
    for side in folder.glob("*.json"):
        try:
            meta = json.loads(side.read_text(encoding="utf-8")).get("metadata") or {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            continue
        if not isinstance(meta, dict):
            continue
        take = meta.get("take")
        if (meta.get("project") or "") == project and (meta.get("scene") or "") == scene and isinstance(take, int):
            used.add(take)
    return used


def next_take(folder: Path, project: str, scene: str) -> int:
    """One more than the highest take of this scene in ``folder`` (1 for a new scene)."""
    used = used_takes(folder, project, scene)
    return max(used) + 1 if used else 1
