"""Per-channel level meters: peak and RMS bars on a dBFS scale, peak hold, latched clip lamps,
true-peak and loudness readouts. Fed a ``MeterSnapshot`` once per display frame."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from fieldrec.gui import theme
from fieldrec.gui.ballistics import FLOOR_DB, Ballistics

# piecewise scale: more room near full scale where decisions are made
_SCALE_DB = np.array([-60.0, -50.0, -40.0, -30.0, -20.0, -10.0, -6.0, -3.0, 0.0])
_SCALE_POS = np.array([0.0, 0.06, 0.14, 0.26, 0.42, 0.64, 0.76, 0.87, 1.0])
TICKS_DB = (0, -3, -6, -10, -20, -30, -40, -60)


# clip lamps: no padding (the window's button padding of 10 px a side left "CLIF" of "CLIP" in a lamp a
# quarter of the panel wide), a small bold font; the lit lamp's white border is inside the same box
_LAMP_BASE = "padding: 0px; font-weight: bold; font-size: 11px; border-radius: 3px;"
_LAMP_ON = f"{_LAMP_BASE} background: {theme.RED}; color: white; border: 2px solid white;"
_LAMP_OFF = f"{_LAMP_BASE} background: {theme.DARK_RED}; color: #8a5a5c; border: 2px solid {theme.DARK_RED};"


def db_to_fraction(db: float) -> float:
    """Position of a dBFS level on the bar, 0 (bottom, ≤ -60 dBFS) … 1 (0 dBFS)."""
    if not math.isfinite(db):
        return 0.0
    return float(np.interp(db, _SCALE_DB, _SCALE_POS))


def _fractions(db: np.ndarray) -> np.ndarray:
    """``db_to_fraction`` of an array (−inf and NaN at the bottom)."""
    return np.interp(np.fmax(np.asarray(db, dtype=np.float64), -1e3), _SCALE_DB, _SCALE_POS)  # fmax: NaN -> -1e3


def fmt_db(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "–∞" if value is not None and value < 0 else "—"
    return f"{value:.{digits}f}{(' ' + unit) if unit else ''}"


class MeterBars(QWidget):
    """The painted bars (one per channel) with the dB scale on the left."""

    def __init__(self, channels: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.channels = channels
        self.peak = np.full(channels, FLOOR_DB)
        self.rms = np.full(channels, FLOOR_DB)
        self.hold = np.full(channels, FLOOR_DB)
        self.setMinimumSize(60 + 26 * channels, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # paintEvent covers every pixel (the background pixmap): the widgets under it are not painted first
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._font = QFont()
        self._font.setPointSize(9)
        self._bg: QPixmap | None = None
        self._drawn_px: np.ndarray | None = None  # pixel positions last painted, (3, channels)
        self._drawn_hot = np.zeros(channels, bool)
        self._frac = np.zeros((3, channels))  # peak, RMS, hold as bar fractions (db_to_fraction)
        self._bg_key: tuple[int, int, int] | None = None
        zones = ((-60.0, -18.0, theme.GREEN), (-18.0, -6.0, theme.YELLOW), (-6.0, 0.0, theme.RED))
        self._zones = [(db_to_fraction(lo), db_to_fraction(hi), QColor(c).darker(135)) for lo, hi, c in zones]
        self._rms_colour = QColor("#e8f7ff")
        self._hold_colour = QColor(theme.TEXT)
        self._hold_hot = QColor(theme.RED)

    def set_levels(self, peak: np.ndarray, rms: np.ndarray, hold: np.ndarray) -> None:
        """New levels (dBFS per channel); a bar is repainted only when it or its mark moves by a pixel or
        more (only that bar's column of the widget)."""
        self.peak, self.rms, self.hold = peak, rms, hold
        n = self.channels
        self._frac = _fractions(np.concatenate([np.ravel(peak), np.ravel(rms), np.ravel(hold)])).reshape(3, n)
        span = max(1, self.height() - 16)
        drawn = np.round(self._frac * span).astype(np.int32)
        hot = np.ravel(hold) > -3.0
        if self._drawn_px is None or self._drawn_px.shape != drawn.shape:
            changed = range(n)
            self.update()
        else:
            changed = np.flatnonzero((drawn != self._drawn_px).any(axis=0) | (hot != self._drawn_hot))
            if len(changed):
                top, bottom, _span, bar_w = self._geometry()
                for c in changed:
                    x0 = self.SCALE_W + self.GAP + int(c) * (bar_w + self.GAP)
                    # the bar and the gaps beside it (nothing of a bar is ever left outside them)
                    self.update(int(x0) - self.GAP, 0, int(bar_w) + 2 * self.GAP + 1, self.height())
        if len(changed):
            self._drawn_px, self._drawn_hot = drawn, hot

    SCALE_W = 34
    GAP = 6

    def _geometry(self) -> tuple[int, int, float, float]:
        h = self.height()
        top, bottom = 8, h - 8
        n = self.channels
        bar_w = max(8.0, (self.width() - self.SCALE_W - self.GAP * (n + 1)) / n)
        return top, bottom, float(bottom - top), bar_w

    def _background(self) -> QPixmap:
        """Scale, tick lines and empty bars: drawn once per size (text is costly to paint every frame)."""
        key = (self.width(), self.height(), self.channels)
        if self._bg_key == key and self._bg is not None:
            return self._bg
        w, h = self.width(), self.height()
        pm = QPixmap(max(1, w), max(1, h))
        pm.fill(QColor(theme.PANEL))
        p = QPainter(pm)
        top, bottom, span, bar_w = self._geometry()
        p.setFont(self._font)
        for db in TICKS_DB:
            y = bottom - db_to_fraction(db) * span
            p.setPen(QColor(theme.DIM))
            p.drawText(QRectF(0, y - 7, self.SCALE_W - 4, 14), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(db))
            p.setPen(QPen(QColor("#30353c"), 1))
            p.drawLine(self.SCALE_W, int(y), w, int(y))
        for c in range(self.channels):
            x0 = self.SCALE_W + self.GAP + c * (bar_w + self.GAP)
            p.fillRect(QRectF(x0, top, bar_w, span), QColor("#0b0c0e"))
        p.end()
        self._bg, self._bg_key = pm, key
        return pm

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """The background pixmap and the bars, both only inside the region to repaint (a bar's column)."""
        p = QPainter(self)
        area = event.rect()
        p.drawPixmap(area, self._background(), area)
        top, bottom, span, bar_w = self._geometry()
        frac = self._frac
        for c in range(self.channels):
            x0 = self.SCALE_W + self.GAP + c * (bar_w + self.GAP)
            if x0 > area.right() + 1 or x0 + bar_w < area.left() - 1:
                continue
            # peak bar: zone colours (opaque: blending is slow in software painting) up to the peak level
            pk = frac[0, c]
            for f_lo, f_hi, col in self._zones:
                f_top = min(pk, f_hi)
                if f_top > f_lo:
                    p.fillRect(QRectF(x0, bottom - f_top * span, bar_w, (f_top - f_lo) * span), col)
            # RMS bar: bright, narrower, in the middle of the peak bar
            rf = frac[1, c]
            if rf > 0:
                p.fillRect(QRectF(x0 + bar_w * 0.25, bottom - rf * span, bar_w * 0.5, rf * span), self._rms_colour)
            # peak-hold mark
            hf = frac[2, c]
            if hf > 0:
                col = self._hold_hot if self.hold[c] > -3.0 else self._hold_colour
                p.fillRect(QRectF(x0, bottom - hf * span - 2, bar_w, 3), col)
        p.end()


class MeterPanel(QWidget):
    """Meters with clip lamps and readouts. ``clipResetRequested`` asks the owner to call
    ``recorder.reset_clips()``; the lamp latches until then (or until ``reset_clips()`` here)."""

    clipResetRequested = Signal()

    def __init__(self, channels: int = 2, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("meterPanel")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._body: QWidget | None = None
        self.set_channels(channels)

    # -- construction -------------------------------------------------------------------------
    def set_channels(self, channels: int) -> None:
        if self._body is not None:
            self._layout.removeWidget(self._body)
            self._body.deleteLater()
        self.channels = channels
        self.ballistics_peak = Ballistics(channels)
        self.ballistics_rms = Ballistics(channels)
        self.latched = [False] * channels
        self._tp_over = False
        body = QWidget(self)
        v = QVBoxLayout(body)
        v.setContentsMargins(0, 0, 0, 0)
        lamps = QHBoxLayout()
        clip_caption = QLabel("CLIP" if channels > 4 else "", body)
        clip_caption.setFixedWidth(34)
        clip_caption.setStyleSheet(f"color: {theme.RED}; font-weight: bold; font-size: 11px;")
        lamps.addWidget(clip_caption)
        self.clip_buttons: list[QPushButton] = []
        for c in range(channels):
            b = QPushButton("CLIP" if channels <= 4 else "", body)
            b.setObjectName(f"clipLamp{c + 1}")
            b.setToolTip(f"Channel {c + 1} clip indicator: latches on a clip; click to reset all lamps")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(30)
            b.clicked.connect(self._on_clip_clicked)
            lamps.addWidget(b)
            self.clip_buttons.append(b)
        v.addLayout(lamps)
        self.bars = MeterBars(channels, body)
        v.addWidget(self.bars, 1)
        names = QHBoxLayout()
        names.addSpacing(34)
        for c in range(channels):
            lab = QLabel(str(c + 1), body)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            names.addWidget(lab)
        v.addLayout(names)
        legend = QLabel("colour bar: peak · white: RMS (300 ms) · line: peak hold (2 s) · dBFS", body)
        legend.setWordWrap(True)
        legend.setStyleSheet(f"color: {theme.DIM}; font-size: 11px;")
        v.addWidget(legend)
        grid = QGridLayout()
        big = QFont()
        big.setPointSize(15)
        big.setBold(True)
        self.readouts: dict[str, QLabel] = {}
        rows = (
            ("max_peak", "Max peak dBFS"),
            ("max_tp", "Max true peak dBTP"),
            ("short_term", "Short-term LUFS"),
            ("momentary", "Momentary LUFS"),
        )
        for r, (key, text) in enumerate(rows):
            t = QLabel(text, body)
            t.setStyleSheet(f"color: {theme.DIM};")
            val = QLabel("—", body)
            val.setFont(big)
            val.setObjectName(f"readout_{key}")
            val.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            val.setFixedSize(90, val.sizeHint().height())  # fixed: new text never re-lays out the window
            grid.addWidget(t, r, 0)
            grid.addWidget(val, r, 1)
            self.readouts[key] = val
        v.addLayout(grid)
        self._layout.addWidget(body)
        self._body = body
        self._paint_lamps()

    # -- updates ------------------------------------------------------------------------------
    def set_snapshot(self, snap, dt: float, update_text: bool = True) -> None:
        """Show a ``MeterSnapshot`` that arrived ``dt`` seconds after the previous one (``update_text``
        False: bars and clip lamps only, the numeric readouts keep their text)."""
        n = len(snap.peak_dbfs)
        if n != self.channels:
            self.set_channels(n)
        peak, hold = self.ballistics_peak.update(snap.peak_dbfs, dt)
        rms, _ = self.ballistics_rms.update(snap.rms_dbfs, dt)
        self.bars.set_levels(peak, rms, hold)
        changed = False
        for c, latched in enumerate(snap.clip_latched):
            if latched and not self.latched[c]:
                self.latched[c] = True
                changed = True
        if changed:
            self._paint_lamps()
        if not update_text:
            return
        self.readouts["max_peak"].setText(fmt_db(max(snap.max_peak_dbfs, default=-math.inf)))
        self.readouts["max_tp"].setText(fmt_db(max(snap.max_true_peak_dbtp, default=-math.inf)))
        self.readouts["short_term"].setText(fmt_db(snap.short_term_lufs))
        self.readouts["momentary"].setText(fmt_db(snap.momentary_lufs))
        over = max(snap.max_true_peak_dbtp, default=-math.inf) > -1.0
        if over != self._tp_over:  # style sheets are costly: restyle only on a change
            self._tp_over = over
            self.readouts["max_tp"].setStyleSheet(f"color: {theme.RED};" if over else "")

    def any_latched(self) -> bool:
        return any(self.latched)

    def reset_clips(self) -> None:
        self.latched = [False] * self.channels
        self._paint_lamps()

    def _on_clip_clicked(self) -> None:
        self.reset_clips()
        self.clipResetRequested.emit()

    def _paint_lamps(self) -> None:
        for b, on in zip(self.clip_buttons, self.latched, strict=True):
            b.setProperty("latched", on)
            b.setStyleSheet(_LAMP_ON if on else _LAMP_OFF)
