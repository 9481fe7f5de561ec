"""Every way a take can fail ends it cleanly and leaves evidence (issue 11): sidecars that cannot be written at
start, mid-take and at stop (made unwritable in several real ways), meters that raise, more events than the
take keeps, a stop that returns while finalisation runs, takes that cannot start leaving no orphan file, and
a crash (kill -9) leaving a sidecar that tells the truth to within the refresh interval."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

from fieldrec import recorder as recorder_module
from fieldrec import take as take_module
from fieldrec.recorder import Recorder, RecorderError, TakeSettings, TakeState
from fieldrec.storage import take_file
from fieldrec.storage.hashing import sha256_file
from tests.filesystems import mounted_tmpfs
from tests.integration.test_recorder import wait_until
from tests.readers import ffprobe_info, fieldrec_cmd, isolated_env, sox_info, validate_sidecar
from tests.takes import starve


@pytest.fixture
def recorder(tmp_path):
    rec = Recorder(TakeSettings(device="simulated", samplerate=48000, channels=2, out_dir=tmp_path / "takes"))
    yield rec
    rec.close()


def _audio_ok(path: Path, frames: int) -> None:
    assert sf.info(str(path)).frames == frames
    assert sox_info(path)["frames"] == frames
    assert ffprobe_info(path)["frames"] == frames


# ------------------------------------------------------------------------------------- sidecar faults
def test_a_sidecar_that_cannot_be_written_at_start_refuses_the_take_and_leaves_no_file(tmp_path):
    """Two inodes: the folder and the reserved audio file; the sidecar's temporary file finds none left."""
    with mounted_tmpfs(tmp_path / "disk", "size=4m,nr_inodes=2") as disk:
        with Recorder(TakeSettings(device="simulated", out_dir=disk)) as rec:
            with pytest.raises(RecorderError, match="cannot write the sidecar"):
                rec.record({})
            assert list(disk.iterdir()) == []  # no header-only orphan
            assert rec.state is TakeState.ARMED and rec.take is None
            assert rec._capture.ring.guard is None  # nothing holds the ring: the next take records normally
            rec.settings.out_dir = tmp_path / "elsewhere"
            take = rec.record({})
            wait_until(lambda: take.frames >= 0.3 * 48000)
            rec.stop()
            assert take.wait(30).stop_reason == "user"


def test_a_take_whose_file_cannot_be_made_leaves_no_reserved_file(tmp_path):
    with Recorder(TakeSettings(device="simulated", channels=9, container="flac", subtype="PCM_24",
                               out_dir=tmp_path)) as rec:
        with pytest.raises(RecorderError, match="FLAC allows at most 8 channels"):
            rec.record({})
    assert list(tmp_path.iterdir()) == []


def test_sidecar_path_turned_into_a_folder_mid_take_is_a_warning_and_the_content_goes_beside(recorder):
    take = recorder.record({"notes": "kept"})
    wait_until(lambda: take.frames >= 0.5 * 48000)
    take.paths.sidecar.unlink()
    take.paths.sidecar.mkdir()  # the atomic rename onto it now fails
    wait_until(lambda: recorder.status().warning is not None, 15)
    assert "could not update the sidecar" in recorder.status().warning
    assert recorder.state is TakeState.RECORDING  # the audio wins: the take goes on
    wait_until(lambda: take.frames >= 2 * 48000)
    recorder.stop()
    result = take.wait(30)
    assert result.stop_reason == "user" and result.sidecar_error is not None
    fallback = take.paths.sidecar.with_name(take.paths.sidecar.stem + ".fallback.json")
    assert result.sidecar_fallback == fallback
    data = json.loads(fallback.read_text())
    validate_sidecar(data)
    assert data["recording"]["state"] == "complete" and data["metadata"]["notes"] == "kept"
    assert data["audio"]["frames"] == result.frames and data["file"]["sha256"] == result.sha256
    assert any("could not update the sidecar" in w for w in data["recording"]["warnings"])
    _audio_ok(take.paths.audio, result.frames)


