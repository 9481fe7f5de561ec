"""``fieldrec check``: compare each take's audio with its sidecar, and ``--repair`` what can be repaired
without guessing (never the audio samples).

Problems found, one line each: missing sidecar, orphaned sidecar, unreadable sidecar, take cut off by a
crash (the sidecar still says ``recording``), chunk embedding interrupted (bytes past the RIFF size),
frames/format/hash mismatch, metadata chunks missing or different from the sidecar, FLAC of unknown length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import soundfile as sf

from fieldrec import __version__
from fieldrec.analyze import analyze_file
from fieldrec.metadata.sidecar import Sidecar, finish_sidecar, iso_utc, set_file_hashes
from fieldrec.storage.chunk_map import build_chunks
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


def check_paths(paths: list[Path], repair: bool = False) -> list[TakeReport]:
    audio, orphans = find_takes(paths)
    reports = [check_take(a, repair) for a in audio]
    for side in orphans:
        reports.append(TakeReport(side, problems=["orphaned sidecar: its audio file is missing"]))
    return reports


__all__ = ["TakeReport", "check_paths", "check_take", "complete_interrupted", "find_takes"]
