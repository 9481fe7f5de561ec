"""The view pieces on plain arrays and snapshots: history, ballistics, meters, spectra, settings file."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage

from fieldrec.analysis.meters import MeterSnapshot
from fieldrec.gui import dsp
from fieldrec.gui.ballistics import FALL_DB_PER_S, Ballistics
from fieldrec.gui.config import GuiConfig, load_config, save_config
from fieldrec.gui.meter_widget import MeterPanel, db_to_fraction
from fieldrec.gui.plots import LANE, SpectrogramView, SpectrumView, WaveformView, _premultiplied
from fieldrec.gui.status_widgets import HealthStrip, fmt_duration
from fieldrec.recorder import OverflowEvent, TakePaths, TakeState, TakeStatus


def snapshot(channels=2, peak=-20.0, rms=-30.0, latched=False, **kw) -> MeterSnapshot:
    fields = dict(
        frames=4800,
        peak_dbfs=(peak,) * channels,
        rms_dbfs=(rms,) * channels,
        true_peak_dbtp=(peak + 0.3,) * channels,
        max_peak_dbfs=(peak,) * channels,
        max_true_peak_dbtp=(peak + 0.3,) * channels,
        clipped_samples=(0,) * channels,
        clip_events=(0,) * channels,
        clip_latched=(latched,) * channels,
        momentary_lufs=-23.0,
        short_term_lufs=-24.5,
        integrated_lufs=None,
        loudness_range_lu=None,
        dc_offset=(0.0,) * channels,
    )
    fields.update(kw)
    return MeterSnapshot(**fields)


# ---------------------------------------------------------------- waveform history
def test_minmax_history_keeps_a_single_sample_spike_and_every_frame():
    h = dsp.MinMaxHistory(columns=100, channels=2, frames_per_column=480)
    x = np.zeros((48000, 2), np.float32)
    x[12345, 1] = -0.9  # one sample: must survive downsampling by 480
    # fed in odd-sized pieces: the remainder carries over, no sample is skipped
    for a, b in ((0, 1000), (1000, 1001), (1001, 30000), (30000, 48000)):
        h.push(x[a:b])
    assert h.total_columns == 100
    mn, mx = h.ordered()
    assert mn[:, 1].min() == pytest.approx(-0.9)
    assert np.argmin(mn[:, 1]) == 12345 // 480
    inter = h.interleaved(1)
    assert inter.shape == (200,) and inter.min() == pytest.approx(-0.9)


def test_minmax_history_wraps_newest_last():
    h = dsp.MinMaxHistory(columns=10, channels=1, frames_per_column=2)
    h.push(np.arange(50, dtype=np.float32).reshape(-1, 1))
    mn, mx = h.ordered()
    assert list(mx[:, 0]) == [31, 33, 35, 37, 39, 41, 43, 45, 47, 49]


# ---------------------------------------------------------------- ballistics
def test_ballistics_fast_attack_iec_fallback_and_two_second_hold():
    b = Ballistics(1)
    level, hold = b.update([0.0], 0.033)
    assert level[0] == 0.0 and hold[0] == 0.0  # attack is instantaneous
    t = 0.0
    while t < 1.7 - 1e-9:  # 20 dB in 1.7 s
        level, hold = b.update([-math.inf], 0.01)
        t += 0.01
    assert level[0] == pytest.approx(-20.0, abs=0.2)
    assert FALL_DB_PER_S == pytest.approx(11.76, abs=0.01)
    assert hold[0] == 0.0  # still held at 1.7 s
    for _ in range(40):
        level, hold = b.update([-math.inf], 0.01)
    assert hold[0] < 0.0  # released after 2 s, falling at the same rate
    assert hold[0] >= level[0]


# ---------------------------------------------------------------- meters
def test_meter_scale_is_monotonic_and_floored():
    vals = [db_to_fraction(d) for d in (-90, -60, -40, -20, -6, -3, 0)]
    assert vals[0] == vals[1] == 0.0 and vals[-1] == 1.0
    assert all(a <= b for a, b in zip(vals, vals[1:], strict=False))
    assert db_to_fraction(-math.inf) == 0.0


def test_clip_lamp_latches_until_clicked(qtbot):
    panel = MeterPanel(2)
    qtbot.addWidget(panel)
    panel.set_snapshot(snapshot(peak=0.0, latched=True), 0.033)
    assert panel.latched == [True, True]
    # the recorder clears its latch only on reset_clips(): the lamp stays lit meanwhile
    panel.set_snapshot(snapshot(peak=-40.0, latched=False), 0.033)
    assert panel.any_latched()
    assert panel.clip_buttons[0].property("latched") is True
    with qtbot.waitSignal(panel.clipResetRequested, timeout=1000):
        qtbot.mouseClick(panel.clip_buttons[1], Qt.MouseButton.LeftButton)
    assert not panel.any_latched()
    assert panel.clip_buttons[0].property("latched") is False


def test_meter_readouts_show_true_peak_and_short_term_loudness(qtbot):
    panel = MeterPanel(2)
    qtbot.addWidget(panel)
    panel.set_snapshot(snapshot(peak=-0.5, short_term_lufs=-18.25, momentary_lufs=None), 0.033)
    assert panel.readouts["max_tp"].text() == "-0.2"
    assert panel.readouts["short_term"].text() == "-18.2"
    assert panel.readouts["momentary"].text() == "—"
    panel.set_snapshot(snapshot(channels=4), 0.033)  # channel count follows the snapshot
    assert len(panel.clip_buttons) == 4


@pytest.mark.parametrize("channels", [2, 4])
def test_clip_lamp_text_fits_its_lamp(qtbot, channels):
    """With four channels the lamps once read "CLIF": the window's button padding left too little room."""
    from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionButton

    from fieldrec.gui.theme import apply_dark_theme

    apply_dark_theme(QApplication.instance())
    panel = MeterPanel(channels)
    qtbot.addWidget(panel)
    panel.resize(250, 600)  # the live view's narrowest meter panel
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_snapshot(snapshot(channels=channels, latched=True), 0.033)  # lit: the border is widest
    for b in panel.clip_buttons:
        assert b.text() == "CLIP"
        opt = QStyleOptionButton()
        b.initStyleOption(opt)
        # the room the style leaves for the text (the style sheet's padding and border taken off)
        inner = b.style().subElementRect(QStyle.SubElement.SE_PushButtonContents, opt, b).width()
        assert b.fontMetrics().horizontalAdvance("CLIP") <= inner, (b.width(), inner)