def test_folder_moved_mid_take_keeps_recording_and_the_sidecar_follows_the_audio(recorder, tmp_path):
    take = recorder.record({"notes": "kept"})
    wait_until(lambda: take.frames >= 0.5 * 48000)
    folder = take.paths.audio.parent
    moved = folder.with_name("moved")
    folder.rename(moved)  # the open audio file moves with its folder ...
    folder.write_text("not a folder")  # ... and nothing can be created at the old path any more
    wait_until(lambda: recorder.status().warning is not None, 15)
    assert "could not update the sidecar" in recorder.status().warning
    wait_until(lambda: take.frames >= 1.5 * 48000)
    recorder.stop()
    result = take.wait(30)
    assert result.stop_reason == "user"  # the audio went on to the open file all along
    audio = moved / take.paths.audio.name
    assert result.paths.audio == audio and result.paths.sidecar == audio.with_suffix(".json")
    assert result.sidecar_error is None
    assert any("its audio is at" in w and str(audio) in w for w in result.warnings)
    data = json.loads(audio.with_suffix(".json").read_text())
    validate_sidecar(data)
    assert data["recording"]["state"] == "complete" and data["metadata"]["notes"] == "kept"
    assert data["audio"]["frames"] == result.frames
    _audio_ok(audio, result.frames)
    assert result.sha256 == data["file"]["sha256"] == sha256_file(audio)


@pytest.mark.parametrize("how", ["relative", "symlink"])
def test_a_folder_named_relatively_or_through_a_link_is_not_taken_for_a_moved_one(tmp_path, monkeypatch, how):
    # the take's path names its file all along: no "moved" warning, and the paths stay as they were given
    # (found by hand: `fieldrec record -o takes` warned "the take's folder was moved" after most takes)
    real = tmp_path / "real"
    real.mkdir()
    if how == "relative":
        monkeypatch.chdir(tmp_path)
        out = Path("real")
    else:
        out = tmp_path / "link"
        out.symlink_to(real, target_is_directory=True)
    rec = Recorder(TakeSettings(device="simulated", samplerate=48000, channels=2, out_dir=out, duration_s=0.5))
    try:
        result = rec.record({}).wait(30)
    finally:
        rec.close()
    assert not any("moved" in w for w in result.warnings), result.warnings
    assert result.paths.audio.parent == out and result.paths.sidecar.parent == out
    assert sorted(p.name for p in real.iterdir()) == sorted([result.paths.audio.name, result.paths.sidecar.name])
    _audio_ok(real / result.paths.audio.name, result.frames)


