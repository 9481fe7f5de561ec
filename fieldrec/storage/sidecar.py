"""The JSON sidecar next to each take: the source of truth for its metadata.

``<stem>.json`` beside ``<stem>.wav``; written atomically (temp file in the same folder, fsync, rename,
fsync of the folder) so a crash leaves either the old or the new sidecar, never half of one.
The JSON Schema is ``fieldrec/schemas/sidecar.schema.json`` (copy in ``docs/sidecar.schema.json``), generated
from ``fieldrec.metadata.sidecar.Sidecar``.

``write_sidecar`` takes a ``Sidecar`` model or a plain dict; ``read_sidecar`` returns the migrated dict (what
older callers expect) and ``read_sidecar_model`` the validated ``Sidecar``.
"""

import copy
import json
import os
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fieldrec.metadata.migrations import MIGRATIONS as _MIGRATIONS
from fieldrec.metadata.model import error_messages
from fieldrec.metadata.sidecar import SCHEMA_VERSION, Sidecar
from fieldrec.storage.errors import SidecarError

#: ``MIGRATIONS[n]`` upgrades a version-n sidecar dict to version n+1 (``fieldrec.metadata.migrations``).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = _MIGRATIONS


def sidecar_path(audio_path: str | Path) -> Path:
    """The sidecar path for an audio file: same folder and stem, suffix ``.json``."""
    return Path(audio_path).with_suffix(".json")


def load_schema() -> dict[str, Any]:
    """The sidecar JSON Schema (draft 2020-12) shipped as package data."""
    text = resources.files("fieldrec").joinpath("schemas", "sidecar.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def write_sidecar(path: str | Path, data: Sidecar | dict[str, Any]) -> None:
    """Write ``data`` (a ``Sidecar`` or its dict) as pretty UTF-8 JSON to ``path`` atomically (readers never
    see a partial file).

    Raises ``SidecarError`` for data JSON cannot hold (NaN, infinity, non-string keys, objects) or when the
    folder is not writable; the previous sidecar, if any, is left untouched.
    """
    path = Path(path)
    if isinstance(data, Sidecar):
        data = data.model_dump(mode="json")
    if not isinstance(data, dict):
        raise SidecarError(f"sidecar data must be a dict, got {type(data).__name__}")
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (ValueError, TypeError) as exc:
        raise SidecarError(f"sidecar for {path.name} cannot be saved as JSON: {exc}; use null for missing numbers") from None
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise SidecarError(f"cannot write sidecar in {folder}: {exc.strerror}; choose a writable folder") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise SidecarError(f"cannot write sidecar {path}: {exc.strerror}; check free space and permissions") from None
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible on every platform (Windows); the rename is still atomic
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """Read a sidecar and return it migrated to ``SCHEMA_VERSION``.

    Raises ``SidecarError`` (one line) when the file is missing, not UTF-8 JSON, not an object, has no
    integer ``schema_version``, or was written by a newer fieldrec.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SidecarError(f"sidecar {path} not found; it is created when a take starts") from None
    except OSError as exc:
        raise SidecarError(f"cannot read sidecar {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SidecarError(f"sidecar {path} is not UTF-8 text; restore it from a backup") from None
    except json.JSONDecodeError as exc:
        raise SidecarError(f"sidecar {path} is corrupt JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                           "restore it from a backup") from None
    if not isinstance(data, dict):
        raise SidecarError(f"sidecar {path} holds a JSON {type(data).__name__}, not an object; restore it from a backup")
    return migrate(data, source=path)


def read_sidecar_model(path: str | Path) -> Sidecar:
    """Read, migrate and validate a sidecar; raises ``SidecarError`` naming the first invalid field."""
    data = read_sidecar(path)
    return sidecar_model(data, source=path)


def sidecar_model(data: dict[str, Any], source: str | Path | None = None) -> Sidecar:
    """Validate a migrated sidecar dict as the model; ``SidecarError`` (one line) naming the field."""
    try:
        return Sidecar.model_validate(data)
    except ValidationError as err:
        where = f"sidecar {source}" if source is not None else "sidecar"
        field, message = next(iter(error_messages(err).items()))
        raise SidecarError(f"{where}: {field}: {message}") from None


def migrate(data: dict[str, Any], source: str | Path | None = None) -> dict[str, Any]:
    """Return a copy of ``data`` upgraded step by step (``MIGRATIONS``) to ``SCHEMA_VERSION``."""
    where = f"sidecar {source}" if source is not None else "sidecar"
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SidecarError(f"{where} has no integer schema_version; it was not written by fieldrec")
    if version > SCHEMA_VERSION:
        raise SidecarError(f"{where} has schema_version {version}, newer than this fieldrec understands "
                           f"({SCHEMA_VERSION}); update fieldrec")
    data = copy.deepcopy(data)
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SidecarError(f"{where} has schema_version {version}, which cannot be upgraded; "
                               f"it predates fieldrec's sidecar format")
        data = step(data)
        version += 1
        data["schema_version"] = version
    return data
