"""``fieldrec check``: compare each take's audio with its sidecar, and ``--repair`` what can be repaired
without guessing (never the audio samples).

Problems found, one line each: missing sidecar, orphaned sidecar, unreadable sidecar, take cut off by a
crash (the sidecar still says ``recording``), chunk embedding interrupted (bytes past the RIFF size),
frames/format/hash mismatch, metadata chunks missing or different from the sidecar, FLAC of unknown length;
and for the files of a split take (a family): a missing member, an index outside 1..N or given twice, a gap or
an overlap between consecutive files, a member in another format, a member renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import soundfile as sf

from fieldrec import __version__
from fieldrec.analyze import analyze_file
from fieldrec.metadata.sidecar import Sidecar, finish_sidecar, iso_utc, set_file_hashes
from fieldrec.storage.chunk_map import build_chunks, family_fields
from fieldrec.storage.embed import audio_end, embed_in_place, take_hashes
from fieldrec.storage.errors import SidecarError, StorageError
from fieldrec.storage.reader import AudioFileError
from fieldrec.storage.recovery import recover_take
from fieldrec.storage.riff import RiffError, read_riff
from fieldrec.storage.sidecar import read_sidecar_model, sidecar_path, write_sidecar
from fieldrec.storage.take_file import rewrite_take

AUDIO_SUFFIXES = (".wav", ".flac")


@dataclass
class TakeReport:
    """``problems`` still there; ``repaired`` what --repair did; ``notes`` facts that are not problems."""

    path: Path
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "ok": self.ok, "problems": self.problems, "repaired": self.repaired,
                "notes": self.notes}


def find_takes(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(audio files, orphaned sidecars) under ``paths`` (files or folders, recursive)."""
    audio: list[Path] = []
    sidecars: list[Path] = []
    for p in paths:
        items = sorted(p.rglob("*")) if p.is_dir() else [p]
        for item in items:
            if item.name.startswith("."):
                continue
            if item.suffix.lower() in AUDIO_SUFFIXES:
                audio.append(item)
            elif item.suffix.lower() == ".json" and item.is_file():
                sidecars.append(item)
    with_audio = {sidecar_path(a) for a in audio}
    orphans = [s for s in sidecars if s not in with_audio and not any(
        s.with_suffix(x).exists() for x in AUDIO_SUFFIXES)]
    return audio, orphans


def _chunks_differ(path: Path, sc: Sidecar) -> str | None:
    riff = read_riff(path)
    end = audio_end(riff)
    with open(path, "rb") as fh:
        fh.seek(end)
        tail = fh.read()
    if tail.startswith(b"JUNK\0\0\0\0"):
        tail = tail[8:]
    expected = b"".join(body for _n, body in build_chunks(sc, sc.software.version))
    if not tail:
        return "metadata chunks missing"
    if tail != expected:
        return "metadata chunks differ from the sidecar"
    return None


def complete_interrupted(audio: Path, sc: Sidecar) -> tuple[Sidecar, str]:
    """The sidecar of a take cut off by a crash, completed from the file: frames, duration, analysis,
    ``stop_reason: interrupted``, chunks embedded (WAV), both hashes. FLAC is repaired first."""
    done = []
    if sc.audio.container == "flac":
        rec = recover_take(audio)
        if rec.repaired:
            done.append(rec.detail)
    info = sf.info(str(audio))
    frames = int(info.frames)
    try:
        analysis = analyze_file(audio)
        analysis.pop("file", None)
    except AudioFileError:
        analysis = None
    end = datetime.fromtimestamp(audio.stat().st_mtime, UTC)
    final = finish_sidecar(sc, frames=frames, stop_reason="interrupted", end=end, analysis=analysis,
                           state="interrupted", stop_detail="the recording process ended without stopping the take")
    what = f"completed the sidecar of an interrupted take: {frames} frames ({frames / info.samplerate:.3f} s)"
    final.recording.repaired = f"{iso_utc(datetime.now(UTC))}: {what}"
    if sc.audio.container == "wav":
        result = embed_in_place(audio, build_chunks(final, __version__))
        final = set_file_hashes(final, size=result.bytes, sha256=result.sha256, audio_sha256=result.audio_sha256,
                                chunks=list(result.chunks))
    else:
        whole, audio_sha = take_hashes(audio)
        final = set_file_hashes(final, size=audio.stat().st_size, sha256=whole, audio_sha256=audio_sha)
    done.append(what)
    return final, "; ".join(done)


