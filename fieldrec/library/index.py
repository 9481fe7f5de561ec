"""The index of takes under one or more folders, built from their sidecars.

``scan(folders)`` walks the folders (recursively), reads every ``<stem>.json`` sidecar through
``load_sidecar`` and returns one ``TakeRecord`` per take, sorted by start time. Audio files
(``.wav``/``.flac``) without a sidecar get a record too, marked with the problem. The checks are the cheap
ones of ``fieldrec check``: missing sidecar or audio file, unreadable sidecar, audio size different from the
sidecar's ``file.bytes``, frames in the audio header different from ``audio.frames`` (the header is opened
only when the size differs or the audio is newer than its sidecar: a take's sidecar is written after its
audio, so an untouched take needs two ``stat`` calls), an interrupted take.
The SHA-256 comparison reads the whole file, so it runs only on demand (``verify_hash``).

Only ``load_sidecar`` reads sidecars: when the typed metadata model replaces the v1 dict, that one function
changes (it must keep returning a v1-shaped dict, or ``record_from_sidecar`` changes with it).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import soundfile as sf

from fieldrec.storage.errors import SidecarError
from fieldrec.storage.hashing import sha256_file
from fieldrec.storage.sidecar import SCHEMA_VERSION, read_sidecar

AUDIO_SUFFIXES = (".wav", ".flac", ".rf64")


def load_sidecar(path: str | os.PathLike[str]) -> dict[str, Any]:
    """THE way the library and review read a sidecar: a schema-v1 dict; raises ``SidecarError``.

    A sidecar already at ``SCHEMA_VERSION`` is returned as parsed (``read_sidecar`` deep-copies it to
    migrate, which triples the cost of listing a thousand takes); anything else (an old version, a file that
    is missing, not UTF-8, not JSON, not an object) goes through ``read_sidecar`` for its migration or its
    one-line error.
    """
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return read_sidecar(path)
    version = data.get("schema_version") if isinstance(data, dict) else None
    if type(version) is int and version == SCHEMA_VERSION:
        return data
    return read_sidecar(path)


@dataclass(frozen=True)
class TakeRecord:
    """One take as the library lists it. Levels in dBFS/dBTP/LUFS/dB, ``None`` where unknown or undefined."""

    stem: str
    folder: Path
    sidecar: Path | None  #: None when the audio has no sidecar
    audio: Path | None  #: None when the sidecar names no file
    start: datetime | None  #: local start time (with its UTC offset)
    duration_s: float | None
    samplerate: int | None
    channels: int | None
    frames: int | None
    location: str = ""
    scene: str = ""
    take: str = ""
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  #: marker labels, in file order
    markers: int = 0
    sample_peak_dbfs: float | None = None
    true_peak_dbtp: float | None = None
    clipped_samples: int | None = None
    integrated_lufs: float | None = None
    noise_floor_dbfs: float | None = None
    snr_db: float | None = None
    stop_reason: str = ""
    state: str = ""
    overflows: int = 0
    notes: str = ""
    sidecar_bytes: int | None = None  #: ``file.bytes`` of the sidecar
    sha256: str | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def clipped(self) -> bool:
        return bool(self.clipped_samples)

    @property
    def key(self) -> str:
        """A stable identity of the take (its sidecar path, else its audio path)."""
        return str(self.sidecar or self.audio)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dig(data: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def record_from_sidecar(sidecar: Path, data: dict[str, Any]) -> TakeRecord:
    """The library row of a v1 sidecar dict (no file-system checks; see ``check_record``)."""
    audio_name = _dig(data, "file", "name")
    audio = sidecar.parent / audio_name if isinstance(audio_name, str) and audio_name else None
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    analysis = data.get("analysis") if isinstance(data.get("analysis"), dict) else {}
    rec = data.get("recording") if isinstance(data.get("recording"), dict) else {}
    markers = data.get("markers") if isinstance(data.get("markers"), list) else []
    labels = tuple(_text(m.get("label")) for m in markers if isinstance(m, dict) and _text(m.get("label")))
    tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
    extra_labels = meta.get("labels") if isinstance(meta.get("labels"), list) else []
    location = meta.get("location")
    location_name = _text(location.get("name")) if isinstance(location, dict) else _text(location)
    sr = _int(_dig(data, "audio", "samplerate"))
    frames = _int(_dig(data, "audio", "frames"))
    duration = _num(_dig(data, "audio", "duration_s"))
    if duration is None and sr and frames is not None:
        duration = frames / sr
    overflows = rec.get("overflows") if isinstance(rec.get("overflows"), list) else []
    return TakeRecord(
        stem=sidecar.stem,
        folder=sidecar.parent,
        sidecar=sidecar,
        audio=audio,
        start=_parse_time(rec.get("start_local")) or _parse_time(rec.get("start_utc")),
        duration_s=duration,
        samplerate=sr,
        channels=_int(_dig(data, "audio", "channels")),
        frames=frames,
        location=location_name,
        scene=_text(meta.get("scene") or _dig(meta, "slate", "scene")),
        take=_text(meta.get("take") or _dig(meta, "slate", "take")),
        tags=tuple(_text(t) for t in tags if _text(t)),
        labels=tuple(_text(t) for t in extra_labels if _text(t)) + labels,
        markers=len(markers),
        sample_peak_dbfs=_num(analysis.get("sample_peak_dbfs")),
        true_peak_dbtp=_num(analysis.get("true_peak_dbtp")),
        clipped_samples=_int(analysis.get("clipped_samples")),
        integrated_lufs=_num(analysis.get("integrated_lufs")),
        noise_floor_dbfs=_num(analysis.get("noise_floor_dbfs")),
        snr_db=_num(analysis.get("snr_db")),
        stop_reason=_text(rec.get("stop_reason")),
        state=_text(rec.get("state")),
        overflows=len(overflows),
        notes=_text(meta.get("notes")),
        sidecar_bytes=_int(_dig(data, "file", "bytes")),
        sha256=_dig(data, "file", "sha256") if isinstance(_dig(data, "file", "sha256"), str) else None,
    )


def check_record(record: TakeRecord, *, header: bool = True) -> TakeRecord:
    """``record`` with the cheap problems of ``fieldrec check`` filled in (a stat, and with ``header`` the
    audio header's frame count). Each problem is one line for people."""
    problems = list(record.problems)
    if record.sidecar is None:
        problems.append("no sidecar: the take's metadata is missing (run `fieldrec check` to rebuild it)")
    if record.audio is None:
        if record.sidecar is not None:
            problems.append("the sidecar names no audio file")
        return replace(record, problems=tuple(problems))
    try:
        st = record.audio.stat()
        size = st.st_size
    except FileNotFoundError:
        problems.append(f"audio file {record.audio.name} is missing")
        return replace(record, problems=tuple(problems))
    except OSError as err:
        problems.append(f"audio file {record.audio.name} cannot be read: {err.strerror}")
        return replace(record, problems=tuple(problems))
    if record.sidecar is not None:
        if record.state == "recording":
            problems.append("interrupted: the sidecar still says 'recording' (crash or power cut); "
                            "`fieldrec check` can repair it")
        elif record.sidecar_bytes is not None and record.sidecar_bytes != size:
            problems.append(f"size mismatch: the audio file has {size} bytes, the sidecar says "
                            f"{record.sidecar_bytes}")
    if header and record.frames is not None and record.state != "recording" and (
            size != record.sidecar_bytes or _newer_than_sidecar(record, st.st_mtime)):
        try:
            frames = sf.info(str(record.audio)).frames
        except (sf.LibsndfileError, RuntimeError, OSError):
            problems.append(f"audio file {record.audio.name} is not readable audio")
        else:
            if frames != record.frames:
                problems.append(f"frame mismatch: the audio header has {frames} frames, the sidecar says "
                                f"{record.frames}")
    return replace(record, problems=tuple(problems))


def _newer_than_sidecar(record: TakeRecord, audio_mtime: float) -> bool:
    """True when the audio was modified after its sidecar was last written (by more than 2 s)."""
    if record.sidecar is None:
        return True
    try:
        return audio_mtime > record.sidecar.stat().st_mtime + 2.0
    except FileNotFoundError:  # removed since it was read: check the header
        return True


def verify_hash(record: TakeRecord) -> TakeRecord:
    """``record`` with a problem added when the audio's SHA-256 differs from the sidecar's (reads the file)."""
    if record.audio is None or record.sha256 is None:
        return record
    try:
        digest = sha256_file(record.audio)
    except OSError as err:
        return replace(record, problems=(*record.problems, f"cannot hash {record.audio.name}: {err.strerror}"))
    if digest != record.sha256:
        return replace(record, problems=(*record.problems,
                                         "hash mismatch: the audio changed since the take was recorded"))
    return record


def _walk(folder: Path) -> Iterable[tuple[Path, list[str]]]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        yield Path(root), files


def folders_under(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every folder (the given ones and their non-hidden subfolders) the library looks in and watches."""
    out: list[Path] = []
    for folder in folders:
        out.extend(root for root, _files in _walk(Path(folder)))
    return out


def scan(folders: Iterable[str | os.PathLike[str]], *, header: bool = True) -> list[TakeRecord]:
    """One checked ``TakeRecord`` per take under ``folders`` (recursive), sorted by start time then name.

    A folder that does not exist raises ``FileNotFoundError``; an unreadable sidecar becomes a row with the
    problem when an audio file of the same stem is there (otherwise the JSON is not a take and is skipped).
    """
    records: list[TakeRecord] = []
    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder")
        for root, files in _walk(folder):
            names = set(files)
            audio_by_stem = {Path(n).stem: n for n in files if Path(n).suffix.lower() in AUDIO_SUFFIXES}
            covered: set[str] = set()
            for name in sorted(names):
                if not name.endswith(".json") or name.startswith("."):
                    continue
                path = root / name
                if path in seen:
                    continue
                seen.add(path)
                stem = path.stem
                try:
                    data = load_sidecar(path)
                except SidecarError as err:
                    if stem in audio_by_stem:
                        covered.add(audio_by_stem[stem])
                        records.append(check_record(TakeRecord(
                            stem=stem, folder=root, sidecar=path, audio=root / audio_by_stem[stem], start=None,
                            duration_s=None, samplerate=None, channels=None, frames=None,
                            problems=(f"unreadable sidecar: {err}",)), header=False))
                    continue
                record = record_from_sidecar(path, data)
                if record.audio is not None:
                    covered.add(record.audio.name)
                records.append(check_record(record, header=header))
            for stem, name in sorted(audio_by_stem.items()):
                if name not in covered:
                    records.append(check_record(TakeRecord(
                        stem=stem, folder=root, sidecar=None, audio=root / name, start=None, duration_s=None,
                        samplerate=None, channels=None, frames=None), header=False))
    records.sort(key=lambda r: (r.start.timestamp() if r.start else float("inf"), r.stem))
    return records