# ---------------------------------------------------------------- spectra
def test_spectrum_finds_a_sine_at_its_level():
    sr, nfft = 48000, 4096
    f0 = 64 * sr / nfft  # bin centre: 750 Hz
    t = np.arange(2 * nfft) / sr
    x = 0.5 * np.sin(2 * np.pi * f0 * t)
    f, db = dsp.spectrum_dbfs(np.stack([x, x], axis=1), sr, nfft, "hann")
    k = int(np.argmax(db))
    assert f[k] == pytest.approx(f0)
    assert db[k] == pytest.approx(-6.02, abs=0.1)


def test_spectrum_view_averages_and_holds_peaks(qtbot):
    view = SpectrumView()
    qtbot.addWidget(view)
    view.set_range(48000)
    view.averaging = 4
    f = np.linspace(0, 24000, 2049)
    quiet = np.full(2049, -100.0)
    loud = quiet.copy()
    loud[200] = -10.0
    view.update_spectrum(f, quiet)
    view.update_spectrum(f, loud)
    assert len(view.frequencies()) == 2048  # every bin but DC (the axis is logarithmic) is averaged
    xs, ys = view.hold_curve.getData()
    assert len(xs) <= max(64, view.plot_item.vb.width()) < 2048  # drawn: one point per pixel column
    k = int(np.argmax(ys))  # the peak survives the reduction to pixel columns, at its level
    assert ys[k] == pytest.approx(-10 * math.log10(4) - 10 + 0.0, abs=0.2)  # a quarter of the power
    assert xs[k] <= math.log10(f[200]) < xs[k + 1]
    assert view.peak_frequency() == pytest.approx(f[200])
    view.reset()
    view.update_spectrum(f, quiet)
    assert view.hold_curve.getData()[1].max() == pytest.approx(-100.0)


def test_spectrogram_ring_puts_a_tone_in_the_right_row_with_fixed_levels(qtbot):
    sr = 48000
    view = SpectrogramView(columns=50)
    qtbot.addWidget(view)
    view.configure(sr, 1 / 30)
    t = np.arange(sr) / sr
    x = 0.5 * np.sin(2 * np.pi * 1000 * t)
    freqs, cols = dsp.spectrogram_columns_db(x, sr, 2048, 1600)
    view.add_columns(freqs, np.maximum(cols, view.levels[0]))
    view.refresh()
    img = view.image()
    assert img.shape == (view.ROWS, 50)
    centres, _ = dsp.log_frequency_map(freqs, view.ROWS)
    row = int(np.argmax(img[:, -1]))
    assert 900 < centres[row] < 1100
    assert np.all(img[:, 0] == view.levels[0])  # not yet filled columns sit at the floor
    # the painted colours: fixed levels, the tone bright, the floor the colour map's first colour
    rgb = view.image_item.buffer[:, (view.pos - 1) % 50]
    bright = lambda v: ((v >> 16) & 255) + ((v >> 8) & 255) + (v & 255)  # noqa: E731
    assert bright(rgb[row]) > 400
    assert np.all(view.image_item.buffer[:, view.pos] == view._lut[0])


