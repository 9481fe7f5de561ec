"""The take in-process with the simulated source: arm/record/stop cycles, markers, metadata edits, overflow
positions, device loss, and the take's streaming analysis against the whole-file analysis of the same file."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf

from fieldrec.analyze import analyze_file
from fieldrec.audio.ring import INPUT_OVERFLOW
from fieldrec.metadata import new_take_metadata
from fieldrec.recorder import Recorder, RecorderError, TakeSettings, TakeState
from tests.readers import validate_sidecar


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def recorder(tmp_path):
    rec = Recorder(TakeSettings(device="simulated", samplerate=48000, channels=2, out_dir=tmp_path))
    yield rec
    rec.close()


def test_arm_monitors_without_writing(recorder, tmp_path):
    recorder.arm()
    assert recorder.state is TakeState.ARMED
    wait_until(lambda: len(recorder.latest(4800)) == 4800)
    block = recorder.latest(4800)
    assert block.dtype == np.float32 and block.shape == (4800, 2) and np.abs(block).max() > 0
    wait_until(lambda: recorder.meters().frames > 0)
    assert list(tmp_path.iterdir()) == []


def test_take_with_markers_metadata_and_analysis(recorder):
    meta = new_take_metadata(location="Oak ridge", latitude=47.1, longitude=8.5, tags=["birds"])
    paths = recorder.record(meta)
    assert recorder.state is TakeState.RECORDING
    on_disk = json.loads(paths.sidecar.read_text())  # written at start: a crash still leaves metadata
    validate_sidecar(on_disk)
    assert on_disk["recording"]["state"] == "recording"
    wait_until(lambda: recorder.status().elapsed_s >= 1.0)
    before = recorder.status().elapsed_s * 48000
    marker = recorder.add_marker("owl")
    after = recorder.status().elapsed_s * 48000
    assert before <= marker.frame <= after
    recorder.update_metadata(dict(meta, notes="wind picked up"))
    assert json.loads(paths.sidecar.read_text())["metadata"]["notes"] == "wind picked up"
    wait_until(lambda: recorder.status().elapsed_s >= 2.5)
    result = recorder.stop()
    assert recorder.state is TakeState.ARMED  # still monitoring after the take
    data = json.loads(paths.sidecar.read_text())
    validate_sidecar(data)
    frames = sf.info(str(paths.audio)).frames
    assert result.frames == frames == data["audio"]["frames"] >= 2.5 * 48000
    assert data["markers"] == [{"frame": marker.frame, "time_s": marker.time_s, "label": "owl", "length_frames": 0}]
    assert data["recording"]["stop_reason"] == "user"
    # the same take analysed live (streaming, in blocks) and afterwards from the file agree
    live, whole = data["analysis"], analyze_file(paths.audio)
    for key in ("sample_peak_dbfs", "true_peak_dbtp", "rms_dbfs", "integrated_lufs", "short_term_max_lufs",
                "momentary_max_lufs", "noise_floor_dbfs"):
        assert live[key] == pytest.approx(whole[key], abs=0.01), key
    for key in ("clipped_samples", "clip_events"):
        assert live[key] == whole[key], key
    # edits after stop go to the last take's sidecar, atomically
    recorder.update_metadata(dict(meta, notes="edited after stop"))
    data = json.loads(paths.sidecar.read_text())
    assert data["metadata"]["notes"] == "edited after stop" and data["audio"]["frames"] == frames


def test_bad_metadata_is_refused_with_the_field_name(recorder):
    with pytest.raises(RecorderError, match="location.latitude"):
        recorder.record(new_take_metadata(latitude=999))
    assert recorder.state is not TakeState.RECORDING


def test_an_input_overflow_is_shown_at_once_and_kept_with_its_position(recorder):
    paths = recorder.record({})
    wait_until(lambda: recorder.status().elapsed_s >= 0.5)
    ring = recorder._capture.ring
    at = ring.write_count
    ring.record_event(INPUT_OVERFLOW, at, 0)  # the very call the audio callback makes on PortAudio's flag
    events = recorder.status().overflows
    assert len(events) == 1 and events[0].kind == "input_overflow"
    assert events[0].frame == at - recorder._start_frame  # counted from the file's first frame
    assert events[0].time_s == pytest.approx(events[0].frame / 48000)
    wait_until(lambda: json.loads(paths.sidecar.read_text())["recording"]["overflows"] != [])
    result = recorder.stop()
    data = json.loads(paths.sidecar.read_text())
    assert data["recording"]["overflows"] == [
        {"kind": "input_overflow", "frame": events[0].frame, "time_s": events[0].time_s, "frames_lost": 0}]
    assert result.overflows == events


def test_duration_is_sample_exact_and_consecutive_takes_are_separate(tmp_path):
    rec = Recorder(TakeSettings(device="simulated", samplerate=44100, channels=1, subtype="PCM_16",
                                duration_s=0.75, out_dir=tmp_path))
    with rec:
        first = rec.record({})
        assert rec.wait(20).stop_reason == "duration"
        second = rec.record({})
        rec.wait(20)
    assert first.audio != second.audio
    for p in (first, second):
        assert sf.info(str(p.audio)).frames == round(0.75 * 44100)
        assert json.loads(p.sidecar.read_text())["recording"]["stop_reason"] == "duration"


def test_device_lost_mid_take_closes_a_valid_file(recorder):
    paths = recorder.record({})
    wait_until(lambda: recorder.status().elapsed_s >= 1.0)
    recorder._capture._stream.disconnect()  # the simulated interface is unplugged: callbacks just stop
    result = recorder.wait(20)
    assert result is not None and result.stop_reason == "device_lost"
    data = json.loads(paths.sidecar.read_text())
    validate_sidecar(data)
    assert data["recording"]["stop_reason"] == "device_lost"
    lost = [e for e in data["recording"]["overflows"] if e["kind"] == "device_lost"]
    assert len(lost) == 1 and lost[0]["frame"] == data["audio"]["frames"] == sf.info(str(paths.audio)).frames
    assert recorder.status().device_state == "lost"


def test_a_starved_machine_overflows_visibly_with_positions(recorder):
    """Hold the GIL (as a runaway computation in the app would) for longer than the simulated interface's
    buffer: the interface overflows, the take says so at once with the position, and the file is still
    valid. Nothing is patched: the simulated stream loses blocks exactly as a real device's buffer does."""
    import sys

    paths = recorder.record({})
    wait_until(lambda: recorder.status().elapsed_s >= 0.5)
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.8)  # this thread keeps the GIL for 0.8 s at a time
    try:
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            pass
    finally:
        sys.setswitchinterval(old)
    wait_until(lambda: recorder.status().overflows != ())
    events = recorder.status().overflows
    assert all(e.kind == "input_overflow" for e in events)
    assert all(0.4 <= e.time_s for e in events)
    stream = recorder._capture._stream
    assert stream.blocks_lost > 0
    result = recorder.stop()
    data = json.loads(paths.sidecar.read_text())
    validate_sidecar(data)
    assert [e["frame"] for e in data["recording"]["overflows"]] == [e.frame for e in result.overflows]
    assert len(result.overflows) >= 1
    assert sf.info(str(paths.audio)).frames == result.frames


def test_every_take_writes_its_own_overflows_to_its_sidecar_while_recording(recorder):
    for _ in range(2):
        paths = recorder.record({})
        wait_until(lambda: recorder.status().elapsed_s >= 0.3)
        ring = recorder._capture.ring
        ring.record_event(INPUT_OVERFLOW, ring.write_count, 0)  # as the callback does on PortAudio's flag
        wait_until(lambda p=paths: len(json.loads(p.sidecar.read_text())["recording"]["overflows"]) == 1)
        assert len(recorder.stop().overflows) == 1


def test_an_unknown_format_is_refused_in_one_line(tmp_path):
    with pytest.raises(RecorderError, match="not offered; choose one of: WAV 16-bit"):
        Recorder(TakeSettings(device="simulated", container="wav", subtype="ULAW", out_dir=tmp_path))
