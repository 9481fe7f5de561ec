"""Finding and reading source takes. ``load_take`` is THE one reader of take metadata for the export.

Sidecars are read (and migrated to the current schema) with ``fieldrec.storage.sidecar.read_sidecar``.
Audio files without a fieldrec sidecar (other recorders' takes, any WAV/FLAC) are read with the import
reader, ``fieldrec.library.importer.read_foreign``: what their bext, iXML, GUANO, INFO and cue chunks (FLAC:
Vorbis comments) say becomes the take's metadata and markers, as ``fieldrec import`` would map it, and the
values as read are kept under ``imported``; other formats (AIFF, W64) and files whose chunks cannot be
walked get empty metadata (the reason under ``imported.problems``). Their analysis is measured with
``fieldrec.analyze.analyze_file`` when a quality filter needs it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fieldrec.analyze import analyze_file
from fieldrec.dataset.records import TakeRecord
from fieldrec.library.importer import ImportError_, read_foreign
from fieldrec.metadata import empty_metadata
from fieldrec.storage.chunk_map import parse_start
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


def foreign_sidecar(audio: Path, fmt: str) -> dict:
    """The sidecar dict of a file without one: its embedded metadata through the import reader."""
    sidecar: dict = {"metadata": empty_metadata(), "markers": [], "recording": {}, "analysis": None}
    if _CONTAINERS.get(fmt) not in ("wav", "flac") or fmt == "W64":
        return sidecar
    try:
        foreign = read_foreign(audio)
    except ImportError_ as err:  # e.g. a big-endian RIFX file: libsndfile plays it, the chunk walk does not
        sidecar["imported"] = {"source": str(audio), "problems": [str(err)]}
        return sidecar
    t = foreign.metadata.time
    local = parse_start(t.start_local)
    sidecar.update(metadata=foreign.metadata.model_dump(mode="json"), markers=foreign.markers,
                   imported={**foreign.imported, "problems": foreign.notes},
                   recording={"state": "complete", "stop_reason": "imported", "uid": foreign.uid,
                              "start_utc": t.start_utc if t.start_utc and t.start_utc.endswith("Z") else None,
                              # the sidecar's start_local carries its UTC offset; a naive time stays in metadata
                              "start_local": t.start_local if local is not None and local.tzinfo else None})
    ref = (foreign.imported.get("bext") or {}).get("time_reference")
    if isinstance(ref, int) and ref > 0:  # the bext time reference as the recorder wrote it, to the sample
        sidecar["recording"]["time_reference"] = ref
    return sidecar


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
        sidecar = foreign_sidecar(audio, info.format)
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