def test_waveform_view_draws_min_max_columns_and_markers(qtbot):
    view = WaveformView(48000, 2, seconds=1.0, columns=100)
    qtbot.addWidget(view)
    x = np.zeros((48000, 2), np.float32)
    x[-10, 0] = 0.75
    view.push(x)
    view.add_marker(frame=24000, label="owl", file_frame_now=48000)
    view.refresh(file_frame_now=48000)
    xs, mins, maxs = view.drawn(0)
    assert len(xs) == 100 and maxs.max() == pytest.approx(0.75) and mins.min() == 0.0
    assert view.marker_lines[0][1].value() == pytest.approx(-0.5)
    # the painted lanes: the spike's column reaches up to 0.75 of the lane's half height, in channel 1's
    # colour; the quiet columns are one row at the lane's centre; off the trace the image is the background
    img = view.image.buffer  # row 0 at the top of the plot, columns in the history's ring order
    rows_per_unit = img.shape[0] / (view._y1 - view._y0)
    col = (view.history.pos - 1) % 100  # the newest column holds the spike
    lit = np.flatnonzero(np.isin(img[:, col], view._colours))
    assert img[lit[0], col] == view._colours[0] and img[lit[-1], col] == view._colours[1]
    assert view._y1 - lit[0] / rows_per_unit == pytest.approx(0.75, abs=1.5 / rows_per_unit)
    quiet = np.flatnonzero(np.isin(img[:, (col - 50) % 100], view._colours))
    assert len(quiet) == 2  # one row per lane
    assert set(np.unique(img[: lit[0], col])) <= {view._bg, int(view._column[0])}


def test_waveform_rasterises_eight_lanes_in_one_pass_each_in_its_own_rows(qtbot):
    """Channel c's column spans its own lane's rows from its max down to its min, in its colour."""
    view = WaveformView(48000, 8, seconds=1.0, columns=100)
    qtbot.addWidget(view)
    x = np.zeros((480 * 100, 8), np.float32)
    levels = np.linspace(-0.9, 0.9, 8, dtype=np.float32)
    x[-960:] = levels  # the two newest columns: a constant per channel (a column also reaches its neighbour)
    x[-1] = levels + 0.05
    view.push(x)
    view.refresh()
    img = view.image.buffer
    col = img[:, (view.history.pos - 1) % 100]
    rows_per_unit = img.shape[0] / (view._y1 - view._y0)
    for c, colour in enumerate(view._colours):
        lit = np.flatnonzero(col == colour)
        top, bottom = view._y1 - (lit[0] + 0.5) / rows_per_unit, view._y1 - (lit[-1] + 0.5) / rows_per_unit
        assert lit[-1] - lit[0] + 1 == len(lit)  # one run of rows
        assert top == pytest.approx(levels[c] + 0.05 - LANE * c, abs=1.5 / rows_per_unit)
        assert bottom == pytest.approx(levels[c] - LANE * c, abs=1.5 / rows_per_unit)


