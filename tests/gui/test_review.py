"""The review view on a take recorded in the test: overview and spectrogram of the right length, meters of a
selection equal `fieldrec analyze` of the same frames, markers moved with the mouse land in the sidecar (with
undo), and playback through the virtual output plays exactly the selected frames."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from fieldrec.analyze import analyze_file
from fieldrec.gui.config import GuiConfig
from fieldrec.gui.review import ReviewWidget
from tests.takes import copy_take, record_take

METER_KEYS = ("frames", "sample_peak_dbfs", "true_peak_dbtp", "rms_dbfs", "integrated_lufs", "momentary_max_lufs",
              "clipped_samples", "clip_events", "per_channel", "peaks", "noise_floor_dbfs")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    return record_take(tmp_path_factory.mktemp("review"), 2.0, location="Review")


@pytest.fixture
def take(recorded, tmp_path) -> Path:
    return copy_take(recorded, tmp_path)


@pytest.fixture
def view(qtbot, tmp_path, qapp):
    from fieldrec.gui.theme import apply_dark_theme

    apply_dark_theme(qapp)
    w = ReviewWidget(GuiConfig(settings_path=tmp_path / "config" / "gui.json"), cache_folder=tmp_path / "cache")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close_take()


def _open(qtbot, view: ReviewWidget, take: Path) -> None:
    with qtbot.waitSignal(view.overview_ready, timeout=30000):
        view.open_take(take)
    qtbot.waitUntil(lambda: view.last_spectrum is not None and view.last_spectrogram is not None
                    and not view.spectrogram_pending, timeout=30000)


def test_overview_and_spectrogram_cover_the_take(qtbot, view, take):
    _open(qtbot, view, take)
    data, sr = sf.read(str(take), dtype="float32", always_2d=True)
    frames = data.shape[0]
    ov = view.overview
    assert (ov.frames, ov.channels, ov.samplerate) == (frames, 2, sr) and not view.overview_cached
    x, y = view.curves[0].getData()
    assert x[0] == 0 and frames / sr - x[-1] < 2 * frames / sr / view._columns()
    assert np.isclose(y.max(), data[:, 0].max()) and np.isclose(y.min(), data[:, 0].min())
    sg = view.last_spectrogram
    assert (sg.start, sg.stop) == (0, frames) and sg.db.shape[0] == 1024 // 2 + 1
    assert 0 < sg.times[0] and sg.times[-1] < frames / sr
    rect = view.image.mapRectToParent(view.image.boundingRect())
    assert np.isclose(rect.left(), 0) and np.isclose(rect.width(), frames / sr)
    assert np.isclose(rect.height(), sr / 2)

    view.set_fft_size(4096)  # the worker may still deliver an earlier request first
    qtbot.waitUntil(lambda: view.last_spectrogram.db.shape[0] == 2049, timeout=30000)
    view.set_colour_range(-100, -30)
    assert view.image.levels.tolist() == [-100, -30]

    view.wave_plot.setXRange(1.0, 1.01, padding=0)  # 480 frames: fewer than the overview's buckets
    x, y = view.curves[1].getData()
    a, b = view.visible_frames()
    assert np.isclose(y.max() + 2.4, data[a:b, 1].max(), atol=1e-6)  # lane 2 sits 2.4 lower

    reopened = ReviewWidget(cache_folder=view.cache_folder)
    qtbot.addWidget(reopened)
    with qtbot.waitSignal(reopened.overview_ready, timeout=30000):
        reopened.open_take(take)
    assert reopened.overview_cached and np.array_equal(reopened.overview.maxs, ov.maxs)
    reopened.close_take()


class _Paints(QObject):
    """Counts the paint events of a widget, and what ``probe()`` said at each."""

    def __init__(self, widget, probe) -> None:
        super().__init__()
        self.seen: list = []
        self.probe = probe
        widget.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802 (Qt name)
        if ev.type() == QEvent.Type.Paint:
            self.seen.append(self.probe())
        return False


def _wheel_burst(qtbot, view: ReviewWidget, at: float, clicks: int) -> tuple[list, list]:
    """``abs(clicks)`` wheel events (in for > 0) at the fraction ``at`` of the waveform's width, all queued
    before the event loop runs (one frame of a fast wheel); returns what the waveform's and the spectrogram's
    paints saw."""
    port = view.wave.viewport()
    box = view.wave_box.sceneBoundingRect()
    pos = QPointF(view.wave.mapFromScene(QPointF(box.left() + at * box.width(), box.center().y())))
    qtbot.wait(50)  # nothing pending
    wave = _Paints(port, lambda: (view.envelopes_drawn, tuple(view.wave_plot.viewRange()[0])))
    spec = _Paints(view.spec.viewport(), lambda: tuple(view.spec_plot.viewRange()[0]))
    for _ in range(abs(clicks)):
        QApplication.postEvent(port, QWheelEvent(pos, port.mapToGlobal(pos), QPoint(), QPoint(0, 120 if clicks > 0 else -120),
                                                 Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                                 Qt.ScrollPhase.NoScrollPhase, False))
    qtbot.wait(100)
    port.removeEventFilter(wave)
    view.spec.viewport().removeEventFilter(spec)
    return wave.seen, spec.seen


def test_ten_wheel_events_in_one_frame_give_one_envelope_and_one_paint(qtbot, view, take):
    _open(qtbot, view, take)
    dur = view.frames / view.samplerate
    t = 0.25 * dur  # the time under the pointer
    before = view.envelopes_drawn
    wave, spec = _wheel_burst(qtbot, view, 0.25, 10)
    lo, hi = view.wave_plot.viewRange()[0]
    # one envelope, and one paint of each plot, already showing it (none of an old envelope at the new range)
    assert view.envelopes_drawn == before + 1
    assert wave == [(before + 1, (lo, hi))] and spec == [(lo, hi)]
    # the ten steps of pyqtgraph's wheel (1.02 ** (120 / 8) each) about the time under the pointer
    scale = 1.02 ** (-120 * 10 / 8)
    assert np.isclose(hi - lo, dur * scale, rtol=1e-6)
    assert np.isclose(lo, t - t * scale, atol=dur / view.wave_box.width())
    x, _y = view.curves[0].getData()
    assert lo - (hi - lo) / view._columns() <= x[0] and x[-1] <= hi

    centre = (lo + hi) / 2
    _wheel_burst(qtbot, view, 0.5, 400)  # far past the narrowest view: 64 frames
    lo, hi = view.wave_plot.viewRange()[0]
    assert np.isclose(hi - lo, 64 / view.samplerate) and lo <= centre <= hi
    _wheel_burst(qtbot, view, 0.9, -400)  # far past the whole take
    assert np.allclose(view.wave_plot.viewRange()[0], (0, dur))
    _wheel_burst(qtbot, view, 0.01, 5)
    _wheel_burst(qtbot, view, 0.99, -3)  # out at the right edge of a view that starts the take: kept inside
    lo, hi = view.wave_plot.viewRange()[0]
    assert lo == 0 and hi < dur
    _wheel_burst(qtbot, view, 0.5, -400)
    _wheel_burst(qtbot, view, 0.99, 5)
    _wheel_burst(qtbot, view, 0.01, -3)  # and at the left edge of one that ends it
    lo, hi = view.wave_plot.viewRange()[0]
    assert lo > 0 and hi == dur


def test_waveform_columns_are_evenly_spaced_at_most_a_pixel_apart(qtbot, view, tmp_path):
    # 15 s of a 20 s take on ~1000 pixels: 1406 overview buckets, one or two per column; placed at their
    # bucket edges the columns were 0.7 or 1.5 px apart and the 1.5 px gaps left dark stripes
    path = tmp_path / "long.wav"
    sf.write(str(path), 0.5 * np.random.default_rng(3).standard_normal(20 * 48000).astype(np.float32), 48000)
    with qtbot.waitSignal(view.overview_ready, timeout=30000):
        view.open_take(path)
    view.wave_plot.setXRange(2.0, 17.0, padding=0)
    x = view.curves[0].getData()[0][::2]
    n_buckets = 15 * 48000 // view.overview.bucket
    assert view._columns() < n_buckets < 2 * view._columns() and len(x) == view._columns()
    px = np.diff(x) * view.wave_box.width() / 15.0
    assert np.allclose(px, px[0]) and px.max() <= 1.0
    assert abs(x[0] - 2.0) <= view.overview.bucket / 48000 and abs(x[-1] + 15.0 / len(x) - 17.0) < 15.0 / len(x)

    wide = view.wave_box.width()
    view.resize(1000, 900)  # narrower: the envelope follows the new width, still a column per pixel
    qtbot.waitUntil(lambda: view.wave_box.width() < wide - 100)
    qtbot.waitUntil(lambda: len(view.curves[0].getData()[0]) == 2 * view._columns())


def test_selection_meters_equal_analyze_of_the_same_frames(qtbot, view, take, tmp_path):
    _open(qtbot, view, take)
    sr = view.samplerate
    # Shift+drag on the waveform selects, as a user does
    vb = view.wave_box
    left = vb.mapViewToScene(QPointF(0.3, 0)).x()
    right = vb.mapViewToScene(QPointF(1.7, 0)).x()
    mid_y = vb.sceneBoundingRect().center().y()
    port = view.wave.viewport()
    p0 = view.wave.mapFromScene(QPointF(left, mid_y))
    p1 = view.wave.mapFromScene(QPointF(right, mid_y))
    with qtbot.waitSignal(view.meters_ready, timeout=30000) as got:
        qtbot.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, p0)
        for i in range(1, 11):
            qtbot.mouseMove(port, QPoint(p0.x() + (p1.x() - p0.x()) * i // 10, p0.y()))
        qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, p1)
    a, b = view.selection
    assert abs(a / sr - 0.3) < 0.02 and abs(b / sr - 1.7) < 0.02
    meters = got.args[0]
    info = sf.info(str(take))
    data, _ = sf.read(str(take), start=a, stop=b, dtype="float32", always_2d=True)
    part = tmp_path / "selection.wav"
    sf.write(str(part), data, sr, subtype=info.subtype)
    reference = analyze_file(part)
    assert {k: meters[k] for k in METER_KEYS} == {k: reference[k] for k in METER_KEYS}
    table = [view.meter_table.item(2, j).text() for j in range(1, 6)]
    assert table[0] == f"{reference['sample_peak_dbfs']:.1f}" and table[3] == str(reference["clipped_samples"])
    qtbot.waitUntil(lambda: "selection" in view.spectrum_plot.titleLabel.text, timeout=30000)
    assert view.last_spectrum.segments > 0 and not view.last_spectrum.sampled


def _drag_line(qtbot, view: ReviewWidget, t_from: float, t_to: float) -> None:
    vb = view.wave_box
    y = vb.sceneBoundingRect().center().y()
    port = view.wave.viewport()
    p0 = view.wave.mapFromScene(QPointF(vb.mapViewToScene(QPointF(t_from, 0)).x(), y))
    p1 = view.wave.mapFromScene(QPointF(vb.mapViewToScene(QPointF(t_to, 0)).x(), y))
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p0)
    for i in range(1, 11):
        qtbot.mouseMove(port, QPoint(p0.x() + (p1.x() - p0.x()) * i // 10, p0.y()))
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p1)


def test_markers_added_moved_renamed_and_undone_in_the_sidecar(qtbot, view, take):
    _open(qtbot, view, take)
    sr = view.samplerate
    side = take.with_suffix(".json")
    view.set_cursor(int(0.5 * sr))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_M)  # M adds a marker at the cursor
    saved = json.loads(side.read_text())["markers"]
    assert saved == [{"frame": int(0.5 * sr), "time_s": 0.5, "label": "marker 1", "length_frames": 0}]

    with qtbot.waitSignal(view.markers_saved, timeout=5000):
        _drag_line(qtbot, view, 0.5, 1.2)
    (moved,) = json.loads(side.read_text())["markers"]
    assert abs(moved["time_s"] - 1.2) < 0.02 and moved["frame"] == round(moved["time_s"] * sr)
    assert moved["label"] == "marker 1"
    import wavinfo

    cues = list(wavinfo.WavInfoReader(str(take)).cues.each_cue())
    assert [c[1] for c in cues] == [moved["frame"]]  # the WAV's cue chunk moved with it

    item = view.marker_table.item(0, 2)
    item.setText("owl call")  # as the table's editor commits it
    assert json.loads(side.read_text())["markers"][0]["label"] == "owl call"

    view.set_selection((int(0.2 * sr), int(0.4 * sr)))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_R)
    regions = [m for m in json.loads(side.read_text())["markers"] if m.get("length_frames")]
    assert regions == [{"frame": int(0.2 * sr), "time_s": 0.2, "label": "region 2",
                        "length_frames": int(0.2 * sr)}]

    for _ in range(3):  # region, rename, move undone: the marker is back where M put it
        qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert json.loads(side.read_text())["markers"] == saved
    qtbot.mouseClick(view.redo_button, Qt.MouseButton.LeftButton)
    assert abs(json.loads(side.read_text())["markers"][0]["time_s"] - 1.2) < 0.02

    view.marker_table.selectRow(0)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert json.loads(side.read_text())["markers"] == []


def test_export_import_from_the_view(qtbot, view, take, tmp_path):
    _open(qtbot, view, take)
    view.add_marker(12345, "a")
    view.add_region((20000, 30001), "b c")
    out = tmp_path / "m.txt"
    view.export_markers_to(out, "raven")
    before = view.markers
    view.delete_marker(0)
    view.delete_marker(0)
    assert view.import_markers_from(out) == 2 and view.markers == before
    assert [m["frame"] for m in json.loads(take.with_suffix(".json").read_text())["markers"]] == [12345, 20000]
    (tmp_path / "bad.txt").write_text("1.0\tnope\tx\n")
    assert view.import_markers_from(tmp_path / "bad.txt") == 0
    assert "line 1" in view.status_text and view.markers == before


def test_playback_plays_the_selection_through_the_virtual_output(qtbot, view, take, tmp_path, pulse_output):
    pulse_rig = pulse_output
    view.config.output_device = pulse_rig.output_name
    _open(qtbot, view, take)
    sr = view.samplerate
    a, b = int(0.5 * sr), int(1.5 * sr)
    view.set_selection((a, b))
    raw = tmp_path / "out.f32"
    rec = pulse_rig.record_output(raw)
    time.sleep(1.5)  # the idle sink's monitor starts delivering about 1 s after the recording starts
    positions = []
    try:
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_Space)
        assert view.playing
        qtbot.waitUntil(lambda: positions.append(view.cursor_line.value()) or not view.playing, timeout=15000)
        time.sleep(0.5)
    finally:
        rec.terminate()
        rec.wait(5)
    got = np.fromfile(raw, "<f4").reshape(-1, 2)
    heard = got[np.any(got != 0, axis=1)]  # the rig pads with silence; the played frames are exact
    data, _ = sf.read(str(take), dtype="float32", always_2d=True)
    sel = data[a:b]
    # the rig's sink does not rewind (pulse_rig.load_output), so its monitor hears the whole selection
    assert np.array_equal(heard, sel), "the output did not carry exactly the selected frames"
    followed = [p for p in positions if a / sr < p <= b / sr]
    assert len(followed) >= 5 and followed == sorted(followed)


def test_playback_errors_are_said(qtbot, view, take, pulse_output):
    pulse_rig = pulse_output
    from fieldrec.audio.devices import DeviceError
    from fieldrec.audio.playback import Player

    player = Player(pulse_rig.output_name)
    with pytest.raises(DeviceError, match="cannot play through 'rig_playback' at 1 Hz"):
        player.play(iter([np.zeros((10, 2), np.float32)]), 1, 2, 0, 10)

    def broken():
        yield np.zeros((4800, 2), np.float32)
        raise OSError("the card was pulled")

    player.play(broken(), 48000, 2, 0, 9600)
    assert player.wait(10) and "the card was pulled" in player.error
    with pytest.raises(DeviceError, match="no output device matches 'no-such-output'"):
        Player("no-such-output").play(iter([]), 48000, 2, 0, 0)
    view.config.output_device = "no-such-output"
    _open(qtbot, view, take)
    assert not view.start_playback() and "no output device matches" in view.status_text


def test_faults_said_on_the_status_line(qtbot, view, take, tmp_path):
    _open(qtbot, view, take)
    view.add_marker(view.frames + 10, "late")  # outside the take: refused, nothing saved
    assert "markers not saved" in view.status_text and "outside the take" in view.status_text
    assert json.loads(take.with_suffix(".json").read_text())["markers"] == []
    with qtbot.waitSignal(view.spectrogram_ready, timeout=10000, raising=False):
        view._spec_worker.request(0, 1000, 0, 50, None)  # FFT size 0: the worker says why and goes on
    qtbot.waitUntil(lambda: "spectrogram failed" in view.status_text, timeout=10000)
    view.set_fft_size(2048)  # the worker goes on: the next request is answered
    assert view.spectrogram_pending
    qtbot.waitUntil(lambda: not view.spectrogram_pending and view.last_spectrogram.db.shape[0] == 1025,
                    timeout=10000)

    def broken(cancel):
        raise OSError("disk unplugged")

    view._start_worker("meters", broken)
    qtbot.waitUntil(lambda: "meters failed: disk unplugged" in view.status_text, timeout=10000)

    view.output_combo.setCurrentIndex(view.output_combo.count() - 1)  # saved in the settings file
    saved = json.loads(view.config.settings_path.read_text())
    assert saved["output_device"] == view.output_combo.currentData()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    view.config.settings_path = blocker / "gui.json"
    view.output_combo.setCurrentIndex(0)
    assert "settings not saved" in view.status_text


def test_overview_build_can_be_cancelled(take):
    from fieldrec.review.overview import OverviewCancelled, build_overview

    with pytest.raises(OverviewCancelled):
        build_overview(take, cancelled=lambda: True)


def test_overflows_drawn_where_the_sidecar_says_and_filtered_in_the_library(qtbot, view, tmp_path):
    from fieldrec.gui.library import LibraryWidget
    from tests.takes import record_take_with_overflow

    take = record_take_with_overflow(tmp_path / "takes")
    record_take(tmp_path / "takes", 1.0, location="calm")
    events = json.loads(take.with_suffix(".json").read_text())["recording"]["overflows"]
    _open(qtbot, view, take)
    lines = sorted({round(line.value(), 6) for plot, line in view.overflow_lines if plot is view.wave_plot})
    assert lines == sorted({round(e["frame"] / view.samplerate, 6) for e in events}) and lines
    assert {plot for plot, _ in view.overflow_lines} == {view.wave_plot, view.spec_plot}
    lib = LibraryWidget([tmp_path / "takes"], poll_ms=0)
    qtbot.addWidget(lib)
    lib.overflow.setCurrentIndex(lib.overflow.findText("yes"))
    assert [r.location for r in lib.visible_records()] == ["starved"]
    assert lib.visible_records()[0].overflows == len(events)
    lib.overflow.setCurrentIndex(lib.overflow.findText("no"))
    assert [r.location for r in lib.visible_records()] == ["calm"]