def test_record_into_a_relative_folder_prints_no_warning(tmp_path):
    proc = subprocess.run(fieldrec_cmd("record", "-d", "simulated", "-t", "1", "-q", "-o", "takes"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=isolated_env(tmp_path),
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr, proc.stderr


def test_record_says_where_the_audio_went_when_its_folder_is_moved_during_the_take(tmp_path):
    # the warning is raised by the take's finaliser; the command prints it whether or not its status loop
    # was polling at that moment (it did so only some of the time before)
    out = tmp_path / "takes"
    proc = subprocess.Popen(fieldrec_cmd("record", "-d", "simulated", "-t", "2", "-q", "-o", str(out)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=isolated_env(tmp_path),
                            stdin=subprocess.DEVNULL)
    wait_until(lambda: any(out.glob("*.json")), 15)  # the take has started (its first sidecar is written)
    time.sleep(0.3)
    moved = tmp_path / "moved"
    out.rename(moved)
    said, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    audio = next(moved.glob("*.wav"))
    assert f"its audio is at {audio}" in err
    assert f"audio:   {audio}" in said
    _audio_ok(audio, 2 * 48000)


def _block_sidecar_names(take) -> None:
    """Folders where the sidecar and its fallback beside it would go: both renames fail (as root too)."""
    for path in (take.paths.sidecar, take.paths.sidecar.with_name(take.paths.sidecar.stem + ".fallback.json")):
        if path.exists():
            path.unlink()
        path.mkdir()


def test_with_no_room_beside_the_take_the_sidecar_goes_to_the_user_data_folder(recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    take = recorder.record({})
    wait_until(lambda: take.frames >= 0.5 * 48000)
    _block_sidecar_names(take)
    recorder.stop()
    result = take.wait(30)
    assert result.sidecar_fallback is not None
    assert result.sidecar_fallback.parent == tmp_path / "data" / "fieldrec" / "fallback-sidecars"
    data = json.loads(result.sidecar_fallback.read_text())
    assert data["recording"]["state"] == "complete" and data["audio"]["frames"] == result.frames
    _audio_ok(take.paths.audio, result.frames)


def test_with_nowhere_to_write_the_sidecar_its_content_goes_to_the_log(recorder, tmp_path, monkeypatch, caplog):
    (tmp_path / "data").write_text("a file where the user data folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    take = recorder.record({"notes": "evidence"})
    wait_until(lambda: take.frames >= 0.5 * 48000)
    _block_sidecar_names(take)
    with caplog.at_level(logging.ERROR, logger="fieldrec.take"):
        recorder.stop()
        result = take.wait(30)
    assert result.sidecar_fallback is None and result.sidecar_error
    assert "its content is in the log file" in result.warnings[-1]
    logged = [r.getMessage() for r in caplog.records if "sidecar content of" in r.getMessage()]
    assert len(logged) == 1 and '"notes": "evidence"' in logged[0] and '"state": "complete"' in logged[0]


def test_a_file_that_cannot_be_read_back_for_its_hash_is_a_warning(recorder, monkeypatch):
    take = recorder.record({})
    wait_until(lambda: take.frames >= 0.3 * 48000)

    def unreadable(path, progress=None):
        raise OSError(errno.EIO, os.strerror(errno.EIO))  # the medium fails on read-back

    monkeypatch.setattr(take_file, "take_hashes", unreadable)
    recorder.stop()
    result = take.wait(30)
    assert result.sha256 is None
    assert any("could not hash" in w and "Input/output error" in w for w in result.warnings)
    data = json.loads(take.paths.sidecar.read_text())
    assert data["file"]["sha256"] is None and data["recording"]["state"] == "complete"
    _audio_ok(take.paths.audio, result.frames)


def test_cli_record_with_an_unwritable_sidecar_at_stop_exits_1_in_one_line(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen(fieldrec_cmd("record", "-d", "simulated", "-t", "4", "-o", str(out), "-q"),
                            env=isolated_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not list(out.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        sidecar = next(out.glob("*.json"))
        sidecar.unlink()
        sidecar.mkdir()
        stdout, stderr = proc.communicate(timeout=30)  # never hangs
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    fallback = sidecar.with_name(sidecar.stem + ".fallback.json")
    assert len(errors) == 1 and str(sidecar) in errors[0] and str(fallback) in errors[0]
    data = json.loads(fallback.read_text())
    validate_sidecar(data)
    audio = sidecar.with_suffix(".wav")
    assert data["audio"]["frames"] == 4 * 48000
    _audio_ok(audio, 4 * 48000)
    assert f"sha256:  {data['file']['sha256']}" in stdout


# ------------------------------------------------------------------------------------- meters
def test_a_meter_that_raises_marks_the_analysis_partial_and_the_take_goes_on(recorder, caplog):
    take = recorder.record({})
    wait_until(lambda: take.bank.snapshot().frames >= 0.5 * 48000, 10)  # the meters measured part of it
    calls = {"n": 0}

    def broken(block):
        calls["n"] += 1
        raise FloatingPointError("meter bug on purpose")

    take.bank.process = broken  # the take's own bank fails from now on; the monitor is untouched
    with caplog.at_level(logging.ERROR):
        wait_until(lambda: take.meter_done.is_set(), 5)  # the take no longer waits for its meters
        assert any("meters failed" in r.getMessage() and r.exc_info for r in caplog.records)  # with traceback
    measured = take.bank.snapshot().frames  # what the bank measured before its first failing call
    assert "analysis incomplete: FloatingPointError: meter bug on purpose" in recorder.status().warning
    wait_until(lambda: take.frames >= 1.5 * 48000)
    assert recorder.state is TakeState.RECORDING
    recorder.stop()
    result = take.wait(30)
    assert calls["n"] == 1
    assert result.analysis["partial"] is True
    assert result.analysis["partial_reason"] == "FloatingPointError: meter bug on purpose"
    assert measured >= 0.5 * 48000
    assert result.analysis["frames"] == measured  # the analysis is what was measured before the fault
    data = json.loads(take.paths.sidecar.read_text())
    validate_sidecar(data)
    assert data["analysis"]["partial"] is True and data["audio"]["frames"] == result.frames


def test_a_take_analysis_that_cannot_be_computed_is_partial(recorder, monkeypatch):
    take = recorder.record({})
    wait_until(lambda: take.frames >= 0.3 * 48000)

    def no_result():
        raise ValueError("no result on purpose")

    take.bank.result = no_result
    recorder.stop()
    result = take.wait(30)
    assert result.analysis == {"partial": True, "partial_reason": "ValueError: no result on purpose"}


def test_a_monitor_meter_that_raises_is_replaced_and_monitoring_goes_on(recorder, monkeypatch):
    recorder.arm()
    wait_until(lambda: recorder.meters().frames > 0)
    broken = recorder._monitor

    def fail(block):
        raise RuntimeError("monitor bug on purpose")

    broken.process = fail
    wait_until(lambda: recorder._monitor is not broken, 5)
    wait_until(lambda: recorder.meters().frames > 0, 5)


# ------------------------------------------------------------------------------------- events
def test_more_events_than_the_take_keeps_are_counted_exactly(recorder, monkeypatch):
    monkeypatch.setattr(take_module, "MAX_EVENTS", 1)
    take = recorder.record({})
    wait_until(lambda: take.frames >= 0.3 * 48000)
    for _ in range(3):
        starve(0.5)
        time.sleep(0.2)
    wait_until(lambda: take.events.totals.events >= 2, 10)
    recorder.stop()
    result = take.wait(30)
    data = json.loads(take.paths.sidecar.read_text())
    summary = data["recording"]["overflow_summary"]
    stream = recorder._capture._stream
    assert len(data["recording"]["overflows"]) == 1 and summary["events_truncated"] is True
    assert summary["events"] == result.totals.events >= 2
    # every frame the simulated interface lost inside this take is counted, though one event is listed
    assert summary["frames_lost"] == result.totals.frames_lost <= stream.blocks_lost * stream.blocksize
    assert summary["frames_lost"] >= summary["events"] * stream.blocksize


# ------------------------------------------------------------------------------------- stop and finalise
def test_stop_returns_while_the_take_finalises_and_the_next_take_can_start(recorder):
    ended = []
    recorder._on_take_end = lambda result: ended.append(result.paths.audio.name)
    first = recorder.record({})
    wait_until(lambda: first.frames >= 0.5 * 48000)
    first._save_lock.acquire()  # hold the finaliser at its last step, the final sidecar write
    try:
        assert recorder.stop() is first
        assert recorder.state is TakeState.ARMED  # at once, not after finalising
        wait_until(lambda: first.finalising, 10)
        assert first.result is None and ended == []
        assert [t for t in recorder.status().finalising] == [(first.paths, first.progress)]
        second = recorder.record({})  # the next take while the first is still being finalised
        wait_until(lambda: second.frames >= 0.3 * 48000)
        recorder.stop()
        second.wait(30)
        assert ended == [second.paths.audio.name]
    finally:
        first._save_lock.release()
    result = first.wait(30)
    assert ended == [second.paths.audio.name, first.paths.audio.name]
    assert result.sha256 is not None and first.progress == 1.0
    assert json.loads(first.paths.sidecar.read_text())["recording"]["state"] == "complete"
    _audio_ok(first.paths.audio, result.frames)


def test_a_stream_that_does_not_settle_is_recorded_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(recorder_module, "SETTLE_TIMEOUT_S", 0.0)
    with Recorder(TakeSettings(device="simulated", out_dir=tmp_path)) as rec:
        take = rec.record({})  # armed in the same instant: no audio delivered yet
        wait_until(lambda: take.frames > 4800)
        rec.stop()
        take.wait(30)
    assert json.loads(take.paths.sidecar.read_text())["recording"]["stream_settled"] is False


def test_a_cli_take_starts_with_a_settled_stream(tmp_path):
    proc = subprocess.run(fieldrec_cmd("record", "-d", "simulated", "-t", "1", "-o", str(tmp_path / "o"), "-q"),
                          env=isolated_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(next((tmp_path / "o").glob("*.json")).read_text())
    assert data["recording"]["stream_settled"] is True


# ------------------------------------------------------------------------------------- crash
def test_kill_9_after_15_s_leaves_a_sidecar_within_10_s_of_the_file(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen(fieldrec_cmd("record", "-d", "simulated", "-o", str(out), "-q"),
                            env=isolated_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not list(out.glob("*.wav")) and time.monotonic() < deadline:
            time.sleep(0.05)
        audio = next(out.glob("*.wav"))
        deadline = time.monotonic() + 60
        while sf.info(str(audio)).frames < 15 * 48000 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    file_frames = sf.info(str(audio)).frames
    data = json.loads(audio.with_suffix(".json").read_text())
    validate_sidecar(data)
    assert data["recording"]["state"] == "recording"  # cut off: `fieldrec check` completes it (issue 12)
    # the refreshed sidecar is behind the file by at most 10 s (level with it when the kill came right after a
    # refresh), never ahead, and no longer says 0 frames
    assert data["audio"]["frames"] >= 5 * 48000
    assert 0 <= file_frames - data["audio"]["frames"] <= 10 * 48000
    assert data["audio"]["duration_s"] == data["audio"]["frames"] / 48000


def test_disarm_waits_for_every_frame_and_the_analysis(tmp_path):
    done = threading.Event()
    with Recorder(TakeSettings(device="simulated", out_dir=tmp_path),
                  on_take_end=lambda r: done.set()) as rec:
        take = rec.record({})
        wait_until(lambda: take.frames >= 0.5 * 48000)
    assert done.is_set() and take.result is not None  # close() waited for the finalisation
    assert take.result.analysis is not None and "partial" not in take.result.analysis
    assert sf.info(str(take.paths.audio)).frames == take.result.frames


def test_a_final_sidecar_the_model_refuses_is_still_completed_and_written(recorder):
    take = recorder.record({"notes": "kept"})
    wait_until(lambda: take.frames >= 0.3 * 48000)
    take.request_stop("no_such_reason")  # a stop reason the model does not know: a bug, on purpose
    result = take.wait(30)
    assert result is not None and result.frames > 0  # the finaliser did not die
    assert any("does not pass its own schema (recording.stop_reason" in w for w in result.warnings)
    data = json.loads(take.paths.sidecar.read_text())
    assert data["recording"]["state"] == "complete" and data["metadata"]["notes"] == "kept"
    assert data["audio"]["frames"] == result.frames
    assert data["file"]["sha256"] == result.sha256 == sha256_file(take.paths.audio)
    _audio_ok(take.paths.audio, result.frames)


def test_fields_known_at_the_stop_land_in_the_final_sidecar_and_a_failing_hook_costs_a_warning(recorder):
    take = recorder.record({"notes": "kept"}, stop_metadata=lambda: {"field": {"battery_stop": {"percent": 41.0}}})
    wait_until(lambda: take.frames >= 0.2 * 48000)
    recorder.stop()
    assert take.wait(30).warnings == ()
    data = json.loads(take.paths.sidecar.read_text())
    assert data["metadata"]["field"]["battery_stop"] == {"percent": 41.0} and data["metadata"]["notes"] == "kept"
    validate_sidecar(data)

    def broken() -> dict:
        raise OSError(5, "Input/output error")

    for hook, says in ((broken, "Input/output error"), (lambda: {"location": {"latitude": 999}}, "latitude")):
        take = recorder.record({"notes": "kept"}, stop_metadata=hook)
        wait_until(lambda t=take: t.frames >= 0.2 * 48000)
        recorder.stop()
        result = take.wait(30)
        assert len(result.warnings) == 1 and "were not added" in result.warnings[0] and says in result.warnings[0]
        data = json.loads(take.paths.sidecar.read_text())
        assert data["recording"]["state"] == "complete" and data["metadata"]["notes"] == "kept"
        assert data["metadata"]["location"]["latitude"] is None
        _audio_ok(take.paths.audio, result.frames)


def test_a_refused_final_sidecar_whose_file_cannot_be_hashed_says_both(recorder, monkeypatch):
    take = recorder.record({})
    wait_until(lambda: take.frames >= 0.3 * 48000)

    def unreadable(path, progress=None):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(take_module, "sha256_file", unreadable)
    take.request_stop("no_such_reason")
    result = take.wait(30)
    assert result.sha256 is None
    assert any("could not hash" in w and "Input/output error" in w for w in result.warnings)
    assert json.loads(take.paths.sidecar.read_text())["recording"]["state"] == "complete"
