"""Presets: equipment profiles and project templates, one JSON file each in the user config folder
(``platformdirs.user_config_dir("fieldrec")/presets/NAME.json``), holding a partial metadata dict.

``fieldrec preset list|show|save|delete`` and ``fieldrec record --preset NAME`` use them; flags given on the
command line win over the preset's values (``merge``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import platformdirs

from fieldrec.metadata.model import MetadataError, parse_metadata

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


class PresetError(ValueError):
    """A preset that is missing, badly named or invalid; one line."""


def preset_dir() -> Path:
    return Path(platformdirs.user_config_dir("fieldrec", appauthor=False)) / "presets"


def _path(name: str) -> Path:
    if not _NAME.match(name) or ".." in name:
        raise PresetError(f"preset name {name!r} is not allowed; use letters, digits, space, '-', '_', '.'")
    return preset_dir() / f"{name}.json"


def list_presets() -> list[str]:
    folder = preset_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def load_preset(name: str) -> dict[str, Any]:
    """The preset's metadata (a partial dict, validated)."""
    path = _path(name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(list_presets()) or "none saved yet"
        raise PresetError(f"no preset named {name!r} (known: {known})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PresetError(f"preset {name!r} cannot be read ({exc}); delete and save it again") from None
    meta = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(meta, dict):
        raise PresetError(f"preset {name!r} has no metadata object; delete and save it again")
    _model, errors = parse_metadata(meta)
    if errors:
        raise PresetError(f"preset {name!r}: {MetadataError(errors)}")
    return meta


def save_preset(name: str, metadata: dict[str, Any]) -> Path:
    """Save (or replace) a preset atomically; raises ``PresetError`` for invalid metadata."""
    path = _path(name)
    model, errors = parse_metadata(metadata)
    if errors:
        raise PresetError(str(MetadataError(errors)))
    # stored as the model reads it (a latitude typed as "51.5" is the number 51.5), only the fields given
    typed = model.model_dump(mode="json", exclude_unset=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"name": name, "metadata": typed}, indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


def delete_preset(name: str) -> None:
    path = _path(name)
    try:
        path.unlink()
    except FileNotFoundError:
        raise PresetError(f"no preset named {name!r}") from None


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` laid over it, nested dicts merged, lists and values replaced."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
