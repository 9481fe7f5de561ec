"""Finding and reading source takes. ``load_take`` is THE one reader of take metadata for the export.

Today it reads version-1 sidecars with ``fieldrec.storage.sidecar.read_sidecar``; when the typed metadata
model (schema version 2, ``fieldrec.metadata``) lands, only ``load_take`` changes. Audio files without a
fieldrec sidecar (other recorders' takes, any WAV/FLAC) become takes with empty metadata; their analysis is
measured with ``fieldrec.analyze.analyze_file`` when a quality filter needs it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fieldrec.analyze import analyze_file
from fieldrec.dataset.records import TakeRecord
from fieldrec.metadata import empty_metadata
from fieldrec.storage.errors import SidecarError
from fieldrec.storage.reader import AudioFileError, open_info
from fieldrec.storage.sidecar import read_sidecar, sidecar_path

#: audio file suffixes an export picks up in folders (lower case)
AUDIO_SUFFIXES = (".wav", ".flac", ".rf64", ".w64", ".aif", ".aiff")
_CONTAINERS = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "W64": "wav", "FLAC": "flac", "AIFF": "aiff"}


class SourceError(Exception):
    """A source that cannot be exported; ``str(err)`` is one line for the reject ledger."""


def discover(sources: list[str | os.PathLike[str]], exclude: Path | None = None) -> list[Path]:
    """Audio files under the given folders (recursive) and files, sorted, without duplicates.

    Raises ``FileNotFoundError`` naming the first source that does not exist. Files inside ``exclude``
    (the dataset folder itself) and hidden files are skipped.
    """
    found: set[Path] = set()
    excl = exclude.resolve() if exclude is not None else None
    for src in sources:
        p = Path(src).expanduser()
        if not p.exists():
            raise FileNotFoundError(str(p))
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                rootp = Path(root).resolve()
                if excl is not None and (rootp == excl or excl in rootp.parents):
                    dirs[:] = []
                    continue
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in files:
                    if not name.startswith(".") and name.lower().endswith(AUDIO_SUFFIXES):
                        found.add(rootp / name)
        elif p.suffix.lower() == ".json":
            found.add(_audio_for_sidecar(p.resolve()))
        else:
            found.add(p.resolve())
    return sorted(found)


def _audio_for_sidecar(path: Path) -> Path:
    for suffix in AUDIO_SUFFIXES:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.exists():
                return candidate
    return path.with_suffix(".wav")  # reported as missing by load_take


def load_take(path: str | os.PathLike[str], *, analyse: bool = False) -> TakeRecord:
    """Read one take: its audio header and, when present, its fieldrec sidecar.

    ``analyse`` measures a plain audio file (no sidecar) with ``analyze_file`` so quality filters can judge
    it. Raises ``SourceError`` (one line) for a missing, unreadable or truncated audio file, a corrupt
    sidecar, or a sidecar whose header facts disagree with the audio file.
    """
    audio = Path(path)
    try:
        info, handle = open_info(audio)
        handle.close()
    except AudioFileError as err:
        raise SourceError(str(err)) from None
    side = sidecar_path(audio)
    sidecar: dict = {}
    if side.exists():
        try:
            sidecar = read_sidecar(side)
        except SidecarError as err:
            raise SourceError(str(err)) from None
        declared = (sidecar.get("audio") or {})
        if declared.get("samplerate") not in (None, info.samplerate) or declared.get("channels") not in (
                None, info.channels):
            raise SourceError(f"{audio.name}: the sidecar says {declared.get('samplerate')} Hz / "
                              f"{declared.get('channels')} ch but the file is {info.samplerate} Hz / "
                              f"{info.channels} ch; the sidecar belongs to another file")
    else:
        sidecar = {"metadata": empty_metadata(), "markers": [], "recording": {}, "analysis": None}
        if analyse:
            try:
                sidecar["analysis"] = analyze_file(audio)
            except AudioFileError as err:
                raise SourceError(str(err)) from None
    return TakeRecord(
        take_id=audio.stem,
        audio_path=str(audio.resolve()),
        sidecar_path=str(side.resolve()) if side.exists() else None,
        samplerate=info.samplerate,
        channels=info.channels,
        frames=info.frames,
        container=_CONTAINERS.get(info.format, info.format.lower()),
        subtype=info.subtype,
        sidecar=sidecar,
    )
