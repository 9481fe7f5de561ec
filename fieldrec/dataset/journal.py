"""The resume journal: one JSON file per finished take, named by the fingerprint of its work.

``fingerprint`` hashes (source SHA-256, every parameter that changes an output byte, fieldrec's version):
a changed source or parameter gives another fingerprint, so that take is redone; an unchanged one is
skipped once its outputs are checked against their recorded SHA-256. Entries are written whole with
``os.replace``, so an export killed at any moment leaves complete entries or none.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

JOURNAL_DIR = ".fieldrec/journal"


def fingerprint(parts: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``parts``."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_path(out_dir: Path, key: str) -> Path:
    return out_dir / JOURNAL_DIR / f"{key}.json"


def read_entry(out_dir: Path, key: str) -> dict[str, Any] | None:
    """The journal entry for ``key``, or None when there is none or it cannot be read (then redo)."""
    path = entry_path(out_dir, key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_entry(out_dir: Path, key: str, data: dict[str, Any]) -> None:
    path = entry_path(out_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, allow_nan=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
