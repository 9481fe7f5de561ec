"""The three live plots: scrolling waveform per channel, FFT spectrum, scrolling spectrogram.

Plot items are created once; every frame only writes new values into their preallocated arrays. The items
do not call ``update()`` themselves: each view repaints its viewport (``_repaint``) when something changed.
A QGraphicsItem's ``update()`` goes through its scene's queued dirty-item pass, which paints the window at
once (``QGraphicsView`` dispatches the pending update request), so three scenes made up to three paint
passes of the whole window per frame; ``viewport().update()`` joins the one pass of the meters and labels.
The viewports are opaque (the scene's background brush fills them), so the widgets under them, each with
the style sheet's background, are not painted first.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QRegion, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

from fieldrec.gui import dsp, theme

pg.setConfigOptions(antialias=False, background=theme.BG, foreground=theme.DIM, imageAxisOrder="row-major")

LANE = 2.4  # vertical distance between channel lanes (a lane spans -1…1)
TICK_LENGTH = 5  # pixels, outward (pyqtgraph's default is 5 px inward)


def _blend(fg: str, bg: str, alpha: float) -> QColor:
    """``fg`` over ``bg`` at ``alpha``, as one opaque colour (blending is slow in software painting)."""
    f, b = QColor(fg), QColor(bg)
    return QColor(*(round(alpha * getattr(f, c)() + (1 - alpha) * getattr(b, c)()) for c in ("red", "green", "blue")))


class GridLines(pg.GraphicsObject):
    """The plot's grid at the major ticks of its bottom and left axes, in one opaque colour.

    pyqtgraph's own grid is drawn by the axes across the whole plot with alpha blending: in software painting
    that is two translucent plot-sized layers per plot per frame. These lines (and the bounding rectangle)
    are recomputed only when the view range or size changes (``refresh``, also called after ``setTicks``);
    a paint only draws them. ``over_image``: the plot's data is an opaque image under which nothing shows;
    the owner draws the lines into it (``xs``, ``ys``) and this item draws nothing."""

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        self.setZValue(-1000)
        self.over_image = False
        self.colour = _blend(theme.DIM, theme.BG, 0.18)
        self._pen = QPen(self.colour)
        self._pen.setCosmetic(True)
        self._vlines = PrimitiveArray(QLineF, 4)
        self._hlines = PrimitiveArray(QLineF, 4)
        self._rect = QRectF()
        self.xs: list[float] = []  # the vertical lines' x values (view coordinates)
        self.ys: list[float] = []  # the horizontal lines' y values (view coordinates)
        plot.vb.sigRangeChanged.connect(self.refresh)
        plot.vb.sigResized.connect(self.refresh)

    def _values(self, name: str, lo: float, hi: float, size: float) -> list[float]:
        axis = self.plot.getAxis(name)
        if axis._tickLevels is not None:  # ticks given with setTicks
            return [v for v, _text in axis._tickLevels[0] if lo <= v <= hi]
        if size <= 0:  # a plot not laid out yet, or squeezed to nothing: no lines (pyqtgraph divides by it)
            return []
        levels = axis.tickValues(lo, hi, size)
        return [v for v in levels[0][1] if lo <= v <= hi] if levels else []

    def refresh(self, *_args) -> None:
        vb = self.plot.vb
        r = vb.viewRect()
        self.prepareGeometryChange()
        self._rect = QRectF(r)
        self.xs = xs = self._values("bottom", r.left(), r.right(), vb.width())
        self.ys = ys = self._values("left", r.top(), r.bottom(), vb.height())
        self._vlines.resize(len(xs))
        a = self._vlines.ndarray()
        for i, x in enumerate(xs):
            a[i] = (x, r.top(), x, r.bottom())
        self._hlines.resize(len(ys))
        a = self._hlines.ndarray()
        for j, y in enumerate(ys):
            a[j] = (r.left(), y, r.right(), y)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        return self._rect

    def paint(self, p: QPainter, *_args) -> None:
        if self.over_image:
            return
        p.setPen(self._pen)
        for lines in (self._vlines, self._hlines):
            if len(lines):
                p.drawLines(*lines.drawargs())


def _opaque_viewport(view: pg.PlotWidget) -> None:
    """The view paints every pixel of its viewport (the scene's background brush): Qt need not paint the
    widgets under it (the window, the splitters, each with the style sheet's background) before it."""
    view.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
    # pyqtgraph caches the background as a pixmap; for one colour a fill is cheaper than that copy (which was
    # an eighth of the GUI thread's time, profiled with perf)
    view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
    # the view repaints only when told (``_repaint`` for new data, ``_repaint_all`` after a change of ticks,
    # title or markers): a change in the scene (a marker line moved) no longer paints the window on its own
    view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.NoViewportUpdate)


def _repaint_all(view: pg.PlotWidget) -> None:
    """Schedule a repaint of the whole view (axes and title too) in the window's next paint pass."""
    view.viewport().update()


def _repaint(view: pg.PlotWidget) -> None:
    """Schedule a repaint of the view's plot area (not its axes and title) in the window's next paint pass
    (see the module docstring)."""
    vb = view.getPlotItem().vb
    key = (view.width(), view.height(), vb.geometry())
    cached = view.__dict__.get("_plot_area")
    if cached is None or cached[0] != key:  # the plot area in viewport pixels, found again after a resize
        cached = view.__dict__["_plot_area"] = (
            key, view.mapFromScene(vb.sceneBoundingRect()).boundingRect().adjusted(-1, -1, 1, 1))
    view.viewport().update(cached[1])


def _repaint_image(view: pg.PlotWidget, image: RingImageItem) -> None:
    """Schedule a repaint of the device pixels ``image`` (an opaque image filling the plot area) paints: with
    nothing else on it, the view copies the image straight to the screen (:func:`_paint_image_only`)."""
    view.viewport().update(image.covered_rect(image.deviceTransform(view.viewportTransform())))


def _paint_image_only(view: pg.PlotWidget, ev, image: RingImageItem) -> bool:
    """``paintEvent`` of a view whose repaint lies within its opaque plot image and shows nothing over it:
    paint the image onto the viewport under its device transform, as the scene would (the same calls, so
    the same pixels), without QGraphicsView's pass over the scene's items (their bounding rectangles,
    clipping and painter states, in Python for pyqtgraph's items: it cost more than the image itself, 0.3 ms
    a paint for the waveform, measured). False: the scene paints (a resize, new ticks, a marker on the
    lanes)."""
    t = image.deviceTransform(view.viewportTransform())
    if not image.isVisible() or not image.covered_rect(t).contains(ev.rect()):
        return False
    p = QPainter(view.viewport())  # clipped to the region to repaint, as the scene's painter is
    p.setTransform(t)
    image.paint(p)
    p.end()
    return True


def _covered(dev: QRectF) -> QRect:
    """The device pixels an image drawn into ``dev`` (device coordinates) certainly paints: those whose
    centres lie inside it."""
    left, top = math.ceil(dev.left() - 0.5), math.ceil(dev.top() - 0.5)
    return QRect(left, top, math.floor(dev.right() - 0.5) - left + 1, math.floor(dev.bottom() - 0.5) - top + 1)


def _fill_around(view: pg.PlotWidget, p: QPainter, rect: QRectF, image: RingImageItem) -> None:
    """``drawBackground`` of a view whose plot area is an opaque image: fill the exposed ``rect`` but what the
    image paints over anyway (a fill of the plot area per frame, a fifth of the waveform's paint)."""
    if not view.viewportTransform().isIdentity() or not image.isVisible():  # scene and device pixels differ
        QGraphicsView.drawBackground(view, p, rect)
        return
    exposed = rect.toAlignedRect()
    key = (exposed.getRect(), image.sceneBoundingRect().getRect(), image.buffer.shape)
    cached = view.__dict__.get("_fill_around")
    if cached is None or cached[0] != key:  # the same rectangles frame after frame
        covered = image.covered_rect(image.sceneTransform())
        cached = view.__dict__["_fill_around"] = (key, list(QRegion(exposed).subtracted(QRegion(covered))))
    brush = view.backgroundBrush()
    for r in cached[1]:
        p.fillRect(r, brush)


def style_plot(plot: pg.PlotItem) -> GridLines:
    """The one plot style of the window (live views and review): an opaque grid (returned), no menu or
    buttons, 9 pt tick text cached as a pixmap, ticks outside the plot area and axes under it."""
    grid = GridLines(plot)
    plot.addItem(grid, ignoreBounds=True)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    font = QFont()
    font.setPointSize(9)
    for ax in ("left", "bottom", "top", "right"):
        axis = plot.getAxis(ax)
        axis.setTickFont(font)
        # Axis text is the costliest thing to paint in software; cache it as a pixmap (redrawn only when the
        # ticks change) instead of replaying its QPicture on every frame.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # ticks outside the plot area (pyqtgraph draws them 5 px into it) and the axes under the plot (pyqtgraph
        # puts them over it, where a tick's first pixel falls on the plot's edge): the waveform and spectrogram
        # copy their image over the whole plot area on their own (_paint_image_only), the same pixels as the scene
        axis.setStyle(tickLength=TICK_LENGTH)
        axis.setZValue(-0.5)  # (pyqtgraph sets ItemNegativeZStacksBehindParent: behind the plot item, which paints nothing)
    plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return grid


def _premultiplied(colour: str) -> int:
    """An opaque colour as a 0xAARRGGBB word of an ARGB32_Premultiplied image."""
    c = QColor(colour)
    return 0xFF000000 | (c.red() << 16) | (c.green() << 8) | c.blue()


class WaveformView(pg.PlotWidget):
    """Last ``seconds`` of every channel, peak-downsampled to one (min, max) pair per column.

    The columns follow the plot's width in pixels (one pair per pixel column). The lanes are an opaque image of
    that many columns and as many rows as the plot has pixels (``image``, a ``DeviceRingImage`` in the same
    ring order as ``history``, the background colour off the trace): a frame rasterises only its new columns,
    in numpy, and copies two image pieces to the screen unscaled; the view does not fill the background under
    them, and the grid is drawn over the image lightening only what is darker than itself (the background,
    not the trace). (Drawn as one vertical line per column, Qt's software painter spent about half a
    microsecond per line: 0.6 ms a frame for 2 lanes, 1.5 ms for 8; a scaled, translucent image plus the
    background fill under it cost 0.7 ms a frame more than this copy.) Markers are labelled vertical lines at
    their file position.
    """

    follow_width = False  # True: the columns follow the plot's pixel width (set by the window)

    def __init__(self, samplerate: int, channels: int, seconds: float = 5.0, columns: int = 800, parent=None):
        super().__init__(parent=parent)
        self.setObjectName("waveformView")
        _opaque_viewport(self)
        self.plot_item = self.getPlotItem()
        self.grid = style_plot(self.plot_item)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setLabel("bottom", "time (s)")
        self.plot_item.setTitle("Waveform", color=theme.DIM, size="10pt")
        self.plot_item.vb.disableAutoRange()
        self.seconds = seconds
        self.columns = columns
        self.gain = 1.0  # vertical zoom (x1 = full scale fills the lane)
        self._bg = _premultiplied(theme.BG)  # off the trace (the scene's background colour)
        self.image = DeviceRingImage(300, columns, self._bg)
        self.plot_item.addItem(self.image)
        self.grid.over_image = True  # the image draws the grid: horizontal lines under the trace, vertical
        self.image.grid = self.grid  # ones lightening the columns under them as they are painted
        self._column = np.full(300, self._bg, np.uint32)  # an empty column: background and horizontal grid
        self._rows = 300  # image rows (follow the plot's height in pixels)
        self._drawn_columns = 0  # history.total_columns when the image was last brought up to date
        self._row_index = np.zeros((0, 1), np.int32)  # 0 … rows-1 as a column, for the rasteriser
        self._lanes_key: object = None  # (rows, channels, y range) of the rasteriser's row → lane tables
        self.marker_lines: list[tuple[int, pg.InfiniteLine]] = []
        self._drawn_key: object = None  # (zoom, image rows) the image was drawn for
        self.configure(samplerate, channels)
        self.plot_item.vb.sigResized.connect(self._follow_size)

    def configure(self, samplerate: int, channels: int, columns: int | None = None) -> None:
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        if columns is not None:
            self.columns = max(16, int(columns))
        fpc = max(1, int(round(self.seconds * samplerate / self.columns)))
        self.history = dsp.MinMaxHistory(self.columns, channels, fpc)
        t = (np.arange(self.columns) - self.columns + 1) * fpc / samplerate
        self._x = t.astype(np.float64)
        self._offsets = (-LANE * np.arange(channels)).astype(np.float32)
        self._y0, self._y1 = -LANE * (channels - 1) - 1.1, 1.1
        self._colours = np.array([_premultiplied(theme.CHANNEL_COLOURS[c % len(theme.CHANNEL_COLOURS)])
                                  for c in range(channels)], dtype=np.uint32)
        self.image.set_rect(QRectF(float(t[0]), self._y0, float(-t[0]), self._y1 - self._y0))
        self.image.resize(self._rows, self.columns)
        self.plot_item.setXRange(float(t[0]), 0.0, padding=0)
        self.plot_item.setYRange(self._y0, self._y1, padding=0)
        ticks = [(-LANE * c, f"Ch {c + 1}") for c in range(channels)]
        self.plot_item.getAxis("left").setTicks([ticks, []])
        self.grid.refresh()
        self._drawn_key = None
        self._drawn_columns = 0
        self.clear_markers()
        _repaint_all(self)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(ev)
        self._follow_size()

    def _follow_size(self, *_args) -> None:
        """Image rows (and with ``follow_width`` columns) as the plot area has pixels; also called when the plot
        area is resized after the view (its layout is deferred)."""
        if getattr(self, "_rows", None) is None:  # called by pyqtgraph's constructor, before ours
            return
        rows = int(self.plot_item.vb.height())
        if rows > 16 and rows != self._rows:  # one image row per pixel row
            self._rows = rows
            self.image.resize(rows, self.columns)
            self._drawn_key = None
        if self.follow_width:
            width = int(self.plot_item.vb.width())
            if width > 16 and abs(width - self.columns) > 8:  # one (min, max) pair per pixel column
                self.configure(self.samplerate, self.channels, columns=width)

    def push(self, block: np.ndarray) -> None:
        """Add the newest frames (n, channels) to the history."""
        if block.size:
            self.history.push(block[:, : self.channels])

    def drawn(self, channel: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x in s, min, max) per column as drawn for ``channel`` (zoom applied, lane offset removed)."""
        mn, mx = self.history.ordered()
        g = np.float32(self.gain)
        if self.gain != 1.0:
            mn, mx = np.clip(mn * g, -1.05, 1.05), np.clip(mx * g, -1.05, 1.05)
        return self._x, mn[:, channel], mx[:, channel]

    def refresh(self, file_frame_now: int | None = None) -> None:
        """Draw the columns that arrived since the last call into the image (all of them after a change of
        zoom or size) and move marker lines relative to the file position."""
        h = self.history
        key = (self.gain, self._rows)
        new = h.total_columns - self._drawn_columns
        everything = key != self._drawn_key or new >= self.columns
        if everything:
            new = min(h.total_columns, self.columns)  # what the history holds
            self._column = self._empty_column()
            self.image.buffer[:] = self._column[:, None]
        self._drawn_key = key
        if new > 0:
            # the new columns and the one before them (each column's line also reaches its left neighbour's
            # range, so the trace has no gaps)
            idx = (h.pos - new - 1 + np.arange(new + 1)) % self.columns
            mn, mx = h.mins[idx], h.maxs[idx]
            if self.gain != 1.0:  # zoom for quiet scenes; the lane clips, the meters stay the truth
                g = np.float32(self.gain)
                mn, mx = np.clip(mn * g, -1.05, 1.05), np.clip(mx * g, -1.05, 1.05)
            lo, hi = np.minimum(mn[1:], mx[:-1]), np.maximum(mx[1:], mn[:-1])
            if everything:
                lo[0], hi[0] = mn[1], mx[1]  # the oldest column has no left neighbour
            self.image.buffer[:, idx[1:]] = self._rasterise(lo + self._offsets, hi + self._offsets)
            self._drawn_columns = h.total_columns
            self.image.pos = h.pos
            _repaint_image(self, self.image)
        if file_frame_now is not None:
            keep = []
            for frame, line in self.marker_lines:
                x = (frame - file_frame_now) / self.samplerate
                if x < -self.seconds * 2:
                    self.plot_item.removeItem(line)
                    continue
                line.setValue(x)
                keep.append((frame, line))
            self.marker_lines = keep

    def _rasterise(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Image columns (rows, k) for k columns of (lo, hi) per channel in view coordinates: each lane's
        pixel rows from hi down to lo (at least one) in its colour, the background elsewhere; row 0 at the
        top of the plot (the image is copied to the screen as it is). Every row belongs to the nearest lane,
        so all channels are drawn in one pass (a trace reaching past half-way to the next lane is cut there)."""
        rows = self._rows
        r = np.stack([hi, lo])
        np.subtract(self._y1, r, out=r)
        r *= rows / (self._y1 - self._y0)
        r = np.clip(r, 0, rows - 1, out=r).astype(np.int32)  # r[0]: the top row of the span, r[1] the bottom
        key = (rows, self.channels, self._y0, self._y1)
        if self._lanes_key != key:
            self._lanes_key = key
            self._row_index = np.arange(rows, dtype=np.int32)[:, None]
            y = self._y1 - (np.arange(rows) + 0.5) * (self._y1 - self._y0) / rows
            self._row_lane = np.clip(np.rint(-y / LANE), 0, self.channels - 1).astype(np.intp)
            self._row_colour = self._colours[self._row_lane][:, None]
        lane = self._row_lane
        on = (self._row_index >= r[0][:, lane].T) & (self._row_index <= r[1][:, lane].T)
        return np.where(on, self._row_colour, self._column[:, None])

    def _empty_column(self) -> np.ndarray:
        """One image column without trace: the background with the grid's horizontal lines (the lanes'
        centres), in the rows where Qt would draw them."""
        rows = self._rows
        col = np.full(rows, self._bg, np.uint32)
        for y in self.grid.ys:
            col[min(rows - 1, max(0, int((self._y1 - y) * rows / (self._y1 - self._y0))))] = _premultiplied(
                self.grid.colour.name())
        return col

    def drawBackground(self, p: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt name)
        """Fill only what the lane image does not cover (it is opaque and painted over it)."""
        _fill_around(self, p, rect, self.image)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        """A frame's new columns with no marker line in the scene: the image alone (:func:`_paint_image_only`)."""
        if self.marker_lines or not _paint_image_only(self, ev, self.image):
            super().paintEvent(ev)

    def add_marker(self, frame: int, label: str, file_frame_now: int) -> None:
        line = pg.InfiniteLine(
            pos=(frame - file_frame_now) / self.samplerate,
            angle=90,
            pen=pg.mkPen(theme.YELLOW, width=2),
            label=label or "M",
            labelOpts={"position": 0.95, "color": theme.YELLOW, "fill": QColor(0, 0, 0, 160)},
        )
        self.plot_item.addItem(line)
        self.marker_lines.append((frame, line))
        _repaint(self)

    def clear_markers(self) -> None:
        for _f, line in self.marker_lines:
            self.plot_item.removeItem(line)
        self.marker_lines = []
        _repaint(self)


class PolylineItem(pg.GraphicsObject):
    """A curve drawn with one ``drawPolyline`` of a QPolygonF whose points are written in place (numpy view).

    Its bounding rectangle is the fixed view range (``set_rect``): no bounds search, no QPainterPath, no
    scene update per ``setData`` (the owner repaints the view)."""

    def __init__(self, pen: QPen) -> None:
        super().__init__()
        self._pen = pen
        self._poly = pg.functions.create_qpolygonf(0)
        self._points = pg.functions.ndarray_from_qpolygonf(self._poly)
        self._rect = QRectF()

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)

    def setData(self, x: np.ndarray, y: np.ndarray) -> None:  # noqa: N802 (pyqtgraph's name)
        if len(x) != len(self._points):
            self._poly = pg.functions.create_qpolygonf(len(x))
            self._points = pg.functions.ndarray_from_qpolygonf(self._poly)
        self._points[:, 0] = x
        self._points[:, 1] = y

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (pyqtgraph's name)
        return self._points[:, 0].copy(), self._points[:, 1].copy()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        return self._rect

    def paint(self, p: QPainter, *_args) -> None:
        if len(self._points) > 1:
            p.setPen(self._pen)
            p.drawPolyline(self._poly)


class SpectrumView(pg.PlotWidget):
    """FFT magnitude in dBFS on a log frequency axis, with an averaged curve and a peak-hold curve.

    Averaging and peak hold run on every bin; the curves draw at most one point per pixel column (the
    highest bin of the column, so a narrow peak is never lost). The curves' x data are log10(Hz) (read
    ``frequencies()`` for the bins in Hz)."""

    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.setObjectName("spectrumView")
        _opaque_viewport(self)
        self.plot_item = self.getPlotItem()
        self.grid = style_plot(self.plot_item)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setLabel("left", "dBFS")
        self.plot_item.setLabel("bottom", "frequency (Hz)")
        self.plot_item.setTitle("Spectrum — blue: average, orange: peak hold", color=theme.DIM, size="10pt")
        self.plot_item.vb.disableAutoRange()
        self.plot_item.setYRange(-120, 0, padding=0)
        # x is log10(frequency): a log axis without pyqtgraph's per-frame log of the data;
        # 1 px lines: a wider pen goes through Qt's stroker, about a third dearer in software painting
        self.hold_curve = PolylineItem(pg.mkPen(theme.ORANGE, width=1))
        self.curve = PolylineItem(pg.mkPen(theme.BLUE, width=1))
        self.plot_item.addItem(self.hold_curve)
        self.plot_item.addItem(self.curve)
        self._logf: np.ndarray | None = None
        self.avg_power: np.ndarray | None = None
        self.hold_db: np.ndarray | None = None
        self.averaging = 4
        self._freqs: np.ndarray | None = None
        self._columns: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None  # key, starts, x
        self.set_range(48000)

    def set_range(self, samplerate: float) -> None:
        self._xrange = (np.log10(20.0), np.log10(samplerate / 2))
        self.plot_item.setXRange(*self._xrange, padding=0)
        lo, hi = self._xrange
        for c in (self.curve, self.hold_curve):
            c.set_rect(QRectF(lo, -160.0, hi - lo, 160.0))
        ticks = [(np.log10(f), s) for f, s in dsp.db_ticks_frequency(20.0, samplerate / 2)]
        self.plot_item.getAxis("bottom").setTicks([ticks, []])
        self.grid.refresh()
        _repaint_all(self)
        self._columns = None

    def reset(self) -> None:
        """Forget averaging and peak hold (after a change of FFT size, window or channel)."""
        self.avg_power = None
        self.hold_db = None

    def _pixel_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """(first bin of each pixel column, its log10 frequency) for the bins now shown."""
        width = max(64, int(self.plot_item.vb.width()))
        key = (len(self._logf), width)
        if self._columns is None or self._columns[0] != key:
            lo, hi = self._xrange
            col = np.floor((self._logf - lo) / (hi - lo) * width).astype(np.int64)
            starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
            self._columns = (key, starts, self._logf[starts])
        return self._columns[1], self._columns[2]

    def update_spectrum(self, freqs: np.ndarray, db: np.ndarray, steps: int = 1) -> None:
        """Feed one spectrum (dBFS); exponential averaging over ``averaging`` display frames in power
        (``steps``: display frames since the previous spectrum, so the time constant stays the same)."""
        f, d = freqs[1:], db[1:]  # drop DC: the axis is logarithmic
        p = np.power(10.0, d / 10.0)
        if self.avg_power is None or self.avg_power.shape != p.shape:
            self.avg_power = p
            self.hold_db = None
        else:
            a = 1.0 - (1.0 - 1.0 / max(1, self.averaging)) ** max(1, steps)
            self.avg_power += a * (p - self.avg_power)
        shown = 10.0 * np.log10(np.maximum(self.avg_power, 1e-16))
        self.hold_db = shown.copy() if self.hold_db is None else np.maximum(self.hold_db, shown)
        if self._freqs is None or len(self._freqs) != len(f) or self._freqs[-1] != f[-1]:
            self._freqs = f
            self._logf = np.log10(f)
            self._columns = None
        starts, x = self._pixel_columns()
        self.curve.setData(x, np.maximum.reduceat(shown, starts))
        self.hold_curve.setData(x, np.maximum.reduceat(self.hold_db, starts))
        self.viewport().update(self._plot_rect()[1])

    def _plot_rect(self) -> tuple[QRectF, QRect]:
        """The plot area (the view box) in device pixels, and the pixels it covers (whose centres it holds: its
        clip's, where the axes do not paint)."""
        vb = self.plot_item.vb
        dev = vb.deviceTransform(self.viewportTransform()).mapRect(vb.boundingRect())
        return dev, _covered(dev)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        """New curves (a repaint within the plot area): the background, grid and curves painted onto the
        viewport under their device transforms and the view box's clip, as the scene paints them (the same
        calls), without QGraphicsView's pass over the scene's items (see :func:`_paint_image_only`)."""
        dev, area = self._plot_rect()
        if not area.contains(ev.rect()):
            super().paintEvent(ev)
            return
        vp = self.viewportTransform()
        p = QPainter(self.viewport())
        p.fillRect(ev.rect(), self.backgroundBrush())
        p.setClipRect(dev)
        for item in (self.grid, self.hold_curve, self.curve):  # the scene's order (grid at z -1000)
            if item.isVisible():
                p.setTransform(item.deviceTransform(vp))
                item.paint(p)
        p.end()

    def frequencies(self) -> np.ndarray | None:
        return self._freqs

    def peak_frequency(self) -> float | None:
        """Frequency (Hz) of the highest averaged bin, for tests and the readout."""
        if self.avg_power is None or self._freqs is None:
            return None
        return float(self._freqs[int(np.argmax(self.avg_power))])


class RingImageItem(pg.GraphicsObject):
    """A ring buffer of RGB32 columns painted as two pieces (oldest left, newest right): nothing is copied or
    colour-mapped at paint time. ``buffer`` is (rows, columns) uint32 0xffRRGGBB, row 0 at the rectangle's
    top (the lowest y of the view: the bottom of the plot). ``fmt`` ARGB32_Premultiplied: 0 is transparent
    (what is under the image, the grid, shows through)."""

    def __init__(self, rows: int, columns: int, fmt: QImage.Format = QImage.Format.Format_RGB32) -> None:
        super().__init__()
        self._fmt = fmt
        self.pos = 0
        self._rect = QRectF(0, 0, columns, rows)
        self.resize(rows, columns)

    def resize(self, rows: int, columns: int) -> None:
        """A new (zeroed) buffer of ``rows`` x ``columns``."""
        self.buffer = np.zeros((rows, columns), dtype=np.uint32)
        self._image = pg.functions.ndarray_to_qimage(self.buffer, self._fmt)  # a view, no copy
        self.pos = 0

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        return self._rect

    def covered_rect(self, transform: QTransform) -> QRect:
        """The device pixels the (opaque) image paints under ``transform`` (item to device)."""
        return _covered(transform.mapRect(self._rect))

    def paint(self, p: QPainter, *_args) -> None:
        rows, cols = self.buffer.shape
        r = self._rect
        cw = r.width() / cols
        old = cols - self.pos  # columns pos..end are the oldest: they go on the left
        p.drawImage(QRectF(r.left(), r.top(), old * cw, r.height()), self._image, QRectF(self.pos, 0, old, rows))
        if self.pos:
            p.drawImage(QRectF(r.left() + old * cw, r.top(), self.pos * cw, r.height()), self._image,
                        QRectF(0, 0, self.pos, rows))


class DeviceRingImage(RingImageItem):
    """A ``RingImageItem`` of opaque RGB32 columns with row 0 at the top of the screen, painted in device
    pixels: when the image has the size of its rectangle on screen (the waveform's columns and rows follow the
    plot's pixels) its two pieces are copied unscaled (a straight copy in Qt's raster engine; a scaled or
    translucent image goes through its per-pixel sampling and blending), else they are scaled into it."""

    def __init__(self, rows: int, columns: int, fill: int) -> None:
        self.fill = int(fill)
        self.grid: GridLines | None = None  # its vertical lines are lightened into the columns under them
        self._grid_key: object = None
        self._grid_at = np.zeros(0, np.intp)
        self._grid_parts: list[tuple[np.uint32, np.uint32]] = []
        super().__init__(rows, columns, QImage.Format.Format_RGB32)

    def resize(self, rows: int, columns: int) -> None:
        super().resize(rows, columns)
        self.buffer[:] = self.fill

    def covered_rect(self, transform: QTransform) -> QRect:
        dev = transform.mapRect(self._rect)
        return self._blit(dev) or _covered(dev)

    def blit_rect(self, transform: QTransform) -> QRect | None:
        """The device rectangle the image is copied to unscaled under ``transform`` (item to device), or None
        when it has to be scaled (its rectangle on screen differs from its size by a pixel or more)."""
        return self._blit(transform.mapRect(self._rect))

    def _blit(self, dev: QRectF) -> QRect | None:
        rows, cols = self.buffer.shape
        if abs(dev.width() - cols) >= 1.0 or abs(dev.height() - rows) >= 1.0:
            return None
        return QRect(round(dev.left()), round(dev.top()), cols, rows)

    def paint(self, p: QPainter, *_args) -> None:
        rows, cols = self.buffer.shape
        dev = p.transform().mapRect(self._rect)
        blit = self._blit(dev)
        old = cols - self.pos  # columns pos..end are the oldest: they go on the left
        lit = self._lighten_grid(p.transform(), dev)
        p.save()
        p.resetTransform()
        if blit is not None:
            p.drawImage(blit.topLeft(), self._image, QRect(self.pos, 0, old, rows))
            if self.pos:
                p.drawImage(blit.topLeft() + QPoint(old, 0), self._image, QRect(0, 0, self.pos, rows))
        else:
            cw = dev.width() / cols
            p.drawImage(QRectF(dev.left(), dev.top(), old * cw, dev.height()), self._image,
                        QRectF(self.pos, 0, old, rows))
            if self.pos:
                p.drawImage(QRectF(dev.left() + old * cw, dev.top(), self.pos * cw, dev.height()), self._image,
                            QRectF(0, 0, self.pos, rows))
        p.restore()
        if lit is not None:
            self.buffer[:, lit[0]] = lit[1]

    def _lighten_grid(self, transform: QTransform, dev: QRectF) -> tuple[np.ndarray, np.ndarray] | None:
        """Lighten the image columns under the grid's vertical lines to at least the grid's colour (per colour
        channel: the background takes the grid's colour, the trace keeps its own) for this paint; returns
        (columns, their pixels) to restore afterwards. (Drawn over the image with QPainter's Lighten mode, the
        lines cost more than the image itself.)"""
        if self.grid is None or not self.grid.xs:
            return None
        rows, cols = self.buffer.shape
        key = (id(self.grid.xs), dev.getRect(), cols, transform.m11(), transform.dx())
        if self._grid_key != key:  # the screen columns of the lines, found again when the view changes
            self._grid_key = key
            at = np.floor([transform.map(QPointF(x, 0.0)).x() for x in self.grid.xs]) - math.floor(dev.left())
            at = np.unique(np.floor(at * (cols / max(1.0, dev.width()))).astype(np.intp))
            self._grid_at = at[(at >= 0) & (at < cols)]
            g = _premultiplied(self.grid.colour.name())
            self._grid_parts = [(np.uint32(m), np.uint32(g & m)) for m in (0xFF0000, 0xFF00, 0xFF)]
        if not len(self._grid_at):
            return None
        ring = (self.pos + self._grid_at) % cols  # the ring columns shown at those screen columns
        saved = self.buffer[:, ring]
        lit = np.full(saved.shape, 0xFF000000, np.uint32)
        for mask, grid in self._grid_parts:
            lit |= np.maximum(saved & mask, grid)
        self.buffer[:, ring] = lit
        return ring, saved


class SpectrogramView(pg.PlotWidget):
    """Scrolling spectrogram: a ring of columns (time × log-frequency rows), fixed dB colour range.

    New columns are colour-mapped once, when they arrive (``ring`` keeps their dB values)."""

    ROWS = 256

    def __init__(self, columns: int = 300, levels: tuple[float, float] = (-120.0, -20.0), parent=None):
        super().__init__(parent=parent)
        self.setObjectName("spectrogramView")
        _opaque_viewport(self)
        self.plot_item = self.getPlotItem()
        self.grid = style_plot(self.plot_item)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setTitle(f"Spectrogram — colour {levels[0]:.0f} (black) … {levels[1]:.0f} dBFS (yellow)",
                                color=theme.DIM, size="10pt")
        self.plot_item.setLabel("bottom", "time (s)")
        self.plot_item.setLabel("left", "Hz")
        self.plot_item.vb.disableAutoRange()
        self.columns = columns
        self.levels = levels
        lut = pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=False).astype(np.uint32)
        self._lut = (0xFF000000 | (lut[:, 0] << 16) | (lut[:, 1] << 8) | lut[:, 2]).astype(np.uint32)
        self.image_item = RingImageItem(self.ROWS, columns)
        self.plot_item.addItem(self.image_item)
        self.grid.hide()  # under the opaque image it would be painted and covered at once
        self.ring = np.full((self.ROWS, columns), levels[0], dtype=np.float32)
        self.pos = 0
        self.total_columns = 0
        self._map: np.ndarray | None = None
        self._map_key = None
        self.column_seconds = 1.0 / 30
        self.samplerate = 48000.0

    def configure(self, samplerate: float, column_seconds: float) -> None:
        self.samplerate = samplerate
        self.column_seconds = column_seconds
        span = self.columns * column_seconds
        self.plot_item.setXRange(-span, 0, padding=0)
        self.plot_item.setYRange(0, self.ROWS, padding=0)
        self.image_item.set_rect(QRectF(-span, 0, span, self.ROWS))
        self.ring[:] = self.levels[0]
        self.image_item.buffer[:] = self._colours(self.ring[:, :1])
        self.pos = self.image_item.pos = 0
        self._map_key = None
        _repaint_all(self)

    def drawBackground(self, p: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt name)
        """Fill only what the image does not cover (it is opaque and painted over it)."""
        _fill_around(self, p, rect, self.image_item)

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        """A frame's new columns: the image alone (:func:`_paint_image_only`)."""
        if not _paint_image_only(self, ev, self.image_item):
            super().paintEvent(ev)

    def _colours(self, db: np.ndarray) -> np.ndarray:
        lo, hi = self.levels
        idx = np.clip((db - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.intp)
        return self._lut[idx]

    def image(self) -> np.ndarray:
        """The dB image as shown, oldest column first: (ROWS, columns)."""
        p = self.pos
        return np.concatenate([self.ring[:, p:], self.ring[:, :p]], axis=1)

    def _row_map(self, freqs: np.ndarray) -> np.ndarray:
        key = (len(freqs), float(freqs[-1]))
        if self._map_key != key:
            centres, idx = dsp.log_frequency_map(freqs, self.ROWS)
            self._map, self._map_key = idx, key
            ticks = []
            for f, s in dsp.db_ticks_frequency(centres[0], centres[-1]):
                row = float(np.interp(np.log(f), np.log(centres), np.arange(self.ROWS))) + 0.5
                ticks.append((row, s))
            self.plot_item.getAxis("left").setTicks([ticks, []])
            self.grid.refresh()
            _repaint_all(self)
        return self._map

    def add_columns(self, freqs: np.ndarray, db_time_freq: np.ndarray) -> None:
        """Append spectra (time, freq) in dB; the newest column ends up at the right edge."""
        if db_time_freq.size == 0:
            return
        rows = self._row_map(freqs)
        cols = np.asarray(db_time_freq[:, rows].T, dtype=np.float32)[:, -self.columns :]
        rgb = self._colours(cols)
        k = cols.shape[1]
        first = min(k, self.columns - self.pos)
        buf = self.image_item.buffer
        self.ring[:, self.pos : self.pos + first] = cols[:, :first]
        buf[:, self.pos : self.pos + first] = rgb[:, :first]
        if k > first:
            self.ring[:, : k - first] = cols[:, first:]
            buf[:, : k - first] = rgb[:, first:]
        self.pos = (self.pos + k) % self.columns
        self.total_columns += k

    def refresh(self) -> None:
        self.image_item.pos = self.pos
        _repaint_image(self, self.image_item)
