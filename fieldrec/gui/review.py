"""The review view of one finished take: overview, spectrogram, spectrum, selection meters, playback, markers.

``ReviewWidget(config)`` is a QWidget the main window can embed; ``open_take(audio_path)`` shows a take.
What it draws comes from the Qt-free ``fieldrec.review`` modules:

* waveform: ``review.overview`` min/max per screen column (the overview is built once in a worker thread
  and cached; zoomed in past its buckets, the frames on screen are read from the file);
* spectrogram of the visible range (``review.spectra.range_spectrogram``), FFT size and colour range
  adjustable, fixed image levels;
* average spectrum and its peaks of the whole take or of the selection (``review.spectra.average_spectrum``);
* meters of the selection per channel (``review.selection.selection_meters``: the MeterBank of
  ``fieldrec analyze``), computed in a worker;
* overflow positions from the sidecar as red lines; markers (points and regions) that can be added, moved,
  renamed and deleted, saved through ``review.markers.save_markers`` with undo (``QUndoStack``);
* the take's metadata in the form used while recording (``review_metadata.TakeMetadataEditor``), saved as
  you type through the same safe rewrite, on the same undo stack as the markers;
* playback of the selection (or from the cursor) through the output device in the settings
  (``audio.playback.Player``), with a cursor that follows; Space starts and stops.

Mouse: wheel zooms time, drag pans, Shift+drag selects, a click puts the cursor.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QGraphicsView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fieldrec.gui import theme
from fieldrec.gui.config import GuiConfig, save_config
from fieldrec.gui.plots import GridLines, style_plot
from fieldrec.gui.review_markers import MarkerEditing
from fieldrec.gui.review_metadata import TakeMetadataEditor
from fieldrec.gui.review_workers import Bridge, SpectrogramWorker
from fieldrec.library.index import load_sidecar
from fieldrec.review.frames import TakeReader
from fieldrec.review.markers import TakeMarker, markers_from_sidecar
from fieldrec.review.overview import Overview, OverviewCancelled, load_or_build
from fieldrec.review.selection import SelectionCancelled, selection_meters
from fieldrec.review.spectra import FFT_SIZES, Spectrogram, average_spectrum
from fieldrec.storage.errors import SidecarError
from fieldrec.storage.sidecar import sidecar_path

log = logging.getLogger(__name__)

LANE = 2.4  # vertical distance between channel lanes (a lane spans -1..1)
SELECTION_BRUSH = QColor(79, 179, 255, 50)
AXIS_WIDTH = 62  # px: the waveform and spectrogram must start at the same x for their time axes to line up


class _TimeViewBox(pg.ViewBox):
    """A view box whose wheel zooms time only, one range change per event-loop turn however many wheel events
    arrive in it (a fast wheel or a touchpad sends several per frame).

    pyqtgraph's wheel sets the range at once, and the first item it moves makes its scene paint the window
    at once (the scene's queued dirty-item pass dispatches the update request): ten events in a frame were ten
    envelopes and paints. Here the events compose one pending range (about the pointer, within the limits),
    applied by a queued call after the last of them."""

    _wheel_flush = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._pending_x: tuple[float, float] | None = None
        self._wheel_flush.connect(self._apply_wheel, Qt.ConnectionType.QueuedConnection)

    def wheelEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if axis == 1 or not self.state["mouseEnabled"][0]:
            ev.ignore()
            return
        lo, hi = self._pending_x or self.viewRange()[0]
        scale = 1.02 ** (ev.delta() * self.state["wheelScaleFactor"])
        centre = lo + (hi - lo) * min(1.0, max(0.0, ev.pos().x() / max(1.0, self.width())))
        first = self._pending_x is None
        self._pending_x = self._clamp(centre + (lo - centre) * scale, centre + (hi - centre) * scale, centre)
        ev.accept()
        if first:
            self._wheel_flush.emit()

    def _clamp(self, lo: float, hi: float, centre: float) -> tuple[float, float]:
        """(lo, hi) within the x limits (``setLimits``): no narrower than ``minXRange`` (about ``centre``),
        no wider than the limits, shifted inside them."""
        limits = self.state["limits"]
        x_min, x_max = limits["xLimits"]
        min_w = limits["xRange"][0]
        if min_w is not None and hi - lo < min_w:
            k = min_w / max(hi - lo, 1e-300)
            lo, hi = centre - (centre - lo) * k, centre + (hi - centre) * k
        if x_min is not None and x_max is not None and hi - lo >= x_max - x_min:
            return x_min, x_max
        if x_min is not None and lo < x_min:
            lo, hi = x_min, hi + (x_min - lo)
        if x_max is not None and hi > x_max:
            lo, hi = lo - (hi - x_max), x_max
        return lo, hi

    def _apply_wheel(self) -> None:
        pending, self._pending_x = self._pending_x, None
        if pending is not None:
            self.setXRange(*pending, padding=0)
            self.sigRangeChangedManually.emit([True, False])


class _SelectViewBox(_TimeViewBox):
    """The waveform's view box: Shift+drag selects a range, a click sets the cursor; the rest pans and zooms."""

    def __init__(self, on_select: Callable[[float, float, bool], None], on_click: Callable[[float], None]):
        super().__init__()
        self._on_select = on_select
        self._on_click = on_click

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt naming)
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            a = self.mapToView(ev.buttonDownPos()).x()
            b = self.mapToView(ev.pos()).x()
            self._on_select(min(a, b), max(a, b), bool(ev.isFinish()))
            ev.accept()
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() == Qt.MouseButton.LeftButton:
            self._on_click(self.mapToView(ev.pos()).x())
            ev.accept()
            return
        super().mouseClickEvent(ev)


