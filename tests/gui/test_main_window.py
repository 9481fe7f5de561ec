"""The window on the real Recorder with the simulated source: takes, files and sidecars on disk."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt

from fieldrec.gui.config import load_config
from fieldrec.recorder import TakeState

SR = 48000


def wait_frames(qtbot, w, n=5, timeout=5000):
    start = w.frame_count
    qtbot.waitUntil(lambda: w.frame_count >= start + n, timeout=timeout)


def wait_recorded(qtbot, w, seconds, timeout=15000):
    qtbot.waitUntil(lambda: w.recorder.status().elapsed_s >= seconds, timeout=timeout)


def read_sidecar(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_first_start_is_armed_with_moving_signals(window, qtbot):
    assert window.recorder is not None and window.recorder.state is TakeState.ARMED
    assert window.state_label.text() == "ARMED"
    wait_frames(qtbot, window, 10)
    qtbot.waitUntil(lambda: window.waveform.history.total_columns > 50, timeout=5000)
    qtbot.waitUntil(lambda: window.spectrogram.total_columns > 5, timeout=5000)
    assert window.spectrum.avg_power is not None
    # the simulated scene is not silent; the meters follow once the meter thread has its loudness filter
    # (it imports scipy.signal on its first batch, after the window is on screen)
    qtbot.waitUntil(lambda: window.meters.bars.peak.max() > -90.0, timeout=15000)


def test_record_two_seconds_through_the_gui_with_typed_metadata(window, qtbot):
    panel = window.metadata_panel
    qtbot.keyClicks(panel.editors["location.name"], "Reed bed north")
    qtbot.keyClicks(panel.editors["location.latitude"], "47.3769")
    qtbot.keyClicks(panel.editors["equipment.microphone"], "MKH 8040 pair")
    qtbot.keyClicks(panel.editors["tags"], "dawn, reeds")
    assert panel.is_valid()
    qtbot.mouseClick(window.record_button, Qt.MouseButton.LeftButton)
    assert window.is_recording() and window.state_label.text() == "● RECORDING"
    assert not window.format_combo.isEnabled()  # set-up is locked while recording
    assert "recording" in window.windowTitle() and ".wav" in window.windowTitle()
    wait_recorded(qtbot, window, 2.0)
    # the recordist keeps typing while the take records; the sidecar follows
    qtbot.keyClicks(panel.editors["notes"], "wren at 0:01")
    take = window.recorder.status().take
    qtbot.waitUntil(lambda: read_sidecar(take.sidecar)["metadata"]["notes"] == "wren at 0:01", timeout=5000)
    qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    assert not window.is_recording() and window.recorder.state is TakeState.ARMED
    qtbot.waitUntil(lambda: "last take" in window.metadata_target.text(), timeout=30000)  # finalised
    info = sf.info(str(take.audio))
    assert info.samplerate == SR and info.channels == 2 and info.subtype == "PCM_24"
    assert info.frames >= 2 * SR
    sc = read_sidecar(take.sidecar)
    assert sc["audio"]["frames"] == info.frames
    assert sc["recording"]["stop_reason"] == "user"
    # the take's analysis, measured live while recording, agrees with the file measured afterwards
    from fieldrec.analyze import analyze_file

    whole = analyze_file(take.audio)
    for key in ("sample_peak_dbfs", "true_peak_dbtp", "integrated_lufs"):
        assert sc["analysis"][key] == pytest.approx(whole[key], abs=0.01), key
    assert sc["analysis"]["clipped_samples"] == whole["clipped_samples"]
    md = sc["metadata"]
    assert md["location"]["name"] == "Reed bed north"
    assert md["location"]["latitude"] == pytest.approx(47.3769)
    assert md["equipment"]["microphone"] == "MKH 8040 pair"
    assert md["tags"] == ["dawn", "reeds"]
    assert take.audio.name.endswith("_Reed-bed-north.wav")  # {date}_{time}_{location}
    # after stop the panel edits the last take (sidecar rewritten by the recorder)
    assert "last take" in window.metadata_target.text()
    qtbot.keyClicks(panel.editors["equipment.recorder"], "MixPre-6")
    qtbot.waitUntil(lambda: read_sidecar(take.sidecar)["metadata"]["equipment"]["recorder"] == "MixPre-6",
                    timeout=5000)
    assert read_sidecar(take.sidecar)["audio"]["frames"] == info.frames


def test_latitude_out_of_range_is_shown_at_the_field(window, qtbot):
    panel = window.metadata_panel
    lat = panel.editors["location.latitude"]
    qtbot.keyClicks(lat, "999")
    err = panel.error_labels["location.latitude"]
    assert err.isVisible() and "latitude" in err.text() and "90" in err.text()
    assert lat.property("invalid") is True
    assert not panel.is_valid()
    assert not panel.error_labels["location.longitude"].isVisible()
    lat.clear()
    qtbot.keyClicks(lat, "-33.9")
    assert not err.isVisible() and lat.property("invalid") is False
    qtbot.keyClicks(panel.editors["location.longitude"], "east")
    assert "number" in panel.error_labels["location.longitude"].text()


def test_marker_key_lands_at_the_current_sample_and_in_the_sidecar(window, qtbot):
    window.activateWindow()
    window.setFocus()
    assert window.record()
    wait_recorded(qtbot, window, 1.0)
    qtbot.keyClicks(window.marker_label_edit, "owl call")
    window.setFocus()  # M in the label field types an "m"; outside it, M is the marker key
    before = window.recorder.status().elapsed_s * SR
    qtbot.keyClick(window, Qt.Key.Key_M)
    after = window.recorder.status().elapsed_s * SR
    assert len(window.markers) == 1
    m = window.markers[0]
    one_frame = SR / window.config.fps
    assert before - one_frame <= m.frame <= after + one_frame
    assert m.label == "owl call"
    assert window.marker_list.count() == 1 and "owl call" in window.marker_list.item(0).text()
    assert len(window.waveform.marker_lines) == 1
    qtbot.mouseClick(window.marker_button, Qt.MouseButton.LeftButton)  # the button works too, label optional
    assert len(window.markers) == 2 and window.markers[1].frame >= m.frame
    take = window.recorder.status().take
    window.stop().wait(30)
    markers = read_sidecar(take.sidecar)["markers"]
    assert [mk["frame"] for mk in markers] == [m.frame, window.markers[1].frame]
    assert markers[0]["label"] == "owl call"


def test_space_toggles_recording_but_types_in_text_fields(window, qtbot):
    notes = window.metadata_panel.editors["location.name"]
    notes.setFocus()
    qtbot.keyClick(notes, Qt.Key.Key_Space)
    qtbot.keyClick(notes, Qt.Key.Key_R)
    assert notes.text() == " r" and not window.is_recording()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.is_recording()
    wait_recorded(qtbot, window, 0.3)
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert not window.is_recording()
    qtbot.waitUntil(lambda: window.recorder.last_result is not None, timeout=30000)  # finalised off this thread
    assert window.recorder.last_result.stop_reason == "user"


def test_clip_lamp_reset_clears_the_recorder_latch(window, qtbot):
    from tests.gui.test_widgets import snapshot

    window.meters.set_snapshot(snapshot(peak=0.0, latched=True), 0.03)
    assert window.meters.any_latched()
    qtbot.mouseClick(window.meters.clip_buttons[0], Qt.MouseButton.LeftButton)
    assert not window.meters.any_latched()
    assert window.recorder.meters().clip_latched == (False, False)


def test_closing_while_recording_asks_then_stops_cleanly(window, qtbot, gui_config):
    window.metadata_panel.set_metadata({"location": {"name": "Pond"}, "notes": "frogs"})
    qtbot.keyClicks(window.metadata_panel.editors["equipment.microphone"], "SASS")  # saved on close (debounced)
    assert window.record()
    wait_recorded(qtbot, window, 1.0)
    take = window.recorder.status().take
    window.auto_answer_close = False  # "No": the take goes on
    assert not window.close()
    assert window.is_recording()
    window.auto_answer_close = True
    assert window.close()
    assert window.recorder is None
    sc = read_sidecar(take.sidecar)
    assert sc["recording"]["stop_reason"] == "user" and sc["recording"]["state"] == "complete"
    assert sf.info(str(take.audio)).frames == sc["audio"]["frames"] >= SR
    assert sc["metadata"]["location"]["name"] == "Pond"
    # the settings were remembered for the next run
    cfg = load_config(gui_config.settings_path)
    assert cfg.device == "simulated" and cfg.format_name == "WAV 24-bit"
    assert cfg.out_dir == gui_config.out_dir and cfg.geometry
    assert cfg.metadata["location"]["name"] == "Pond" and cfg.metadata["equipment"]["microphone"] == "SASS"


def test_settings_come_back_in_a_new_window(make_window, gui_config, qtbot):
    gui_config.format_name = "FLAC 16-bit"
    gui_config.samplerate = 44100
    gui_config.metadata["location"]["name"] = "Ridge"
    w = make_window(gui_config)
    assert w.format_combo.currentText() == "FLAC 16-bit"
    assert w.rate_combo.currentData() == 44100
    assert w.recorder.settings.container == "flac" and w.recorder.settings.samplerate == 44100
    assert w.metadata_panel.editors["location.name"].text() == "Ridge"


def test_missing_remembered_device_and_bad_folder_are_explained_not_fatal(make_window, gui_config, qtbot, tmp_path):
    gui_config.device = "Interface that was unplugged"
    w = make_window(gui_config)
    assert any("not connected" in text for _t, _lvl, text in w.banner.history)
    assert w.recorder is not None and w.recorder.state is TakeState.ARMED  # fell back to the default input
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    w.folder_edit.setText(str(blocker / "sub"))
    w._settings_changed()
    assert not w.record()
    assert w.banner.isVisible() and w.banner.level == "error" and "Cannot record" in w.banner.label.text()
    assert w.recorder.state is TakeState.ARMED


def test_fft_settings_change_while_recording(window, qtbot):
    assert window.record()
    for size in (1024, 16384):
        window.fft_combo.setCurrentIndex(window.fft_combo.findData(size))
        wait_frames(qtbot, window, 3)
        assert len(window.spectrum.frequencies()) == size // 2
    window.window_combo.setCurrentIndex(window.window_combo.findData("flattop"))
    window.avg_combo.setCurrentIndex(window.avg_combo.findData(16))
    window.chan_combo.setCurrentIndex(window.chan_combo.findData(1))
    wait_frames(qtbot, window, 3)
    assert window.is_recording() and window.banner.level != "error"
    window.stop()


@pytest.mark.slow
def test_no_blocks_lost_while_the_gui_runs_48k_2ch(window, qtbot):
    assert window.record()
    wait_recorded(qtbot, window, 10.0, timeout=30000)
    st = window.recorder.status()
    assert st.overflows == ()
    assert window.frame_count > 20  # the views really were updating meanwhile (their rate: benchmarks)
    result = window.stop().wait(30)
    assert result.overflows == () and result.frames >= 10 * SR
    assert window.health.overflows.property("state") == "ok"


def test_run_entry_point_writes_settings_and_log(qapp, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from fieldrec.gui.app import LOG_FILE, run
    from fieldrec.gui.main_window import MainWindow

    settings = tmp_path / "cfg" / "gui.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"device": "simulated", "out_dir": str(tmp_path / "takes")}))
    seen = []
    poll = QTimer()

    def close_when_running():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible() and w.frame_count >= 10:
                seen.append((w.recorder.state, w.frame_count))
                poll.stop()
                w.close()

    poll.timeout.connect(close_when_running)
    poll.start(50)
    assert run([], settings_path=settings) == 0
    assert seen and seen[0][0] is TakeState.ARMED
    assert json.loads(settings.read_text())["device"] == "simulated"
    log_text = (tmp_path / "cfg" / "log" / LOG_FILE).read_text()
    assert "window shown at" in log_text and "armed simulated" in log_text and "first live frame at" in log_text


def test_device_refresh_closes_the_stream_rescans_and_rearms(window, qtbot):
    old = window.recorder
    qtbot.mouseClick(window.refresh_button, Qt.MouseButton.LeftButton)
    assert window.recorder is not None and window.recorder is not old
    assert window.recorder.state is TakeState.ARMED
    assert old.state is TakeState.IDLE  # the old stream was closed before PortAudio re-scanned
    assert window.device_combo.currentData() == "simulated"
    assert window.device_combo.findData("simulated") >= 0
    wait_frames(qtbot, window, 3)


def test_a_take_that_ends_by_itself_is_reported_and_the_transport_follows(make_window, gui_config, qtbot):
    import dataclasses

    from fieldrec.gui.main_window import MainWindow
    from fieldrec.recorder import Recorder

    w = MainWindow(recorder_factory=lambda s: Recorder(dataclasses.replace(s, duration_s=0.5)), config=gui_config)
    w.auto_answer_close = True
    qtbot.addWidget(w)
    w.show()
    assert w.record()
    qtbot.waitUntil(lambda: not w.stop_button.isEnabled(), timeout=10000)
    assert w.recorder.state is TakeState.ARMED and w.state_label.text() == "ARMED"
    qtbot.waitUntil(lambda: any("ended: duration" in t for _t, _lvl, t in w.banner.history), timeout=30000)
    result = w.recorder.last_result
    assert result.stop_reason == "duration" and result.frames == SR // 2
    assert any("ended: duration" in text for _t, _lvl, text in w.banner.history)
    assert "duration" in w.take_label.text()
    assert sf.info(str(result.paths.audio)).frames == SR // 2
    w.auto_answer_close = True
    w.close()


def test_an_invalid_field_never_blocks_recording_and_applies_once_fixed(window, qtbot):
    panel = window.metadata_panel
    qtbot.keyClicks(panel.editors["location.name"], "Heath")
    qtbot.keyClicks(panel.editors["location.latitude"], "999")
    assert window.record()
    assert window.banner.level == "warning" and "without the fields marked red" in window.banner.label.text()
    take = window.recorder.status().take
    sc = read_sidecar(take.sidecar)["metadata"]
    assert sc["location"]["name"] == "Heath" and sc["location"]["latitude"] is None
    lat = panel.editors["location.latitude"]
    lat.clear()
    qtbot.keyClicks(lat, "51.5")
    qtbot.waitUntil(lambda: read_sidecar(take.sidecar)["metadata"]["location"]["latitude"] == 51.5, timeout=5000)
    window.stop()


def test_changing_rate_and_format_while_armed_reopens_the_input(window, qtbot):
    old = window.recorder
    window.rate_combo.setCurrentIndex(window.rate_combo.findData(96000))
    assert window.recorder is not old and old.state is TakeState.IDLE
    assert window.recorder.state is TakeState.ARMED and window.recorder.settings.samplerate == 96000
    assert window.waveform.samplerate == 96000 and not window.settings_problem.isVisible()
    window.format_combo.setCurrentText("FLAC 24-bit")
    assert window.recorder.settings.container == "flac" and window.recorder.state is TakeState.ARMED
    # every rate of the simulated source is possible: none greyed out
    model = window.rate_combo.model()
    assert all(model.item(i).isEnabled() for i in range(window.rate_combo.count()))
    wait_frames(qtbot, window, 3)
    assert window.record()
    wait_recorded(qtbot, window, 0.5)
    result = window.stop().wait(30)
    assert result.paths.audio.suffix == ".flac"
    assert sf.info(str(result.paths.audio)).samplerate == 96000


def test_stop_returns_at_once_shows_finalising_and_the_next_take_records(make_window, gui_config, qtbot):
    gui_config.samplerate, gui_config.channels = 192000, 8  # a bigger file: more to hash at stop
    window = make_window(gui_config)
    assert window.record()
    wait_recorded(qtbot, window, 2.0)
    take = window.stop()
    # stop returned before the take's result existed: its finaliser runs on its own thread
    assert take is not None and take.result is None
    assert window.recorder.state is TakeState.ARMED and not window.is_recording()
    assert "finalising…" in window.take_label.text()
    assert window.health.finalising.isVisibleTo(window) and "finalising…" in window.health.finalising.text()
    assert window.record_button.isEnabled()
    assert window.record()  # the next take can start while the first one may still be finalising
    second = window.recorder.take
    first = take.wait(60)
    assert first is not None and first.stop_reason == "user" and first.sha256
    assert first.sha256 == hashlib.sha256(first.paths.audio.read_bytes()).hexdigest()
    assert read_sidecar(first.paths.sidecar)["recording"]["state"] == "complete"
    wait_recorded(qtbot, window, 0.5)
    assert window.is_recording() and window.recorder.take is second
    window.stop()
    qtbot.waitUntil(lambda: "last take" in window.metadata_target.text(), timeout=60000)
    assert not window.health.finalising.isVisibleTo(window)
    assert second.paths.audio.name in window.take_label.text() and "user" in window.take_label.text()


def test_closing_while_a_take_finalises_waits_for_it(make_window, gui_config, qtbot):
    gui_config.samplerate, gui_config.channels = 192000, 8
    window = make_window(gui_config)
    assert window.record()
    wait_recorded(qtbot, window, 2.0)
    take = window.recorder.take
    window.close()  # auto-answer yes: stop, then wait for the finaliser (never kill it)
    assert not window.isVisible()
    assert take.result is not None and take.result.sha256 == hashlib.sha256(take.paths.audio.read_bytes()).hexdigest()
    side = read_sidecar(take.paths.sidecar)
    assert side["recording"]["state"] == "complete" and side["audio"]["frames"] == sf.info(str(take.paths.audio)).frames


def test_a_hidden_view_is_not_computed_and_catches_up_when_shown(window, qtbot):
    assert window.record()
    window.spectrogram.hide()  # as when its splitter is collapsed
    wait_frames(qtbot, window, 3)
    columns, waved = window.spectrogram.total_columns, window.waveform.history.total_columns
    wait_frames(qtbot, window, 10)
    assert window.spectrogram.total_columns == columns  # no FFTs for a view nobody sees
    assert window.waveform.history.total_columns > waved  # the others go on
    window.spectrogram.show()
    qtbot.waitUntil(lambda: window.spectrogram.total_columns > columns, timeout=5000)
    window.stop()


def test_an_inactive_live_view_costs_nothing_and_catches_up(window, qtbot):
    """``LiveView.set_active(False)`` (another tab in front): no audio pulled, no meter fed; back on, the
    waveform shows the newest audio at once."""
    live = window.live
    wait_frames(qtbot, window, 5)
    live.set_active(False)
    assert not live.is_active()
    wait_frames(qtbot, window, 2)
    waved, spectra, peak = live.waveform.history.total_columns, live.spectrogram.total_columns, live.meters.bars.peak
    wait_frames(qtbot, window, 15)  # half a second of frames
    assert live.waveform.history.total_columns == waved and live.spectrogram.total_columns == spectra
    assert live.meters.bars.peak is peak  # the meters were not fed either
    live.set_active(True)
    wait_frames(qtbot, window, 2)
    # the skipped half second is drawn at once, not left as a gap in the scrolling waveform
    assert live.waveform.history.total_columns - waved >= 0.4 * live.waveform.columns / 5.0
    assert live.meters.bars.peak is not peak


def test_a_minimised_window_ticks_slowly_and_draws_nothing(window, qtbot):
    wait_frames(qtbot, window, 3)
    normal = int(1000 / window.config.fps)
    assert window.timer.interval() == normal
    window.showMinimized()
    qtbot.waitUntil(lambda: window.timer.interval() == 200, timeout=3000)
    assert not window.live.is_active()  # a minimised window: the live view pulls nothing
    columns = window.waveform.history.total_columns
    wait_frames(qtbot, window, 3, timeout=3000)  # the status still ticks
    assert window.waveform.history.total_columns == columns
    window.showNormal()
    qtbot.waitUntil(lambda: window.timer.interval() == normal, timeout=3000)
    qtbot.waitUntil(lambda: window.waveform.history.total_columns > columns, timeout=5000)


def test_the_spectra_repaint_only_when_new_audio_arrived_and_nothing_repaints_the_window(window, qtbot):
    """Frames that bring the spectrogram no new column (or the spectrum no new turn) do not repaint it, and a
    frame's repaint of a plot is its plot area only (the axes and titles are not painted again)."""
    from PySide6.QtCore import QEvent, QObject

    class Paints(QObject):
        def __init__(self):
            super().__init__()
            self.rects: dict[str, list] = {}

        def eventFilter(self, obj, ev):  # noqa: N802 (Qt name)
            if ev.type() == QEvent.Type.Paint:
                self.rects.setdefault(obj.parent().objectName(), []).append(ev.rect())
            return False

    assert window.record()
    wait_recorded(qtbot, window, 1.0)
    window.timer.stop()  # the frames of this test are driven by hand
    live, r = window.live, window.recorder
    paints = Paints()
    views = (live.waveform, live.spectrum, live.spectrogram)
    for v in views:
        v.viewport().installEventFilter(paints)
    try:
        for _ in range(2):  # each view takes what arrived before the timer stopped (on its turn)
            live.update_frame(r, r.status(), 0.0, update_text=False)
        qtbot.wait(50)
        paints.rects.clear()
        columns = live.spectrogram.total_columns
        for _ in range(6):  # no time has passed: no new audio for any view
            live.update_frame(r, r.status(), 0.0, update_text=False)
            qtbot.wait(5)
        assert live.spectrogram.total_columns == columns
        assert "spectrogramView" not in paints.rects and "waveformView" not in paints.rects
        for _ in range(6):  # a frame's worth of audio each: every view gets new data on its turn
            live.update_frame(r, r.status(), 1 / 30, update_text=False)
            qtbot.wait(5)
        assert live.spectrogram.total_columns > columns
        for v in views:
            rects = paints.rects[v.objectName()]
            assert 1 <= len(rects) <= 6
            area = v.getPlotItem().vb.sceneBoundingRect().toAlignedRect().adjusted(-2, -2, 2, 2)
            assert all(area.contains(rect) for rect in rects), (v.objectName(), area, rects)  # the plot area only
        assert len(paints.rects["spectrogramView"]) <= 3  # on alternate frames (SPECTRA_EVERY)
    finally:
        window.timer.start()
        window.stop()


