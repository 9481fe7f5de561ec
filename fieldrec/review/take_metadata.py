"""The metadata of a finished take, edited after the take: THE save for ``fieldrec edit`` and the review view.

``save_take_metadata(audio, metadata)`` validates the recordist's fields, rewrites the take's chunks (bext,
iXML, INFO, guan: a new file, fsync, rename, the audio hash checked first; ``storage.take_file.rewrite_take``)
and then writes the sidecar atomically. Anything refused raises before a byte is written: invalid fields
(``MetadataError``, naming each field), a take still recording or cut off, a read-only file, audio that no
longer matches the sidecar's hash (``StorageError``, one line).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from fieldrec.metadata import MetadataError, validate_metadata
from fieldrec.metadata.sidecar import Sidecar
from fieldrec.storage.errors import StorageError
from fieldrec.storage.sidecar import read_sidecar_model, sidecar_path, write_sidecar
from fieldrec.storage.take_file import rewrite_take


def _refuse_read_only(path: Path) -> None:
    """A file whose write bits are all off was made read-only on purpose (an archive): never replaced, even by
    root, for whom the permission alone would not stop the rename."""
    try:
        mode = path.stat().st_mode
    except OSError as err:
        raise StorageError(f"cannot edit {path.name}: {err.strerror or err}") from None
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise StorageError(f"{path.name} is read-only; not editing (make it writable to edit it)")


def write_take_metadata(audio: str | os.PathLike[str], sc: Sidecar, clean: dict[str, Any]) -> Sidecar:
    """Put the validated metadata ``clean`` into the finished take ``audio`` whose sidecar is ``sc``: chunks
    first (audio hash checked), then the sidecar. Returns the sidecar as written."""
    audio = Path(audio)
    side = sidecar_path(audio)
    if sc.recording.state == "recording":
        raise StorageError(f"{audio.name}: the take is still recording or was cut off; run fieldrec check --repair")
    for path in (audio, side):
        _refuse_read_only(path)
    new = sc.model_copy(update={"metadata": sc.metadata.model_validate(clean)})
    new = rewrite_take(audio, new)
    write_sidecar(side, new)
    return new


def save_take_metadata(audio: str | os.PathLike[str], metadata: dict[str, Any]) -> dict[str, Any]:
    """Validate ``metadata`` (the recordist's fields) and save it to the finished take ``audio``; returns the
    clean metadata as saved. Raises ``MetadataError`` (invalid fields) or ``StorageError`` (refused)."""
    clean, errors = validate_metadata(metadata)
    if errors:
        raise MetadataError(errors)
    sc = read_sidecar_model(sidecar_path(Path(audio)))
    return write_take_metadata(audio, sc, clean).metadata.model_dump(mode="json")


def read_take_metadata(audio: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata of the take ``audio`` as its sidecar holds it (``SidecarError`` when unreadable)."""
    return read_sidecar_model(sidecar_path(Path(audio))).metadata.model_dump(mode="json")