def _style(view: pg.PlotWidget) -> GridLines:
    """Axes, grid and viewport of a review plot: the live view's style (``plots.style_plot``: one opaque
    grid, cached axis text, ticks outward) plus what makes a zoom step cheap to repaint in software."""
    plot = view.getPlotItem()
    grid = style_plot(plot)
    for ax in ("left", "bottom"):
        axis = plot.getAxis(ax)
        # no unit prefix (the labels say their units) and a fixed height for the tick text: on every new
        # range pyqtgraph otherwise rebuilds the label's HTML and re-lays the plot out, a second paint
        axis.enableAutoSIPrefix(False)
        # ticks at two levels, not three: the third (the most, each a line and a Point per paint) was a fifth
        # of a zoom step
        axis.setStyle(autoExpandTextSpace=False, maxTickLevel=1)
    # the scene's background brush fills every pixel: Qt need not paint the widgets under the viewport first,
    # and one colour is cheaper to fill than pyqtgraph's cached background pixmap is to copy
    view.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
    view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
    return grid


def _fmt_db(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and math.isinf(v):
        return "-inf"
    return f"{v:.1f}{unit}"


class ReviewWidget(MarkerEditing, QWidget):
    """Review of one take; ``open_take(path)`` loads it. Emits ``markers_saved`` after every marker save."""

    markers_saved = Signal(list)
    overview_ready = Signal(object)
    meters_ready = Signal(dict)
    spectrum_ready = Signal(object)
    spectrogram_ready = Signal(object)

    def __init__(self, config: GuiConfig | None = None, parent: QWidget | None = None,
                 cache_folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewWidget")
        self.config = config or GuiConfig()
        self.cache_folder = cache_folder
        self.audio: Path | None = None
        self.sidecar: Path | None = None
        self.reader: TakeReader | None = None
        self.overview: Overview | None = None
        self.overview_cached = False
        self.samplerate = 1
        self.channels = 1
        self.frames = 0
        self.markers: tuple[TakeMarker, ...] = ()
        self.overflows: list[dict[str, Any]] = []
        self.selection: tuple[int, int] | None = None
        self.cursor_frame = 0
        self.last_meters: dict[str, Any] | None = None
        self.last_spectrum = None
        self.last_spectrogram = None
        self.spectrogram_pending = False  #: the newest spectrogram asked for has not arrived yet
        self._spec_asked: tuple | None = None
        self.envelopes_drawn = 0  #: waveform envelopes computed (one per range change; tests count them)
        self.status_text = ""
        self._generation = 0
        self._threads: list[threading.Thread] = []
        self._cancel = threading.Event()
        self._bridge = Bridge()
        self._bridge.done.connect(self._worker_done)
        self._bridge.progress.connect(self._overview_progress)
        self.undo_stack = QUndoStack(self)
        self._player = None
        self._spec_worker: SpectrogramWorker | None = None
        self._build_ui()

    # ---------------------------------------------------------------- layout
    def _build_ui(self) -> None:
        self.title = QLabel("no take open")
        self.title.setStyleSheet("font-weight: bold;")
        self.fft_combo = QComboBox()
        for n in FFT_SIZES:
            self.fft_combo.addItem(f"FFT {n}", n)
        self.fft_combo.setCurrentIndex(FFT_SIZES.index(1024))
        self.db_low = QDoubleSpinBox(minimum=-200, maximum=0, value=-120, suffix=" dB", singleStep=5)
        self.db_high = QDoubleSpinBox(minimum=-150, maximum=20, value=-20, suffix=" dB", singleStep=5)
        self.db_low.setToolTip("spectrogram colour range: bottom (dBFS)")
        self.db_high.setToolTip("spectrogram colour range: top (dBFS)")
        self.channel_combo = QComboBox()
        self.channel_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.channel_combo.setMinimumContentsLength(12)
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("play the selection, or from the cursor (Space)")
        self.output_combo = QComboBox()
        self.output_combo.setToolTip("output device for playback (kept in the settings)")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)

        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        for w in (self.fft_combo, QLabel("colour"), self.db_low, self.db_high, self.channel_combo,
                  self.play_button, QLabel("out"), self.output_combo):
            bar.addWidget(w)

        # waveform
        self.wave_box = _SelectViewBox(self._on_select, self._on_click)
        self.wave = pg.PlotWidget(viewBox=self.wave_box)
        self.wave.setObjectName("reviewWaveform")
        self.wave_plot = self.wave.getPlotItem()
        self.wave_grid = _style(self.wave)
        self.wave_plot.setMouseEnabled(x=True, y=False)
        self.wave_plot.getAxis("left").setStyle(showValues=False)
        self.wave_plot.getAxis("left").setWidth(AXIS_WIDTH)  # the same as the spectrogram's: x-linked views
        self.wave_plot.setTitle("Waveform (whole take: wheel zooms, drag pans, Shift+drag selects)",
                                color=theme.DIM, size="9pt")
        self.curves: list[pg.PlotCurveItem] = []
        self.busy_text = pg.TextItem("", color=theme.YELLOW, anchor=(0.5, 0.5))
        self.wave_plot.addItem(self.busy_text, ignoreBounds=True)
        self.selection_item = pg.LinearRegionItem(brush=SELECTION_BRUSH, movable=True)
        self.selection_item.setZValue(5)
        self.selection_item.hide()
        self.wave_plot.addItem(self.selection_item, ignoreBounds=True)
        self.selection_item.sigRegionChangeFinished.connect(self._selection_item_moved)
        self.cursor_line = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(theme.YELLOW, width=1), movable=False)
        self.cursor_line.setZValue(20)
        self.wave_plot.addItem(self.cursor_line, ignoreBounds=True)

        # spectrogram
        self.spec = pg.PlotWidget(viewBox=_TimeViewBox())
        self.spec.setObjectName("reviewSpectrogram")
        self.spec_plot = self.spec.getPlotItem()
        self.spec_grid = _style(self.spec)
        self.spec_plot.setMouseEnabled(x=True, y=False)
        self.spec_plot.setLabel("left", "Hz")
        self.spec_plot.getAxis("left").setWidth(AXIS_WIDTH)
        self.spec_plot.setLabel("bottom", "time (s)")
        self.spec_plot.setXLink(self.wave_plot)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.spec_plot.addItem(self.image)
        self.spec_cursor = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(theme.YELLOW, width=1), movable=False)
        self.spec_plot.addItem(self.spec_cursor, ignoreBounds=True)

        # spectrum
        self.spectrum = pg.PlotWidget()
        self.spectrum.setObjectName("reviewSpectrum")
        self.spectrum_plot = self.spectrum.getPlotItem()
        self.spectrum_grid = _style(self.spectrum)
        self.spectrum_plot.setLabel("bottom", "Hz")
        self.spectrum_plot.setLabel("left", "dBFS")
        self.spectrum_plot.setTitle("Average spectrum", color=theme.DIM, size="9pt")
        self.spectrum_curve = self.spectrum_plot.plot(pen=pg.mkPen(theme.BLUE, width=1))
        self.peak_points = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(theme.YELLOW), pen=None)
        self.spectrum_plot.addItem(self.peak_points)
        self.peaks_label = QLabel("")
        self.peaks_label.setWordWrap(True)
        self.peaks_label.setStyleSheet(f"color: {theme.DIM}; font-size: 12px;")

        # meters
        self.meter_table = QTableWidget(0, 6)
        self.meter_table.setObjectName("reviewMeters")
        self.meter_table.setHorizontalHeaderLabels(["", "Peak", "True pk", "RMS", "Clips", "LUFS"])
        for j, tip in enumerate(("channel", "sample peak, dBFS", "true peak (BS.1770), dBTP",
                                 "RMS, dBFS (full-scale sine = -3.01)", "clipped samples",
                                 "integrated loudness (EBU R128), LUFS")):
            self.meter_table.horizontalHeaderItem(j).setToolTip(tip)
        self.meter_table.verticalHeader().setVisible(False)
        self.meter_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.meter_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.meter_title = QLabel("Meters of the selection")
        self.meter_title.setStyleSheet(f"color: {theme.DIM};")

        # markers
        self.marker_table = QTableWidget(0, 3)
        self.marker_table.setObjectName("reviewMarkers")
        self.marker_table.setHorizontalHeaderLabels(["Time (s)", "Length (s)", "Label"])
        self.marker_table.verticalHeader().setVisible(False)
        self.marker_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.marker_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.marker_table.itemChanged.connect(self._marker_item_changed)
        self.add_marker_button = QPushButton("+ Marker (M)")
        self.add_region_button = QPushButton("+ Region (R)")
        self.delete_marker_button = QPushButton("Delete")
        self.export_button = QPushButton("Export…")
        self.import_button = QPushButton("Import…")
        self.add_marker_button.clicked.connect(lambda: self.add_marker())
        self.add_region_button.clicked.connect(lambda: self.add_region())
        self.delete_marker_button.clicked.connect(self._delete_selected_marker)
        self.export_button.clicked.connect(self._export_dialog)
        self.import_button.clicked.connect(self._import_dialog)
        marker_buttons = QHBoxLayout()
        for w in (self.add_marker_button, self.add_region_button, self.delete_marker_button, self.undo_button,
                  self.redo_button, self.export_button, self.import_button):
            marker_buttons.addWidget(w)

        self.status = QLabel("")
        self.status.setStyleSheet(f"color: {theme.DIM};")

        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.wave)
        plots.addWidget(self.spec)
        plots.setSizes([300, 300])
        spectrum_box = QWidget()
        sl = QVBoxLayout(spectrum_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.spectrum, 1)
        sl.addWidget(self.peaks_label)
        meters_box = QWidget()
        ml = QVBoxLayout(meters_box)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.meter_title)
        ml.addWidget(self.meter_table, 1)
        markers_box = QWidget()
        kl = QVBoxLayout(markers_box)
        kl.setContentsMargins(0, 0, 0, 0)
        kl.addWidget(self.marker_table, 1)
        kl.addLayout(marker_buttons)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        for w in (spectrum_box, meters_box, markers_box):
            bottom.addWidget(w)
        bottom.setSizes([400, 420, 480])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(plots)
        main.addWidget(bottom)
        main.setSizes([560, 260])
        self.metadata_editor = TakeMetadataEditor(self.undo_stack, self)
        beside = QSplitter(Qt.Orientation.Horizontal)
        beside.addWidget(main)
        beside.addWidget(self.metadata_editor)
        beside.setStretchFactor(0, 1)
        beside.setSizes([1200, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(beside, 1)
        layout.addWidget(self.status)

        self._spec_timer = QTimer(self, singleShot=True, interval=120)
        self._spec_timer.timeout.connect(self._redraw_spectrogram)
        self._meter_timer = QTimer(self, singleShot=True, interval=250)
        self._meter_timer.timeout.connect(self._measure_selection)
        self._cursor_timer = QTimer(self, interval=33)
        self._cursor_timer.timeout.connect(self._follow_playback)
        self.wave_plot.sigXRangeChanged.connect(self._range_changed)
        self.wave_box.sigResized.connect(lambda *_: self._redraw_waveform())  # a column per pixel of the new width
        # the spectrogram follows the waveform's range (x-linked) after the signal above: move its items now
        # too, not in its paint (see _range_changed)
        self.spec_plot.vb.sigXRangeChanged.connect(lambda *_: self.spec_plot.vb.updateMatrix())
        self.fft_combo.currentIndexChanged.connect(lambda *_: self._redraw_spectrogram())
        self.db_low.valueChanged.connect(self._levels_changed)
        self.db_high.valueChanged.connect(self._levels_changed)
        self.channel_combo.currentIndexChanged.connect(lambda *_: self._redraw_spectrogram())
        self.play_button.clicked.connect(self.toggle_playback)
        self.output_combo.currentIndexChanged.connect(self._output_changed)
        for key, slot in ((Qt.Key.Key_Space, self.toggle_playback), (Qt.Key.Key_M, self.add_marker),
                          (Qt.Key.Key_R, self.add_region), (Qt.Key.Key_Delete, self._delete_selected_marker)):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        for seq, slot in ((QKeySequence.StandardKey.Undo, self.undo_stack.undo),
                          (QKeySequence.StandardKey.Redo, self.undo_stack.redo)):
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self.marker_items: list[Any] = []
        self.overflow_lines: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._fill_outputs()

    # ---------------------------------------------------------------- opening
    def open_take(self, audio: str | Path) -> None:
        """Show the take ``audio`` (its sidecar next to it). Raises OSError/``soundfile`` errors for audio
        that cannot be opened; a missing or bad sidecar shows the audio without markers and says so."""
        self.close_take()
        audio = Path(audio)
        self.reader = TakeReader(audio)
        self.audio = audio
        self.sidecar = sidecar_path(audio)
        self.samplerate, self.channels, self.frames = self.reader.samplerate, self.reader.channels, self.reader.frames
        self._generation += 1
        self._cancel = threading.Event()
        try:
            data = load_sidecar(self.sidecar)
        except SidecarError as err:
            data = {}
            self._say(f"{err} — markers cannot be saved")
            self.sidecar = None
        self.markers = tuple(markers_from_sidecar(data))
        self.overflows = [o for o in (data.get("recording") or {}).get("overflows", []) if isinstance(o, dict)]
        self.undo_stack.clear()
        self.title.setText(f"{audio.name}   {self.samplerate} Hz · {self.channels} ch · "
                           f"{self.frames / self.samplerate:.2f} s")
        self.channel_combo.blockSignals(True)
        self.channel_combo.clear()
        self.channel_combo.addItem("all channels", None)
        for c in range(self.channels):
            self.channel_combo.addItem(f"channel {c + 1}", c)
        self.channel_combo.blockSignals(False)
        self._make_curves()
        dur = self.frames / self.samplerate
        self.wave_plot.setLimits(xMin=0, xMax=dur, minXRange=min(dur, 64 / self.samplerate))
        self.spec_plot.setLimits(xMin=0, xMax=dur, yMin=0, yMax=self.samplerate / 2)
        self.wave_plot.setYRange(-LANE * (self.channels - 1) - 1.1, 1.1, padding=0)
        self.spec_plot.setYRange(0, self.samplerate / 2, padding=0)
        self.wave_plot.setXRange(0, dur, padding=0)
        self._draw_overflows()
        self._draw_markers()
        self._fill_marker_table()
        self.metadata_editor.load(audio)
        self.set_selection(None)
        self.set_cursor(0)
        self.busy_text.setText("building the overview…")
        self.busy_text.setPos(dur / 2, -LANE * (self.channels - 1) / 2)
        self._spec_worker = SpectrogramWorker(audio, self._bridge, self._generation)
        self._spec_asked = None
        self.spectrogram_pending = False
        self._start_worker("overview", self._overview_job)
        # the first spectrogram at once (start(0) would leave the timer at 0 ms: every later zoom step would
        # then ask the worker at once and paint each answer, instead of once when the wheel stops)
        QTimer.singleShot(0, self._spec_timer, self._redraw_spectrogram)

    def close_take(self) -> None:
        """Stop playback and workers and release the file (a metadata edit still pending is saved first)."""
        self.metadata_editor.flush()
        self.metadata_editor.load(None)
        self.stop_playback()
        self._cancel.set()
        if self._spec_worker is not None:
            self._spec_worker.close()
            self._spec_worker = None
        for t in self._threads:
            t.join(timeout=30)
        self._threads = []
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        self.overview = None
        self.audio = None

    def closeEvent(self, event) -> None:  # noqa: N802
        self.close_take()
        super().closeEvent(event)

    def _make_curves(self) -> None:
        for c in self.curves:
            self.wave_plot.removeItem(c)
        self.curves = []
        for c in range(self.channels):
            colour = theme.CHANNEL_COLOURS[c % len(theme.CHANNEL_COLOURS)]
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), connect="pairs", skipFiniteCheck=True)
            self.wave_plot.addItem(curve)
            self.curves.append(curve)

    # ---------------------------------------------------------------- workers
    def _start_worker(self, kind: str, job: Callable[[threading.Event], Any]) -> None:
        gen, cancel, bridge = self._generation, self._cancel, self._bridge

        def run() -> None:
            try:
                result = job(cancel)
            except Exception as err:  # reported on the status line; the view stays usable
                result = err
            if not cancel.is_set():
                bridge.done.emit(kind, result, gen)

        self._threads = [t for t in self._threads if t.is_alive()]
        t = threading.Thread(target=run, name=f"fieldrec-review-{kind}", daemon=True)
        self._threads.append(t)
        t.start()

    def _overview_job(self, cancel: threading.Event) -> tuple[Overview, bool]:
        assert self.audio is not None
        audio, bridge = self.audio, self._bridge
        return load_or_build(audio, self.cache_folder, progress=bridge.progress.emit, cancelled=cancel.is_set)

    def _spectrum_job(self, start: int, stop: int) -> Callable[[threading.Event], Any]:
        audio = self.audio

        def job(cancel: threading.Event) -> Any:
            with TakeReader(audio) as reader:
                return (start, stop, average_spectrum(reader, start, stop))
        return job

    def _worker_done(self, kind: str, result: Any, gen: int) -> None:
        if gen != self._generation:
            return  # an older take's result
        if kind == "spectrogram":  # (what was asked, the answer): pending until the newest request's arrives
            asked, result = result
            if asked == self._spec_asked:
                self.spectrogram_pending = False
        if isinstance(result, OverviewCancelled | SelectionCancelled):
            return
        if isinstance(result, Exception):
            self._say(f"{kind} failed: {result}")
            log.error("review %s failed: %s", kind, result)
            return
        if kind == "overview":
            self.overview, self.overview_cached = result
            self.busy_text.setText("")
            if self._spec_worker is not None:
                self._spec_worker.overview = self.overview
            self._redraw_waveform()
            self._redraw_spectrogram()
            # the whole take's spectrum after the overview pass, not competing with it for the disk
            self._start_worker("spectrum", self._spectrum_job(0, self.frames))
            self.overview_ready.emit(self.overview)
        elif kind == "spectrogram":
            self._show_spectrogram(result)
        elif kind == "spectrum":
            self._show_spectrum(*result)
        elif kind == "meters":
            self._show_meters(result)

    def _overview_progress(self, fraction: float) -> None:
        self.busy_text.setText(f"building the overview… {fraction * 100:.0f} %")

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait for every worker (tests, benchmarks); results arrive with the next event-loop turn."""
        for t in list(self._threads):
            t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    # ---------------------------------------------------------------- drawing
    def visible_frames(self) -> tuple[int, int]:
        (t0, t1), _ = self.wave_plot.viewRange()
        a = int(max(0, math.floor(t0 * self.samplerate)))
        b = int(min(self.frames, math.ceil(t1 * self.samplerate)))
        return a, max(a + 1, b)

    def _columns(self) -> int:
        # one column per pixel or a little more (never fewer: a column wider than a pixel leaves one unlit)
        return max(50, math.ceil(self.wave_box.width()) + 1 if self.wave_box.width() else 800)

    def _range_changed(self, *_: object) -> None:
        """A new time range (wheel, drag, code): move the items and draw its envelope now, before the paint.

        pyqtgraph moves the items to a new range only when it paints (``ViewBox.prepareForPaint``), and the
        items it moves then (axes, lines, curves) ask for a second paint of the plot; a waveform redrawn by a
        timer after that paint was a third. Done here, the turn paints each plot once. (The wheel gives one
        range change per turn: ``_TimeViewBox``.)"""
        self.wave_box.updateMatrix()
        self._redraw_waveform()
        self._spec_timer.start()

    def _redraw_waveform(self) -> None:
        if self.overview is None or self.reader is None:
            return
        a, b = self.visible_frames()
        edges, mins, maxs = self.overview.envelope(a, b, self._columns(), self.reader.read)
        self.envelopes_drawn += 1
        if mins.shape[0] == 0:
            return
        # columns evenly spaced over the range they cover (within a bucket of their first frame): where a column
        # holds one bucket and the next two, bucket-edge times left empty pixel columns, dark stripes on screen
        n = mins.shape[0]
        t0, t1 = edges[0] / self.samplerate, edges[-1] / self.samplerate
        x = np.repeat(t0 + (t1 - t0) * np.arange(n) / n, 2)
        for c, curve in enumerate(self.curves):
            y = np.empty(2 * mins.shape[0], np.float32)
            y[0::2] = mins[:, c]
            y[1::2] = maxs[:, c]
            curve.setData(x, y - c * LANE)

    def _redraw_spectrogram(self) -> None:
        """Ask the spectrogram worker for the visible range (the image follows when it is ready)."""
        if self._spec_worker is None:
            return
        a, b = self.visible_frames()
        cols = max(50, int(self.spec_plot.vb.width()) or 800)
        asked = (a, b, int(self.fft_combo.currentData()), cols, self.channel_combo.currentData())
        if asked == self._spec_asked:
            return  # shown, or on its way (a zoom that came back, the debounce timer after the open)
        self.spectrogram_pending = True
        self._spec_asked = asked
        self._spec_worker.request(*asked)

    def _show_spectrogram(self, sg: Spectrogram) -> None:
        self.last_spectrogram = sg
        a, b = sg.start, sg.stop
        self.image.setImage(sg.db, autoLevels=False, levels=(self.db_low.value(), self.db_high.value()))
        self.image.setRect(QRectF(a / self.samplerate, 0, (b - a) / self.samplerate, self.samplerate / 2))
        self.spectrogram_ready.emit(sg)

    def _levels_changed(self, *_: object) -> None:
        lo, hi = self.db_low.value(), self.db_high.value()
        if hi <= lo:
            hi = lo + 1
        self.image.setLevels((lo, hi))

    def set_colour_range(self, low_db: float, high_db: float) -> None:
        self.db_low.setValue(low_db)
        self.db_high.setValue(high_db)

    def set_fft_size(self, nfft: int) -> None:
        self.fft_combo.setCurrentIndex(FFT_SIZES.index(nfft))

    def _draw_overflows(self) -> None:
        for plot, line in self.overflow_lines:
            plot.removeItem(line)
        self.overflow_lines = []
        for o in self.overflows:
            t = float(o.get("frame", 0)) / self.samplerate
            for plot in (self.wave_plot, self.spec_plot):
                line = pg.InfiniteLine(pos=t, angle=90, pen=pg.mkPen(theme.RED, width=2), movable=False,
                                       label="overflow" if plot is self.wave_plot else None,
                                       labelOpts={"color": theme.RED, "position": 0.05})
                line.setZValue(15)
                plot.addItem(line, ignoreBounds=True)
                self.overflow_lines.append((plot, line))

    # ---------------------------------------------------------------- spectrum and meters
    def _show_spectrum(self, start: int, stop: int, result: Any) -> None:
        self.last_spectrum = result
        db = np.where(np.isfinite(result.db), result.db, -200.0)
        self.spectrum_curve.setData(result.freqs, db)
        self.spectrum_plot.setXRange(0, self.samplerate / 2, padding=0)
        self.spectrum_plot.setYRange(max(-160.0, float(np.percentile(db, 1)) - 5), max(-20.0, db.max() + 5))
        self.peak_points.setData([p["hz"] for p in result.peaks], [p["dbfs"] for p in result.peaks])
        whole = start == 0 and stop >= self.frames
        what = "whole take" if whole else f"selection {start / self.samplerate:.2f}–{stop / self.samplerate:.2f} s"
        self.spectrum_plot.setTitle(f"Average spectrum: {what}" + (" (sampled)" if result.sampled else ""),
                                    color=theme.DIM, size="9pt")
        self.peaks_label.setText("peaks: " + ", ".join(f"{p['hz']:.0f} Hz {p['dbfs']:.1f}" for p in result.peaks[:6]))
        self.spectrum_ready.emit(result)

    def _measure_selection(self) -> None:
        if self.selection is None or self.audio is None:
            return
        a, b = self.selection
        audio = self.audio
        self.meter_title.setText(f"Meters of the selection {a / self.samplerate:.3f}–{b / self.samplerate:.3f} s"
                                 " (measuring…)")
        self._start_worker("meters", lambda cancel: selection_meters(audio, a, b, cancelled=cancel.is_set))
        self._start_worker("spectrum", self._spectrum_job(a, b))

    def _show_meters(self, r: dict[str, Any]) -> None:
        self.last_meters = r
        a, b = r["start_frame"], r["stop_frame"]
        self.meter_title.setText(f"Meters of the selection {a / self.samplerate:.3f}–{b / self.samplerate:.3f} s "
                                 f"({b - a} frames)")
        rows = [(f"ch {i + 1}", c["peak_dbfs"], c["true_peak_dbtp"], c["rms_dbfs"], c["clipped_samples"], None)
                for i, c in enumerate(r["per_channel"])]
        rows.append(("all", r["sample_peak_dbfs"], r["true_peak_dbtp"], r["rms_dbfs"], r["clipped_samples"],
                     r["integrated_lufs"]))
        self.meter_table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                text = v if j == 0 else (str(v) if j == 4 else _fmt_db(v))
                item = QTableWidgetItem(text)
                if j == 4 and v:
                    item.setForeground(QColor(theme.RED))
                self.meter_table.setItem(i, j, item)
        self.meters_ready.emit(r)

    # ---------------------------------------------------------------- selection and cursor
    def set_selection(self, frames: tuple[int, int] | None) -> None:
        """Select frames [a, b) (None clears); the meters and spectrum of the selection follow."""
        if frames is None or frames[1] <= frames[0]:
            self.selection = None
            self.selection_item.hide()
            return
        a, b = max(0, int(frames[0])), min(self.frames, int(frames[1]))
        self.selection = (a, b)
        self.selection_item.blockSignals(True)
        self.selection_item.setRegion((a / self.samplerate, b / self.samplerate))
        self.selection_item.blockSignals(False)
        self.selection_item.show()
        self._meter_timer.start()

    def _on_select(self, t0: float, t1: float, finished: bool) -> None:
        a, b = round(t0 * self.samplerate), round(t1 * self.samplerate)
        self.selection_item.setRegion((t0, t1))
        self.selection_item.show()
        if finished:
            self.set_selection((a, b))

    def _selection_item_moved(self) -> None:
        t0, t1 = self.selection_item.getRegion()
        self.set_selection((round(t0 * self.samplerate), round(t1 * self.samplerate)))

    def _on_click(self, t: float) -> None:
        self.set_cursor(round(t * self.samplerate))

    def set_cursor(self, frame: int) -> None:
        self.cursor_frame = int(max(0, min(self.frames, frame)))
        t = self.cursor_frame / self.samplerate
        self.cursor_line.setValue(t)
        self.spec_cursor.setValue(t)

    # ---------------------------------------------------------------- playback
    def _fill_outputs(self) -> None:
        from fieldrec.audio.devices import list_output_devices

        self.output_combo.blockSignals(True)
        self.output_combo.clear()
        self.output_combo.addItem("default output", None)
        try:
            devices = list_output_devices()
        except Exception as err:  # no PortAudio at all: review works, playback says why
            devices = []
            self._say(f"no audio output: {err}")
        for d in devices:
            self.output_combo.addItem(f"{d.name} ({d.hostapi})", d.name)
        want = getattr(self.config, "output_device", None)
        i = self.output_combo.findData(want) if want else 0
        self.output_combo.setCurrentIndex(max(0, i))
        self.output_combo.blockSignals(False)

    def _output_changed(self, *_: object) -> None:
        self.config.output_device = self.output_combo.currentData()
        if self.config.settings_path is not None:
            try:
                save_config(self.config)
            except OSError as err:
                self._say(f"settings not saved: {err}")

    @property
    def playing(self) -> bool:
        return self._player is not None and self._player.playing

    def toggle_playback(self) -> None:
        if self.playing:
            self.stop_playback()
        else:
            self.start_playback()

    def start_playback(self) -> bool:
        """Play the selection, or from the cursor to the end; False (and a status line) if it cannot."""
        from fieldrec.audio.devices import DeviceError
        from fieldrec.audio.playback import Player

        if self.audio is None:
            return False
        a, b = self.selection if self.selection else (self.cursor_frame, self.frames)
        if b <= a:
            return False
        audio = self.audio

        def blocks() -> Iterator[np.ndarray]:
            with TakeReader(audio) as reader:
                yield from reader.blocks(a, b, 8192)

        if self._player is None:
            self._player = Player(getattr(self.config, "output_device", None))
        self._player.device = getattr(self.config, "output_device", None)
        try:
            self._player.play(blocks(), self.samplerate, self.channels, a, b - a)
        except DeviceError as err:
            self._say(str(err))
            return False
        self.play_button.setText("■ Stop")
        self._cursor_timer.start()
        return True

    def stop_playback(self) -> None:
        if self._player is not None:
            self._player.stop()
        self._cursor_timer.stop()
        self.play_button.setText("▶ Play")

    def _follow_playback(self) -> None:
        player = self._player
        if player is None or not player.playing:
            self._cursor_timer.stop()
            self.play_button.setText("▶ Play")
            if player is not None and player.error:
                self._say(player.error)
            return
        pos = player.position
        if pos is not None:
            t = pos / self.samplerate
            self.cursor_line.setValue(t)
            self.spec_cursor.setValue(t)
            (t0, t1), _ = self.wave_plot.viewRange()
            if t > t1:  # page along when the cursor leaves the view
                self.wave_plot.setXRange(t, t + (t1 - t0), padding=0)

    def _say(self, text: str) -> None:
        self.status_text = text
        self.status.setText(text)