def _screen_image(window):
    """What the window shows now (the offscreen platform's backing store), not a fresh rendering."""
    from PySide6.QtWidgets import QApplication

    return QApplication.primaryScreen().grabWindow(window.winId()).toImage()


def test_a_frame_paints_the_plots_without_their_scenes_paint_pass_and_with_the_scenes_pixels(window, qtbot):
    """A frame's new columns (waveform, spectrogram) and curves (spectrum) are painted onto the viewports
    without their scenes' paint pass (QGraphicsView's walk over pyqtgraph's items cost more than the painting),
    and the window shows exactly what the scenes paint (axes and ticks included); with a marker on the lanes
    the waveform's scene paints."""
    assert window.record()
    wait_recorded(qtbot, window, 1.0)
    window.timer.stop()  # the frames of this test are driven by hand
    live, r = window.live, window.recorder
    scene_paints = []
    views = (live.waveform, live.spectrogram, live.spectrum)
    for v in views:
        v.scene().sigPrepareForPaint.connect(lambda v=v: scene_paints.append(v.objectName()))
    try:
        qtbot.wait(50)
        scene_paints.clear()
        columns = (live.waveform.history.total_columns, live.spectrogram.total_columns)
        curve = live.spectrum.curve.getData()[1]
        for _ in range(4):
            time.sleep(0.04)
            live.update_frame(r, r.status(), 1 / 30, update_text=False)
            qtbot.wait(5)
        assert live.waveform.history.total_columns > columns[0] and live.spectrogram.total_columns > columns[1]
        assert not np.array_equal(live.spectrum.curve.getData()[1], curve)
        assert scene_paints == []
        shown = _screen_image(window)
        for v in views:
            v.viewport().update()  # the whole view: its scene paints it
        qtbot.waitUntil(lambda: len(scene_paints) == 3)
        qtbot.wait(20)
        assert _screen_image(window) == shown
        window.add_marker()
        qtbot.wait(20)
        scene_paints.clear()
        time.sleep(0.04)
        live.update_frame(r, r.status(), 1 / 30, update_text=False)
        qtbot.waitUntil(lambda: "waveformView" in scene_paints)  # the marker line is drawn over the lanes
    finally:
        window.timer.start()
        window.stop()
