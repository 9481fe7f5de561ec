"""The three live plots: scrolling waveform per channel, FFT spectrum, scrolling spectrogram.

Plot items are created once; every frame only calls ``setData``/``setImage`` with new arrays.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem

from fieldrec.gui import dsp, theme

pg.setConfigOptions(antialias=False, background=theme.BG, foreground=theme.DIM, imageAxisOrder="row-major")

LANE = 2.4  # vertical distance between channel lanes (a lane spans -1…1)


def _style_plot(plot: pg.PlotItem) -> None:
    plot.showGrid(x=True, y=True, alpha=0.15)
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
    plot.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class WaveformView(pg.PlotWidget):
    """Last ``seconds`` of every channel, peak-downsampled to one (min, max) pair per column.

    Markers appear as labelled vertical lines at their file position.
    """

    def __init__(self, samplerate: int, channels: int, seconds: float = 5.0, columns: int = 800, parent=None):
        super().__init__(parent=parent)
        self.setObjectName("waveformView")
        self.plot_item = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setLabel("bottom", "time (s)")
        self.plot_item.setTitle("Waveform", color=theme.DIM, size="10pt")
        self.seconds = seconds
        self.columns = columns
        self.gain = 1.0  # vertical zoom (x1 = full scale fills the lane)
        self.curves: list[pg.PlotCurveItem] = []
        self.marker_lines: list[tuple[int, pg.InfiniteLine]] = []
        self.configure(samplerate, channels)

    def configure(self, samplerate: int, channels: int) -> None:
        for c in self.curves:
            self.plot_item.removeItem(c)
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        fpc = max(1, int(round(self.seconds * samplerate / self.columns)))
        self.history = dsp.MinMaxHistory(self.columns, channels, fpc)
        t = (np.arange(self.columns) - self.columns + 1) * fpc / samplerate
        self._x = np.repeat(t, 2).astype(np.float64)
        self.curves = []
        for c in range(channels):
            pen = pg.mkPen(theme.CHANNEL_COLOURS[c % len(theme.CHANNEL_COLOURS)], width=1)
            curve = pg.PlotCurveItem(pen=pen, skipFiniteCheck=True)
            self.plot_item.addItem(curve)
            self.curves.append(curve)
        self.plot_item.setXRange(float(t[0]), 0.0, padding=0)
        self.plot_item.setYRange(-LANE * (channels - 1) - 1.1, 1.1, padding=0)
        ticks = [(-LANE * c, f"Ch {c + 1}") for c in range(channels)]
        self.plot_item.getAxis("left").setTicks([ticks, []])
        self.clear_markers()

    def push(self, block: np.ndarray) -> None:
        """Add the newest frames (n, channels) to the history."""
        if block.size:
            self.history.push(block[:, : self.channels])

    def refresh(self, file_frame_now: int | None = None) -> None:
        """Redraw curves (and move marker lines relative to the current file position)."""
        g = np.float32(self.gain)
        for c, curve in enumerate(self.curves):
            y = self.history.interleaved(c)
            if self.gain != 1.0:  # zoom for quiet scenes; the lane clips, the meters stay the truth
                y = np.clip(y * g, -1.05, 1.05)
            curve.setData(self._x, y - np.float32(LANE * c), connect="all")
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

    def clear_markers(self) -> None:
        for _f, line in self.marker_lines:
            self.plot_item.removeItem(line)
        self.marker_lines = []


class SpectrumView(pg.PlotWidget):
    """FFT magnitude in dBFS on a log frequency axis, with an averaged curve and a peak-hold curve.

    The curves' x data are log10(Hz) (read ``frequencies()`` for Hz)."""

    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.setObjectName("spectrumView")
        self.plot_item = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setLabel("left", "dBFS")
        self.plot_item.setLabel("bottom", "frequency (Hz)")
        self.plot_item.setTitle("Spectrum — blue: average, orange: peak hold", color=theme.DIM, size="10pt")
        self.plot_item.setYRange(-120, 0, padding=0)
        # x is log10(frequency): a log axis without pyqtgraph's per-frame log of the data
        self.hold_curve = pg.PlotCurveItem(pen=pg.mkPen(theme.ORANGE, width=1), skipFiniteCheck=True)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(theme.BLUE, width=2), skipFiniteCheck=True)
        self.plot_item.addItem(self.hold_curve)
        self.plot_item.addItem(self.curve)
        self._logf: np.ndarray | None = None
        self.avg_power: np.ndarray | None = None
        self.hold_db: np.ndarray | None = None
        self.averaging = 4
        self._freqs: np.ndarray | None = None

    def set_range(self, samplerate: float) -> None:
        self.plot_item.setXRange(np.log10(20.0), np.log10(samplerate / 2), padding=0)
        ticks = [(np.log10(f), s) for f, s in dsp.db_ticks_frequency(20.0, samplerate / 2)]
        self.plot_item.getAxis("bottom").setTicks([ticks, []])

    def reset(self) -> None:
        """Forget averaging and peak hold (after a change of FFT size, window or channel)."""
        self.avg_power = None
        self.hold_db = None

    def update_spectrum(self, freqs: np.ndarray, db: np.ndarray) -> None:
        """Feed one spectrum (dBFS); exponential averaging over ``averaging`` frames in power."""
        f, d = freqs[1:], db[1:]  # drop DC: the axis is logarithmic
        p = np.power(10.0, d / 10.0)
        if self.avg_power is None or self.avg_power.shape != p.shape:
            self.avg_power = p
            self.hold_db = None
        else:
            a = 1.0 / max(1, self.averaging)
            self.avg_power += a * (p - self.avg_power)
        shown = 10.0 * np.log10(np.maximum(self.avg_power, 1e-16))
        self.hold_db = shown.copy() if self.hold_db is None else np.maximum(self.hold_db, shown)
        if self._freqs is None or len(self._freqs) != len(f) or self._freqs[-1] != f[-1]:
            self._freqs = f
            self._logf = np.log10(f)
        self.curve.setData(self._logf, shown)
        self.hold_curve.setData(self._logf, self.hold_db)

    def frequencies(self) -> np.ndarray | None:
        return self._freqs

    def peak_frequency(self) -> float | None:
        """Frequency (Hz) of the highest averaged bin, for tests and the readout."""
        if self.avg_power is None or self._freqs is None:
            return None
        return float(self._freqs[int(np.argmax(self.avg_power))])


