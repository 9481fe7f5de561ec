"""Markers of a finished take: points and regions, edited after the take and saved to its sidecar.

A marker is a ``frame`` (position in the file, frames from its first frame) and a ``label``; a region also
has a ``length`` in frames (0 = a point). In the sidecar a marker is ``{"frame", "time_s", "label"}`` and a
region adds ``"length_frames"`` (schema v1, optional key).

``save_markers(sidecar, markers)`` is THE save: it re-reads the sidecar, replaces its ``markers`` and writes
it atomically (``storage.sidecar.write_sidecar``). When the metadata work adds the chunk rewrite (cue and
LIST/adtl in the WAV), it goes in that one function.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fieldrec.library.index import load_sidecar
from fieldrec.metadata.sidecar import Sidecar
from fieldrec.storage.errors import SidecarError, StorageError
from fieldrec.storage.sidecar import sidecar_path, write_sidecar
from fieldrec.storage.take_file import rewrite_take

MAX_LABEL_CHARS = 200


class MarkerError(ValueError):
    """A marker that cannot be placed (outside the take, negative length); one line for people."""


def clean_label(text: str) -> str:
    """A label on one line: tabs, newlines and other control characters become spaces; at most 200 chars."""
    out = "".join(" " if (ch < " " or ch == "\x7f") else ch for ch in str(text))
    return " ".join(out.split())[:MAX_LABEL_CHARS]


@dataclass(frozen=True, order=True)
class TakeMarker:
    frame: int
    length: int = 0
    label: str = ""

    @property
    def end(self) -> int:
        return self.frame + self.length

    @property
    def is_region(self) -> bool:
        return self.length > 0


def markers_from_sidecar(data: dict[str, Any]) -> list[TakeMarker]:
    """The markers of a v1 sidecar dict, sorted by position (bad entries are skipped)."""
    out = []
    for m in data.get("markers") or []:
        if not isinstance(m, dict) or not isinstance(m.get("frame"), int) or isinstance(m.get("frame"), bool):
            continue
        length = m.get("length_frames", 0)
        length = length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else 0
        out.append(TakeMarker(max(0, m["frame"]), length, clean_label(m.get("label") or "")))
    return sorted(out)


def marker_dicts(markers: Iterable[TakeMarker], samplerate: int) -> list[dict[str, Any]]:
    """Sidecar form of ``markers`` (sorted): ``time_s`` = frame / samplerate."""
    out = []
    for m in sorted(markers):
        d: dict[str, Any] = {"frame": int(m.frame), "time_s": m.frame / samplerate, "label": m.label}
        if m.length > 0:
            d["length_frames"] = int(m.length)
        out.append(d)
    return out


def validate_markers(markers: Sequence[TakeMarker], frames: int | None) -> list[TakeMarker]:
    """Markers clamped into the take: raises MarkerError for one that starts outside it or has a negative
    length; a region running past the end is shortened to the end."""
    out = []
    for m in markers:
        if m.frame < 0 or (frames is not None and m.frame > frames):
            raise MarkerError(f"marker {m.label!r} at frame {m.frame} is outside the take (0..{frames})")
        if m.length < 0:
            raise MarkerError(f"marker {m.label!r} has a negative length ({m.length} frames)")
        length = m.length if frames is None else min(m.length, frames - m.frame)
        out.append(TakeMarker(int(m.frame), int(length), clean_label(m.label)))
    return sorted(out)


def resolve_take(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(audio path, sidecar path) from either of them; the sidecar must exist."""
    p = Path(path)
    side = p if p.suffix.lower() == ".json" else sidecar_path(p)
    data = load_sidecar(side)
    name = (data.get("file") or {}).get("name")
    audio = side.parent / name if isinstance(name, str) and name else p
    return audio, side


def load_markers(sidecar: str | os.PathLike[str]) -> tuple[list[TakeMarker], int, int | None]:
    """(markers, samplerate in Hz, frames or None) of the take whose sidecar is ``sidecar``."""
    data = load_sidecar(sidecar)
    audio = data.get("audio") or {}
    sr = audio.get("samplerate")
    if not isinstance(sr, int) or sr <= 0:
        raise MarkerError(f"sidecar {sidecar} has no sample rate; markers need one")
    frames = audio.get("frames") if isinstance(audio.get("frames"), int) else None
    return markers_from_sidecar(data), sr, frames


def save_markers(sidecar: str | os.PathLike[str], markers: Sequence[TakeMarker]) -> list[TakeMarker]:
    """Replace the take's markers in its sidecar, atomically; returns the markers as saved.

    Raises ``SidecarError`` (unreadable/unwritable sidecar) or ``MarkerError`` (a marker outside the take).
    """
    data = load_sidecar(sidecar)
    audio = data.get("audio") or {}
    sr = int(audio.get("samplerate") or 0)
    if sr <= 0:
        raise MarkerError(f"sidecar {sidecar} has no sample rate; markers need one")
    frames = audio.get("frames") if isinstance(audio.get("frames"), int) else None
    if (data.get("recording") or {}).get("state") == "recording":
        frames = None  # still growing: its frame count in the sidecar is not final
    clean = validate_markers(markers, frames)
    data["markers"] = marker_dicts(clean, sr)
    audio_path = Path(sidecar).with_name(str((data.get("file") or {}).get("name") or ""))
    if frames is not None and audio_path.is_file() and audio_path != Path(sidecar):
        # a finished take: its cue/labl chunks are rewritten too (new file, fsync, rename; the audio's hash
        # is checked first), exactly as `fieldrec edit` does
        try:
            model = rewrite_take(audio_path, Sidecar.model_validate(data))
        except ValidationError as err:
            raise SidecarError(f"sidecar {sidecar} does not pass the schema: {err.errors()[0]['msg']}") from None
        except StorageError as err:  # the audio changed outside fieldrec (its hash), or the file cannot be rewritten
            raise SidecarError(str(err)) from None
        write_sidecar(sidecar, model)
    else:
        write_sidecar(sidecar, data)
    return clean
