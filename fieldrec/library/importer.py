"""``fieldrec import``: bring a take made by another recorder (Sound Devices, Zoom, AudioMoth, or fieldrec
itself) into a fieldrec folder: the audio copied bit-identically (verified by SHA-256; the source is never
written), a sidecar with the embedded metadata mapped into the model (``location.source: imported``), the
original values verbatim under ``imported``, and the analysis computed from the file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import soundfile as sf

from fieldrec.analyze import analyze_file
from fieldrec.metadata.model import Metadata, parse_metadata
from fieldrec.metadata.sidecar import (
    AudioInfo,
    FileInfo,
    Marker,
    Recording,
    Sidecar,
    iso_utc,
    set_file_hashes,
)
from fieldrec.storage.chunk_map import metadata_from_embedded, raw_values, read_embedded
from fieldrec.storage.embed import take_hashes
from fieldrec.storage.errors import StorageError
from fieldrec.storage.naming import reserve_take_path
from fieldrec.storage.reader import AudioFileError
from fieldrec.storage.riff import RiffError, read_riff
from fieldrec.storage.sidecar import sidecar_path, write_sidecar

_CONTAINERS = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "FLAC": "flac"}


class ImportError_(StorageError):
    """A source that cannot be imported (not audio, unreadable); one line."""


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Foreign:
    """What a file made by another recorder says about itself, read without writing anything.

    ``metadata``: the model mapped from its embedded chunks (WAV: iXML, bext, GUANO, INFO; FLAC: the Vorbis
    comments libsndfile reads); ``markers``: its cue points as marker dicts; ``imported``: every embedded
    value verbatim; ``uid``: its bext OriginatorReference (``None`` when it has none); ``notes``: problems
    found but not fatal (a malformed chunk, a field that failed validation)."""

    info: Any
    container: str
    metadata: Metadata
    markers: list[dict[str, Any]] = field(default_factory=list)
    imported: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def uid(self) -> str | None:
        return (self.imported.get("bext") or {}).get("originator_reference") or None


def read_foreign(src: Path) -> Foreign:
    """THE reader of a foreign file's embedded metadata (``fieldrec import`` and the export's sources use
    it). Raises ``ImportError_`` (one line) when the file is not audio fieldrec reads."""
    try:
        info = sf.info(str(src))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        reason = " ".join(str(exc).split()).rsplit(": ", 1)[-1] or "unreadable"
        raise ImportError_(f"{src}: not an audio file fieldrec can read ({reason})") from None
    container = _CONTAINERS.get(info.format)
    if container is None:
        raise ImportError_(f"{src}: {info.format} files are not imported; use WAV, RF64 or FLAC")
    notes: list[str] = []
    meta: dict[str, Any] = {}
    markers: list[dict[str, Any]] = []
    imported: dict[str, Any] = {"source": str(src), "format": info.format, "subtype": info.subtype}
    if container == "wav":
        try:
            embedded = read_embedded(read_riff(src))
        except RiffError as err:
            raise ImportError_(str(err)) from None
        notes.extend(embedded.problems)
        meta, markers = metadata_from_embedded(embedded, int(info.samplerate))
        imported.update(raw_values(embedded))
    else:  # FLAC: the Vorbis comments libsndfile reads
        try:
            with sf.SoundFile(str(src)) as snd:
                tags = {k: v for k, v in snd.copy_metadata().items() if v}
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            tags = {}
            notes.append(f"tags not read: {' '.join(str(exc).split())}")
        imported["vorbis"] = tags
        for tag, key in (("comment", "notes"), ("artist", "recordist"), ("copyright", "licence"),
                         ("album", "project")):
            if tags.get(tag):
                meta[key] = tags[tag]
    model, errors = parse_metadata(meta)
    for name, message in errors.items():
        notes.append(f"embedded {name} ignored: {message}")
    return Foreign(info, container, model, markers, imported, notes)


def import_file(src: Path, out_dir: Path) -> tuple[Path, Sidecar, list[str]]:
    """Import one file; returns (new audio path, its sidecar, problems noted but not fatal)."""
    foreign = read_foreign(src)
    info, container, model, markers, imported = (foreign.info, foreign.container, foreign.metadata,
                                                  foreign.markers, foreign.imported)
    notes = list(foreign.notes)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = reserve_take_path(out_dir, src.stem, src.suffix.lstrip(".").lower() or container)
    source_sha = _sha(src)
    tmp = dest.with_name(f".{dest.name}.import.tmp")
    try:
        shutil.copyfile(src, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if _sha(tmp) != source_sha:
            raise ImportError_(f"{src}: the copy differs from the source; nothing imported")
        os.replace(tmp, dest)
    except OSError as exc:
        dest.unlink(missing_ok=True)
        raise ImportError_(f"{src}: cannot copy to {out_dir}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    try:
        analysis = analyze_file(dest)
        analysis.pop("file", None)
    except AudioFileError as err:
        analysis = None
        notes.append(f"{src.name} could not be analysed: {err}")
    mtime = datetime.fromtimestamp(src.stat().st_mtime, UTC)
    start = model.time.start_utc
    subtype = info.subtype if info.subtype in ("PCM_16", "PCM_24", "PCM_32", "FLOAT") else None
    if subtype is None:
        raise ImportError_(f"{src}: sample format {info.subtype} is not one fieldrec keeps; convert it first")
    sc = Sidecar(
        file=FileInfo(name=dest.name),
        audio=AudioInfo(samplerate=int(info.samplerate), channels=int(info.channels), container=container,
                        subtype=subtype, frames=int(info.frames), duration_s=info.frames / info.samplerate),
        recording=Recording(state="complete", start_utc=start if start and start.endswith("Z") else None,
                            end_utc=iso_utc(mtime), stop_reason="imported",
                            uid=foreign.uid),
        metadata=model, markers=[Marker.model_validate(m) for m in markers], analysis=analysis,
        imported=imported,
    )
    whole, audio = take_hashes(dest)
    if whole != source_sha:
        raise ImportError_(f"{src}: the imported file's hash changed; nothing imported")
    sc = set_file_hashes(sc, size=dest.stat().st_size, sha256=whole, audio_sha256=audio)
    write_sidecar(sidecar_path(dest), sc)
    return dest, sc, notes


def iter_sources(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")
                              and x.suffix.lower() != ".json"))
        else:
            out.append(p)
    return out
