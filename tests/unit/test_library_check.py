"""fieldrec check / --repair on real files made by TakeWriter: every problem it names, and what it repairs."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from fieldrec.library.check import check_paths, check_take
from fieldrec.library.takes import next_take, used_takes
from fieldrec.metadata import finish_sidecar, new_sidecar
from fieldrec.storage.riff import read_riff
from fieldrec.storage.sidecar import read_sidecar_model, write_sidecar
from fieldrec.storage.take_file import finalise_file
from fieldrec.storage.wav_writer import TakeWriter

START = datetime(2026, 11, 25, 5, 15, tzinfo=UTC)
RNG = np.random.default_rng(3)


def take(folder: Path, name: str = "t", container: str = "wav", finish: bool = True, frames: int = 24000):
    path = folder / f"{name}.{container}"
    w = TakeWriter(path, 48000, 2, container, "PCM_16")
    w.write(RNG.integers(-20000, 20000, (frames, 2)).astype(np.int16))
    sc = new_sidecar(file_name=path.name, samplerate=48000, channels=2, container=container, subtype="PCM_16",
                     start=START, metadata={"scene": "3", "take": 1, "project": "P"})
    if not finish:  # what a kill -9 leaves: the file as written so far and a 'recording' sidecar
        w.sync()
        snapshot = folder / f".{name}.snap"
        shutil.copyfile(path, snapshot)
        w.close()
        snapshot.replace(path)
        write_sidecar(path.with_suffix(".json"), sc)
        return path
    w.close()
    sc = finish_sidecar(sc, frames=frames, stop_reason="user", end=START)
    sc, warning = finalise_file(path, sc)
    assert warning is None
    write_sidecar(path.with_suffix(".json"), sc)
    return path


def test_a_good_take_is_ok_and_each_problem_is_one_line(tmp_path):
    good = take(tmp_path, "good")
    assert check_take(good).ok
    lonely = take(tmp_path, "lonely")
    lonely.with_suffix(".json").unlink()
    orphan = take(tmp_path, "orphan")
    orphan.unlink()
    broken = take(tmp_path, "broken")
    broken.with_suffix(".json").write_text("{")
    reports = {r.path.name: r for r in check_paths([tmp_path])}
    assert reports["good.wav"].ok
    assert reports["lonely.wav"].problems == ["no sidecar (.json) beside the audio"]
    assert reports["orphan.json"].problems == ["orphaned sidecar: its audio file is missing"]
    assert "corrupt JSON" in reports["broken.wav"].problems[0]
    assert all("\n" not in p for r in reports.values() for p in r.problems)


def test_changed_audio_is_reported_and_never_repaired(tmp_path):
    path = take(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[read_riff(path).data.body + 7] ^= 0x55
    path.write_bytes(bytes(raw))
    report = check_take(path, repair=True)
    assert report.problems == ["audio hash does not match the sidecar: the samples changed"]
    assert path.read_bytes() == bytes(raw) and report.repaired == []


def test_chunks_missing_or_different_are_rewritten_from_the_sidecar(tmp_path):
    path = take(tmp_path)
    sc = read_sidecar_model(path.with_suffix(".json"))
    data = json.loads(path.with_suffix(".json").read_text())
    data["metadata"]["scene"] = "4"  # the sidecar is the source of truth; the chunks now differ
    path.with_suffix(".json").write_text(json.dumps(data))
    report = check_take(path)
    assert report.problems[0] == "metadata chunks differ from the sidecar"
    fixed = check_take(path, repair=True)
    assert fixed.ok and fixed.repaired == ["rewrote the metadata chunks from the sidecar"]
    assert read_sidecar_model(path.with_suffix(".json")).file.audio_sha256 == sc.file.audio_sha256
    assert check_take(path).ok


def test_frames_mismatch_is_named(tmp_path):
    path = take(tmp_path)
    data = json.loads(path.with_suffix(".json").read_text())
    data["audio"]["frames"] = 5
    path.with_suffix(".json").write_text(json.dumps(data))
    assert "file has 24000 frames" in check_take(path).problems[0]


def test_interrupted_flac_is_recovered_and_completed(tmp_path):
    path = take(tmp_path, "cut", container="flac", finish=False, frames=48000)
    report = check_take(path)
    assert "cut off by a crash" in report.problems[0]
    fixed = check_take(path, repair=True)
    assert fixed.ok, fixed.problems
    sc = read_sidecar_model(path.with_suffix(".json"))
    assert sc.recording.stop_reason == "interrupted" and sc.audio.frames == sf.info(str(path)).frames > 0
    assert sc.file.audio_sha256 and sc.analysis is not None
    again = check_take(path)
    assert again.ok and "interrupted take" in again.notes[0]


def test_take_numbers_per_scene_ignore_unreadable_sidecars(tmp_path):
    take(tmp_path, "a")
    (tmp_path / "junk.json").write_text("[1, 2")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert used_takes(tmp_path, "P", "3") == {1} and next_take(tmp_path, "P", "3") == 2
    assert next_take(tmp_path, "P", "4") == 1 and next_take(tmp_path / "none", "P", "3") == 1
