"""The take in-process with the simulated source: arm/record/stop cycles, markers, metadata edits, overflow
positions and sizes through the real mechanism (the simulated interface's buffer starved), device loss, and
the take's streaming analysis against the whole-file analysis of the same file."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf

from fieldrec.analyze import analyze_file
from fieldrec.audio.simulated import FieldSignal
from fieldrec.metadata import new_take_metadata
from fieldrec.recorder import Recorder, RecorderError, TakeSettings, TakeState
from tests.readers import validate_sidecar
from tests.takes import starve


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
    assert recorder.latest_peak(4800) is None  # no input yet
    recorder.arm()
    assert recorder.state is TakeState.ARMED
    wait_until(lambda: len(recorder.latest(4800)) == 4800)
    block = recorder.latest(4800)
    assert block.dtype == np.float32 and block.shape == (4800, 2) and np.abs(block).max() > 0
    peak = recorder.latest_peak(4800)  # the line's peaks: a later 4800 frames of the same steady scene
    assert peak.shape == (2,) and (peak > 0).all() and (peak <= 1.0).all()
    wait_until(lambda: recorder.meters().frames > 0)
    assert list(tmp_path.iterdir()) == []


def test_take_with_markers_metadata_and_analysis(recorder):
    meta = new_take_metadata(location="Oak ridge", latitude=47.1, longitude=8.5, tags=["birds"])
    take = recorder.record(meta)
    paths = take.paths
    assert recorder.state is TakeState.RECORDING and recorder.take is take
    on_disk = json.loads(paths.sidecar.read_text())  # written at start: a crash still leaves metadata
    validate_sidecar(on_disk)
    assert on_disk["recording"]["state"] == "recording" and on_disk["recording"]["stream_settled"] is True
    wait_until(lambda: recorder.status().elapsed_s >= 1.0)
    before = take.frames
    marker = recorder.add_marker("owl")
    after = take.frames
    assert before <= marker.frame <= after
    recorder.update_metadata(dict(meta, notes="wind picked up"))
    # edits are saved off the caller's thread, at the take's next tick (about a second)
    wait_until(lambda: json.loads(paths.sidecar.read_text())["metadata"]["notes"] == "wind picked up", 5)
    assert json.loads(paths.sidecar.read_text())["markers"][0]["label"] == "owl"
    wait_until(lambda: recorder.status().elapsed_s >= 2.5)
    stopped = recorder.stop()
    assert stopped is take and recorder.state is TakeState.ARMED  # still monitoring after the take
    result = take.wait(30)
    data = json.loads(paths.sidecar.read_text())
    validate_sidecar(data)
    frames = sf.info(str(paths.audio)).frames
    assert result.frames == frames == data["audio"]["frames"] >= 2.5 * 48000
    assert (result.samplerate, result.channels, result.container, result.subtype) == (48000, 2, "wav", "PCM_24")
    assert result.sha256 == data["file"]["sha256"]
    assert data["markers"] == [{"frame": marker.frame, "time_s": marker.time_s, "label": "owl", "length_frames": 0}]
    assert data["recording"]["stop_reason"] == "user"
    # the same take analysed live (streaming, in batches) and afterwards from the file agree
    live, whole = data["analysis"], analyze_file(paths.audio)
    for key in ("sample_peak_dbfs", "true_peak_dbtp", "rms_dbfs", "integrated_lufs", "short_term_max_lufs",
                "momentary_max_lufs", "noise_floor_dbfs"):
        assert live[key] == pytest.approx(whole[key], abs=0.01), key
    for key in ("clipped_samples", "clip_events"):
        assert live[key] == whole[key], key
    assert "partial" not in live
    # edits after the take is final go to its sidecar at once, atomically
    recorder.update_metadata(dict(meta, notes="edited after stop"))
    data = json.loads(paths.sidecar.read_text())
    assert data["metadata"]["notes"] == "edited after stop" and data["audio"]["frames"] == frames


def test_bad_metadata_is_refused_with_the_field_name(recorder, tmp_path):
    with pytest.raises(RecorderError, match="location.latitude"):
        recorder.record(new_take_metadata(latitude=999))
    assert recorder.state is not TakeState.RECORDING
    assert list(tmp_path.iterdir()) == []


def test_duration_is_sample_exact_and_consecutive_takes_are_separate(tmp_path):
    rec = Recorder(TakeSettings(device="simulated", samplerate=44100, channels=1, subtype="PCM_16",
                                duration_s=0.75, out_dir=tmp_path))
    with rec:
        first = rec.record({})
        assert rec.wait(20).stop_reason == "duration"
        second = rec.record({})
        assert rec.wait(20).stop_reason == "duration"
    assert first.paths.audio != second.paths.audio
    for take in (first, second):
        assert sf.info(str(take.paths.audio)).frames == round(0.75 * 44100)
        assert json.loads(take.paths.sidecar.read_text())["recording"]["stop_reason"] == "duration"


def test_device_lost_mid_take_closes_a_valid_file(recorder):
    take = recorder.record({})
    wait_until(lambda: recorder.status().elapsed_s >= 1.0)
    recorder._capture._stream.disconnect()  # the simulated interface is unplugged: callbacks just stop
    result = recorder.wait(20)
    assert result is not None and result.stop_reason == "device_lost"
    data = json.loads(take.paths.sidecar.read_text())
    validate_sidecar(data)
    assert data["recording"]["stop_reason"] == "device_lost"
    lost = [e for e in data["recording"]["overflows"] if e["kind"] == "device_lost"]
    assert len(lost) == 1 and lost[0]["frame"] == data["audio"]["frames"] == sf.info(str(take.paths.audio)).frames
    assert recorder.status().device_state == "lost"
    with pytest.raises(RecorderError, match="is gone"):
        recorder.record({})


def test_a_starved_machine_overflows_visibly_with_exact_positions_and_sizes(tmp_path, monkeypatch):
    """The file is the simulated signal with exactly the lost stretches cut out, at exactly the positions and
    of exactly the sizes the sidecar gives: the signal depends only on its seed and absolute frame."""
    monkeypatch.setenv("FIELDREC_SIM_SEED", "7")
    rec = Recorder(TakeSettings(device="simulated", samplerate=48000, channels=2, subtype="FLOAT",
                                out_dir=tmp_path))
    with rec:
        take = rec.record({})
        wait_until(lambda: take.frames >= 0.5 * 48000)
        starve(0.8)
        wait_until(lambda: rec.status().overflows != ())
        assert rec.status().totals.events >= 1  # shown at once, while recording
        starve(0.6)
        wait_until(lambda: take.frames >= 3 * 48000)
        rec.stop()
        result = take.wait(30)
        stream = rec._capture._stream
        lost_by_stream = stream.blocks_lost * stream.blocksize
    data = json.loads(take.paths.sidecar.read_text())
    validate_sidecar(data)
    events = result.overflows
    assert events and all(e.kind == "input_overflow" and e.frames_lost for e in events)
    assert [e.as_dict() for e in events] == data["recording"]["overflows"]
    summary = data["recording"]["overflow_summary"]
    assert summary == {"events": len(events), "frames_lost": sum(e.frames_lost for e in events),
                       "unknown_loss_events": 0, "events_truncated": False}
    audio, _ = sf.read(str(take.paths.audio), dtype="float32", always_2d=True)
    assert len(audio) == result.frames == data["audio"]["frames"]
    # rebuild the take from the seeded signal: where it started in the signal, then each gap cut out
    reference = FieldSignal(48000, 2, seed=7).render(take.start_frame + len(audio) + lost_by_stream + 48000)
    starts = [o for o in range(0, lost_by_stream + 1, stream.blocksize)
              if np.array_equal(reference[take.start_frame + o:take.start_frame + o + 480], audio[:480])]
    assert len(starts) == 1
    pos, pieces, last = take.start_frame + starts[0], [], 0
    for e in events:
        pieces.append(reference[pos:pos + (e.frame - last)])
        pos += (e.frame - last) + e.frames_lost  # the missing audio would have started exactly here
        last = e.frame
    pieces.append(reference[pos:pos + (len(audio) - last)])
    np.testing.assert_array_equal(np.concatenate(pieces), audio)


def test_every_take_keeps_only_its_own_overflows(recorder):
    first = recorder.record({})
    wait_until(lambda: first.frames >= 0.3 * 48000)
    starve(0.7)
    wait_until(lambda: first.events.totals.events >= 1)
    wait_until(lambda: json.loads(first.paths.sidecar.read_text())["recording"]["overflows"] != [], 5)
    recorder.stop()
    assert first.wait(30).totals.events >= 1
    second = recorder.record({})
    wait_until(lambda: second.frames >= 0.5 * 48000)
    recorder.stop()
    result = second.wait(30)
    assert result.overflows == () and result.totals.events == 0
    assert json.loads(second.paths.sidecar.read_text())["recording"]["overflow_summary"]["events"] == 0


def test_an_unknown_format_is_refused_in_one_line(tmp_path):
    with pytest.raises(RecorderError, match="not offered; choose one of: WAV 16-bit"):
        Recorder(TakeSettings(device="simulated", container="wav", subtype="ULAW", out_dir=tmp_path))


def test_output_folder_and_name_change_between_takes_without_reopening_the_input(recorder, tmp_path):
    recorder.arm()
    capture = recorder._capture
    recorder.settings.out_dir = tmp_path / "second"
    recorder.settings.name_template = "{location}_{recorder}_{microphone}_{tags}"
    take = recorder.record(new_take_metadata(location="Marsh", recorder="F3", microphone="MKH 8020",
                                             tags=["dawn", "rain"]))
    wait_until(lambda: take.frames > 4800)
    recorder.stop()
    take.wait(30)
    assert recorder._capture is capture  # the same open stream
    assert take.paths.audio == tmp_path / "second" / "Marsh_F3_MKH-8020_dawn-rain.wav"


def test_two_simulated_streams_are_seeded_differently_unless_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("FIELDREC_SIM_SEED", raising=False)
    seeds = []
    for _ in range(2):
        rec = Recorder(TakeSettings(device="simulated", out_dir=tmp_path))
        rec.arm()
        seeds.append(rec._capture.seed)
        rec.close()
        time.sleep(0.01)
    assert seeds[0] != seeds[1]
    monkeypatch.setenv("FIELDREC_SIM_SEED", "42")
    rec = Recorder(TakeSettings(device="simulated", out_dir=tmp_path))
    rec.arm()
    assert rec._capture.seed == 42
    rec.close()


def test_a_reader_that_measures_brings_the_meters_up_to_now_on_its_own_thread(recorder):
    import threading

    take = recorder.record({})
    wait_until(lambda: take.frames >= 0.6 * 48000)
    bank = take.bank
    threads = []
    measure = bank.process

    def watched(block):  # the real meters; only which thread calls them is noted
        threads.append(threading.current_thread().name)
        return measure(block)

    bank.process = watched
    for _attempt in range(3):  # the meter thread's own 2 s tick may fall in between: then try again
        time.sleep(0.1)
        threads.clear()
        reached = recorder.capture.ring.write_count - take.start_frame
        snap = recorder.meters(measure=True)
        assert snap.frames >= reached  # everything captured before the call is measured when it returns
        if "fieldrec-meters" not in threads:
            break
    assert threads and set(threads) == {threading.current_thread().name}
    assert recorder._pace.last is None  # a measuring reader leaves the meter thread at its idle pace
    recorder.stop()
    result = take.wait(30)
    assert result.analysis["frames"] == result.frames and not result.analysis.get("partial")


def test_a_meter_that_raises_under_a_measuring_reader_marks_the_analysis_partial(recorder, caplog):
    import logging

    take = recorder.record({})
    wait_until(lambda: recorder.meters(measure=True).frames >= 0.3 * 48000)

    def broken(block):
        raise FloatingPointError("meter bug on purpose")

    take.bank.process = broken
    wait_until(lambda: take.frames >= 0.6 * 48000)
    with caplog.at_level(logging.ERROR):
        snap = recorder.meters(measure=True)  # the reader gets the last good reading, not the exception
    assert snap is not None and snap.frames >= 0.3 * 48000
    assert any("meters failed" in r.getMessage() and r.exc_info for r in caplog.records)
    assert "analysis incomplete: FloatingPointError: meter bug on purpose" in recorder.status().warning
    assert recorder.state is TakeState.RECORDING
    recorder.stop()
    result = take.wait(30)
    assert result.analysis["partial"] is True and result.frames >= 0.6 * 48000