def check_take(audio: Path, repair: bool = False) -> TakeReport:
    """Check one take (its audio file and sidecar); with ``repair`` fix what can be fixed."""
    report = TakeReport(audio)
    side = sidecar_path(audio)
    if not side.exists():
        report.problems.append("no sidecar (.json) beside the audio")
        return report
    try:
        sc = read_sidecar_model(side)
    except SidecarError as err:
        report.problems.append(str(err))
        return report
    try:
        riff = read_riff(audio) if sc.audio.container == "wav" else None
    except RiffError as err:
        report.problems.append(str(err))
        return report
    try:
        if riff is not None and riff.riff_size + 8 < riff.file_size and sc.recording.state != "recording":
            if repair:
                result = embed_in_place(audio, build_chunks(sc, sc.software.version))
                report.repaired.append("cut off an interrupted chunk embedding and embedded the chunks again")
                sc = set_file_hashes(sc, size=result.bytes, sha256=result.sha256, audio_sha256=result.audio_sha256,
                                     chunks=list(result.chunks))
                write_sidecar(side, sc)
            else:
                report.problems.append("chunk embedding was interrupted (bytes past the RIFF size)")
                return report
        if sc.recording.state == "recording":
            if not repair:
                report.problems.append("take cut off by a crash: the sidecar still says 'recording'")
                return report
            sc, what = complete_interrupted(audio, sc)
            write_sidecar(side, sc)
            report.repaired.append(what)
        if sc.recording.state == "interrupted":
            report.notes.append("interrupted take" + (f" ({sc.recording.repaired})" if sc.recording.repaired else ""))
        info = sf.info(str(audio))
        if info.frames >= 2**62:
            report.problems.append("audio of unknown length (a FLAC cut off by a crash); run check --repair")
            return report
        if (info.frames, info.samplerate, info.channels) != (sc.audio.frames, sc.audio.samplerate, sc.audio.channels):
            report.problems.append(f"file has {info.frames} frames at {info.samplerate} Hz / {info.channels} ch, the "
                                   f"sidecar says {sc.audio.frames} at {sc.audio.samplerate} Hz / {sc.audio.channels} ch")
        whole, audio_sha = take_hashes(audio)
        if sc.file.audio_sha256 is not None and audio_sha != sc.file.audio_sha256:
            report.problems.append("audio hash does not match the sidecar: the samples changed")
            return report
        if sc.audio.container == "wav" and sc.recording.stop_reason != "imported":  # imports keep their chunks
            differ = _chunks_differ(audio, sc)
            if differ:
                if repair:
                    sc = rewrite_take(audio, sc)
                    write_sidecar(side, sc)
                    report.repaired.append("rewrote the metadata chunks from the sidecar")
                    whole = sc.file.sha256 or whole
                else:
                    report.problems.append(differ)
        if sc.file.sha256 is not None and whole != sc.file.sha256:
            if repair and (sc.file.audio_sha256 is None or audio_sha == sc.file.audio_sha256):
                sc = set_file_hashes(sc, size=audio.stat().st_size, sha256=whole, audio_sha256=audio_sha,
                                     chunks=sc.file.chunks)
                write_sidecar(side, sc)
                report.repaired.append("updated the file hash (the audio is unchanged)")
            else:
                report.problems.append("file hash does not match the sidecar")
    except (StorageError, OSError, RuntimeError, sf.LibsndfileError) as err:
        report.problems.append(f"{type(err).__name__}: {err}" if not isinstance(err, StorageError) else str(err))
    return report


@dataclass
class _Member:
    path: Path  #: the audio file (or, for a member whose audio is gone, its orphaned sidecar)
    sc: Sidecar
    index: int
    first_frame: int
    total: int | None
    present: bool


def _family_members(audio: list[Path], orphans: list[Path]) -> dict[str, list[_Member]]:
    """Family id -> its members found (sidecars that say ``metadata.field.family``)."""
    families: dict[str, list[_Member]] = {}
    for path, side, present in [(a, sidecar_path(a), True) for a in audio] + [(o, o, False) for o in orphans]:
        if not side.exists():
            continue
        try:
            sc = read_sidecar_model(side)
        except SidecarError:
            continue  # check_take has reported it
        fam = family_fields(sc)
        if fam is None:
            continue
        try:
            index, first = int(fam.get("index")), int(fam.get("first_frame"))
            total = int(fam["total"]) if fam.get("total") is not None else None
        except (TypeError, ValueError):
            families.setdefault(str(fam["id"]), []).append(_Member(path, sc, -1, -1, None, present))
            continue
        families.setdefault(str(fam["id"]), []).append(_Member(path, sc, index, first, total, present))
    return families