def test_waveform_lanes_reach_the_screen_unscaled_with_the_grid_under_the_trace(qtbot):
    """The lane image is copied to the screen as it is (one image pixel per screen pixel) and the view does not
    fill the background under it; the grid's horizontal lines lie under the trace, its vertical lines show on
    the background and leave the trace's colour (lightened at most)."""
    view = WaveformView(48000, 2, seconds=1.0)
    view.follow_width = True
    qtbot.addWidget(view)
    view.resize(700, 300)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.columns == int(view.plot_item.vb.width()))
    x = 0.5 * np.sin(2 * np.pi * 3 * np.arange(48000) / 48000).astype(np.float32)
    view.push(np.stack([x, -x], axis=1))
    view.refresh()
    shot = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    blit = view.image.blit_rect(view.image.sceneTransform() * view.viewportTransform())  # as painted
    assert blit is not None and (blit.width(), blit.height()) == (view.columns, view._rows)
    screen = np.frombuffer(shot.constBits(), np.uint32).reshape(shot.height(), shot.bytesPerLine() // 4)
    drawn = screen[blit.top() : blit.bottom() + 1, blit.left() : blit.right() + 1]
    ring = np.concatenate([view.image.buffer[:, view.image.pos :], view.image.buffer[:, : view.image.pos]], axis=1)
    # the screen is the image, but for the vertical grid lines (and the axes' ticks, 5 px into the plot)
    drawn, ring = drawn[:-6, 6:], ring[:-6, 6:]
    to_device = view.image.sceneTransform() * view.viewportTransform()
    lines_at = [to_device.map(QPointF(x, 0.0)).x() - blit.left() - 6 for x in view.grid._vlines.ndarray()[:, 0]]
    lines_at = [x for x in lines_at if x < drawn.shape[1] - 1]  # the line at 0 s lies on the plot's edge
    grid_columns = np.flatnonzero((drawn != ring).any(axis=0))
    assert len(grid_columns) == len(lines_at) > 0
    assert np.allclose(grid_columns, np.sort(lines_at), atol=1.0)
    grid = _premultiplied(view.grid.colour.name())
    lines = drawn[:, grid_columns]
    background = ring[:, grid_columns] == view._bg
    assert np.all(lines[background] == grid)  # the grid shows on the background
    on_trace = np.isin(ring[:, grid_columns], view._colours)
    assert on_trace.any()  # the sine crosses the grid lines
    trace = ring[:, grid_columns][on_trace]
    lighter = np.zeros_like(trace)
    for shift in (0, 8, 16):  # per colour channel the lighter of trace and grid: the trace's colours stay
        lighter |= np.maximum((trace >> shift) & 255, (grid >> shift) & 255) << shift
    assert np.all(lines[on_trace] & 0xFFFFFF == lighter & 0xFFFFFF)
    assert np.all(lines[on_trace] != grid)


# ---------------------------------------------------------------- health strip
def _status(**kw) -> TakeStatus:
    base = dict(state=TakeState.RECORDING, elapsed_s=12.0, frames_written=576000, file_bytes=3_456_000,
                disk_seconds_left=7200.0, overflows=(), device_name="simulated", device_state="ok", warning=None,
                samplerate=48000, channels=2, take=TakePaths(audio=Path("/x.wav"), sidecar=Path("/x.json")))
    base.update(kw)
    return TakeStatus(**base)


def test_health_strip_turns_red_on_the_first_overflow_with_its_time(qtbot):
    strip = HealthStrip()
    qtbot.addWidget(strip)
    strip.set_status(_status())
    assert strip.overflows.property("state") == "ok"
    assert "3.5 MB" in strip.file_size.text()
    strip.set_status(_status(overflows=(OverflowEvent("input_overflow", 480000, 10.0, 512),)))
    assert strip.overflows.property("state") == "bad"
    assert "10.00 s" in strip.overflows.text() and "512 frames" in strip.overflows.text()
    strip.set_status(_status(device_state="lost"))
    assert strip.device.property("state") == "bad"
    assert fmt_duration(3725.0) == "1:02:05"


# ---------------------------------------------------------------- settings file
def test_settings_round_trip_and_bad_files_give_defaults(tmp_path):
    path = tmp_path / "gui.json"
    cfg = GuiConfig(device="Zoom F3", format_name="FLAC 24-bit", out_dir="/data/rec", settings_path=path)
    cfg.metadata["location"]["name"] = "Marsh"
    save_config(cfg)
    back = load_config(path)
    assert (back.device, back.format_name, back.out_dir) == ("Zoom F3", "FLAC 24-bit", "/data/rec")
    assert back.metadata["location"]["name"] == "Marsh"
    assert "settings_path" not in json.loads(path.read_text())
    path.write_text('{"samplerate": "fast", "channels": 4, "unknown": 1}')
    odd = load_config(path)
    assert odd.samplerate == 48000 and odd.channels == 4
    path.write_text("{not json")
    assert dataclasses.asdict(load_config(path))["samplerate"] == 48000


def test_spectrogram_columns_match_the_analysis_module_calibration():
    from fieldrec.analysis import spectrum

    sr, nfft, hop = 48000, 2048, 1600
    t = np.arange(sr // 2) / sr
    x = 0.25 * np.sin(2 * np.pi * 3000 * t)
    f, cols = dsp.spectrogram_columns_db(np.stack([x, x], axis=1), sr, nfft, hop)
    f2, _t, ref = spectrum.spectrogram_db(x, sr, nfft=nfft, hop=hop)
    assert np.allclose(f, f2)
    k = int(np.argmax(ref[:, 0]))
    assert cols[0, k] == pytest.approx(ref[k, 0], abs=0.01)
    assert cols[:, k].max() == pytest.approx(20 * math.log10(0.25), abs=1.5)  # hann scalloping < 1.5 dB


def test_meter_bars_paint_the_level_in_zone_colours(qtbot):
    from fieldrec.gui.meter_widget import MeterBars

    bars = MeterBars(2)
    qtbot.addWidget(bars)
    bars.resize(200, 400)
    bars.set_levels(np.array([-1.0, -90.0]), np.array([-90.0, -90.0]), np.array([-1.0, -90.0]))
    img = bars.grab().toImage()
    top, bottom, span, bar_w = bars._geometry()
    x1 = int(bars.SCALE_W + bars.GAP + bar_w / 2)
    x2 = int(bars.SCALE_W + 2 * bars.GAP + bar_w * 1.5)

    def colour_at(x, db):
        return img.pixelColor(x, int(bottom - db_to_fraction(db) * span))

    low, high = colour_at(x1, -30), colour_at(x1, -4)
    assert low.green() > 2 * low.red()  # green zone
    assert high.red() > 2 * high.green()  # red zone above -6 dBFS
    empty = colour_at(x2, -30)
    assert max(empty.red(), empty.green(), empty.blue()) < 30  # silent channel: dark bar


def test_waveform_zoom_magnifies_quiet_signals_and_clips_at_the_lane(qtbot):
    view = WaveformView(48000, 1, seconds=1.0, columns=100)
    qtbot.addWidget(view)
    x = np.zeros((48000, 1), np.float32)
    x[100, 0], x[30000, 0] = 0.01, 0.5
    view.push(x)
    view.gain = 16.0
    view.refresh()
    maxs = view.drawn(0)[2]
    assert maxs[100 // 480] == pytest.approx(0.16)  # -40 dBFS drawn 16x taller
    assert maxs.max() == pytest.approx(1.05)  # a loud peak stays inside its lane


def test_metadata_panel_applies_a_saved_preset_over_the_form(qtbot, tmp_path, monkeypatch):
    from fieldrec.gui.metadata_panel import MetadataPanel
    from fieldrec.metadata.presets import save_preset

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    save_preset("kit", {"equipment": {"recorder": "MixPre-6", "channels": [{"index": 1, "name": "L"}]},
                        "project": "Alps"})
    panel = MetadataPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.keyClicks(panel.editors["location.name"], "Ridge")
    assert [panel.preset_box.itemText(i) for i in range(panel.preset_box.count())] == ["Preset…", "kit"]
    with qtbot.waitSignal(panel.metadataChanged, timeout=3000) as blocker:
        panel.preset_box.activated.emit(1)  # what choosing the entry in the open list sends
    md = blocker.args[0]
    assert md["project"] == "Alps" and md["equipment"]["recorder"] == "MixPre-6"
    assert md["location"]["name"] == "Ridge"  # the form's own values stay
    assert md["equipment"]["channels"][0]["name"] == "L"  # a field without an editor travels too
    assert panel.editors["project"].text() == "Alps" and panel.preset_box.currentIndex() == 0
    (tmp_path / "fieldrec" / "presets" / "kit.json").write_text("{broken")
    panel.apply_preset("kit")
    assert "cannot be read" in panel.status_label.text()


def test_the_grid_of_a_plot_not_laid_out_yet_has_no_lines(qtbot):
    # a plot with no height (before its first layout, or squeezed by a splitter): pyqtgraph's tick spacing
    # divides by the size; the grid then has no lines instead of raising in a Qt slot (seen in the
    # screenshot tool's output: 20 ZeroDivisionErrors per run)
    import pyqtgraph as pg

    from fieldrec.gui.plots import GridLines

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    plot = widget.getPlotItem()
    grid = GridLines(plot)
    plot.vb.resize(400, 0)  # squeezed to no height (its sigResized calls refresh, as in the window)
    assert plot.vb.height() == 0
    grid.refresh()
    assert grid.ys == [] and grid.xs  # no horizontal lines; the width still has its ticks
    widget.resize(400, 300)
    widget.show()
    qtbot.waitUntil(lambda: plot.vb.height() > 0 and plot.vb.width() > 0)
    grid.refresh()
    assert grid.xs and grid.ys  # laid out: lines at the major ticks