class SpectrogramView(pg.PlotWidget):
    """Scrolling spectrogram: a ring-buffer image (time × log-frequency rows), fixed dB colour range."""

    ROWS = 256

    def __init__(self, columns: int = 300, levels: tuple[float, float] = (-120.0, -20.0), parent=None):
        super().__init__(parent=parent)
        self.setObjectName("spectrogramView")
        self.plot_item = self.getPlotItem()
        _style_plot(self.plot_item)
        self.plot_item.setMouseEnabled(x=False, y=False)
        self.plot_item.setTitle(f"Spectrogram — colour {levels[0]:.0f} (black) … {levels[1]:.0f} dBFS (yellow)",
                                color=theme.DIM, size="10pt")
        self.plot_item.setLabel("bottom", "time (s)")
        self.plot_item.setLabel("left", "Hz")
        self.columns = columns
        self.levels = levels
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setColorMap(pg.colormap.get("inferno"))
        self.plot_item.addItem(self.image_item)
        self.ring = np.full((self.ROWS, columns), levels[0], dtype=np.float32)
        self.pos = 0
        self.total_columns = 0
        self._map: np.ndarray | None = None
        self._map_key = None
        self.column_seconds = 1.0 / 30
        self._rect_set = False

    def configure(self, samplerate: float, column_seconds: float) -> None:
        self.samplerate = samplerate
        self.column_seconds = column_seconds
        span = self.columns * column_seconds
        self._rect_set = False
        self.plot_item.setXRange(-span, 0, padding=0)
        self.plot_item.setYRange(0, self.ROWS, padding=0)
        self.ring[:] = self.levels[0]
        self.pos = 0
        self._map_key = None

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
        return self._map

    def add_columns(self, freqs: np.ndarray, db_time_freq: np.ndarray) -> None:
        """Append spectra (time, freq) in dB; the newest column ends up at the right edge."""
        if db_time_freq.size == 0:
            return
        rows = self._row_map(freqs)
        cols = np.asarray(db_time_freq[:, rows].T, dtype=np.float32)[:, -self.columns :]
        k = cols.shape[1]
        first = min(k, self.columns - self.pos)
        self.ring[:, self.pos : self.pos + first] = cols[:, :first]
        if k > first:
            self.ring[:, : k - first] = cols[:, first:]
        self.pos = (self.pos + k) % self.columns
        self.total_columns += k

    def refresh(self) -> None:
        p = self.pos
        img = np.concatenate([self.ring[:, p:], self.ring[:, :p]], axis=1)
        self.image_item.setImage(img, autoLevels=False, levels=self.levels)
        if not self._rect_set:  # the rect needs an image to scale against
            span = self.columns * self.column_seconds
            self.image_item.setRect(pg.QtCore.QRectF(-span, 0, span, self.ROWS))
            self._rect_set = True