def _format(sc: Sidecar) -> tuple:
    a = sc.audio
    return a.samplerate, a.channels, a.container, a.subtype


def check_family(family: str, members: list[_Member]) -> list[TakeReport]:
    """The files of one split take (``fieldrec record --split``), one report per problem: every member present
    (indices 1..N, N the family's total), each file starting in the take where the previous one ended (its
    ``first_frame`` = the previous one's + its frames: no gap, no overlap), one format, and each file under
    the name it was recorded with (``file.name``; iXML ``HISTORY/ORIGINAL_FILENAME``)."""
    out: list[TakeReport] = []
    tag = f"split family {family[:8]}"
    first = min(members, key=lambda m: (m.index, str(m.path)))

    def problem(path: Path, text: str) -> None:
        out.append(TakeReport(path, problems=[f"{tag}: {text}"]))

    for m in members:
        if m.index < 0:
            problem(m.path, "its sidecar's family index or first frame is not a number")
    good = [m for m in members if m.index >= 0]
    totals = sorted({m.total for m in good if m.total is not None})
    if len(totals) > 1:
        problem(first.path, f"its files disagree on how many files it has ({', '.join(map(str, totals))})")
    total = max(totals) if totals else None
    by_index: dict[int, _Member] = {}
    for m in sorted(good, key=lambda m: (m.index, str(m.path))):
        if m.index < 1 or (total is not None and m.index > total):
            problem(m.path, f"index {m.index} is outside 1..{total if total is not None else 'N'}")
        elif m.index in by_index:
            problem(m.path, f"two files say they are file {m.index}: {by_index[m.index].path.name} and this one")
        else:
            by_index[m.index] = m
    last = total if total is not None else max(by_index, default=0)
    of = f" of {total}" if total is not None else ""
    for i in range(1, last + 1):
        m = by_index.get(i)
        if m is None or not m.present:
            name = f" ({m.sc.file.name})" if m is not None else ""
            after = by_index.get(i - 1)
            where = f", the one after {after.path.name}" if after is not None and after.present else ""
            problem((after.path if after is not None else first.path), f"file {i}{of}{name} is missing{where}")
    fmt = _format(by_index[min(by_index)].sc) if by_index else None
    for i in sorted(by_index):
        m = by_index[i]
        if not m.present:
            continue
        if m.path.name != m.sc.file.name:
            problem(m.path, f"file {i}{of} was recorded as {m.sc.file.name}; renamed, the family's names no "
                            "longer match (rename it back)")
        if _format(m.sc) != fmt:
            problem(m.path, "file {}{} is {} Hz / {} ch / {} {}, the family is {} Hz / {} ch / {} {}".format(
                i, of, *_format(m.sc), *fmt))  # type: ignore[misc]
        prev = by_index.get(i - 1)
        if prev is not None:
            expected = prev.first_frame + prev.sc.audio.frames
            if m.first_frame != expected:
                gap = m.first_frame - expected
                what = f"a gap of {gap} frames" if gap > 0 else f"an overlap of {-gap} frames"
                problem(m.path, f"file {i}{of} starts at frame {m.first_frame} of the take, file {i - 1} ends at "
                                f"{expected}: {what}")
        elif i == 1 and m.first_frame != 0:
            problem(m.path, f"file 1{of} starts at frame {m.first_frame} of the take, not 0")
    return out


def check_families(audio: list[Path], orphans: list[Path]) -> list[TakeReport]:
    """``check_family`` for every family found among ``audio`` (and the orphaned sidecars, whose audio is
    gone: their member is missing, named)."""
    reports: list[TakeReport] = []
    for family, members in sorted(_family_members(audio, orphans).items()):
        reports.extend(check_family(family, members))
    return reports


def check_paths(paths: list[Path], repair: bool = False) -> list[TakeReport]:
    audio, orphans = find_takes(paths)
    reports = [check_take(a, repair) for a in audio]
    for side in orphans:
        reports.append(TakeReport(side, problems=["orphaned sidecar: its audio file is missing"]))
    reports.extend(check_families(audio, orphans))
    return reports


__all__ = ["TakeReport", "check_families", "check_family", "check_paths", "check_take", "complete_interrupted",
           "find_takes"]
