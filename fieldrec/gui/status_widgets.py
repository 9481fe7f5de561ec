"""The recording-health strip and the notification banner."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from fieldrec.field.power import LOW_TIME_S
from fieldrec.gui import theme

log = logging.getLogger(__name__)


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return "—"


def fmt_duration(seconds: float | None) -> str:
    """h:mm:ss (or m:ss.t under an hour, for the elapsed clock)."""
    if seconds is None:
        return "—"
    seconds = max(0.0, float(seconds))
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}:{m:02d}:{s:02d}"
    return f"{m:02d}:{s:02d}.{int((seconds % 1) * 10)}"


def fmt_time_left(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds > 99 * 3600:
        return ">99 h"
    h, rem = divmod(int(seconds), 3600)
    return f"{h} h {rem // 60:02d} min" if h else f"{rem // 60} min {rem % 60:02d} s"


class _Cell(QLabel):
    def __init__(self, name: str, parent: QWidget):
        super().__init__(parent)
        self.setObjectName(name)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setMinimumWidth(120)
        self.set_state("ok")

    def set_state(self, state: str) -> None:
        if self.property("state") == state:
            return  # style sheets are costly: restyle only on a change
        bg = {"ok": theme.PANEL, "bad": theme.RED, "warn": "#6b4a00"}[state]
        fg = "white" if state != "ok" else theme.TEXT
        self.setStyleSheet(f"background: {bg}; color: {fg}; padding: 4px 8px; border-radius: 3px; font-size: 14px;")
        self.setProperty("state", state)


class HealthStrip(QWidget):
    """File size, disk time left, input overflows (red from the first one, with its time), device state."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("healthStrip")
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 0, 0, 0)
        self.file_size = _Cell("healthFileSize", self)
        self.disk_left = _Cell("healthDiskLeft", self)
        self.overflows = _Cell("healthOverflows", self)
        self.device = _Cell("healthDevice", self)
        self.format = _Cell("healthFormat", self)
        self.battery = _Cell("healthBattery", self)
        self.battery.setText("Battery: …")
        self.finalising = _Cell("healthFinalising", self)
        self.finalising.set_state("warn")
        self.finalising.hide()
        for w in (self.device, self.format, self.file_size, self.disk_left, self.battery, self.overflows,
                  self.finalising):
            h.addWidget(w)
        for w, width in ((self.file_size, 210), (self.disk_left, 210)):  # their text changes at 10 Hz: a fixed
            w.setFixedSize(width, w.sizeHint().height())  # size keeps a new text from re-laying out the window
        h.addStretch(1)
        self.overflow_count = 0
        # before the input is first opened (e.g. `fieldrec library`): say so rather than show empty cells
        self.device.setText("input not open (Arm opens it)")
        self.format.setText("–")
        self.file_size.setText("File — (not recording)")
        self.disk_left.setText("Disk left –")
        self.overflows.setText("Overflows 0")
        self.idle_disk_left: float | None = None  #: from the power reading, shown when no take measures it

    def set_status(self, st) -> None:
        self.file_size.setText(f"File {fmt_bytes(st.file_bytes) if st.take else '— (not recording)'}")
        left = st.disk_seconds_left if st.disk_seconds_left is not None else self.idle_disk_left
        self.disk_left.setText(f"Disk left {fmt_time_left(left)}")
        self.disk_left.set_state("bad" if left is not None and left < LOW_TIME_S else ("warn" if left is not None and left < 3600 else "ok"))
        gaps = [e for e in st.overflows if e.kind != "device_lost"]  # a lost device ends the take, loses nothing
        n = len(gaps)
        if n:
            last = gaps[-1]
            lost = sum(getattr(e, "frames_lost", 0) or 0 for e in gaps)
            self.overflows.setText(f"OVERFLOW ×{n} — last at {last.time_s:.2f} s ({last.kind}); {lost} frames lost")
            self.overflows.set_state("bad")
        else:
            self.overflows.setText("Overflows 0")
            self.overflows.set_state("ok")
        self.overflow_count = n
        state = getattr(st, "device_state", "ok")
        self.device.setText(f"{st.device_name}: {state.upper() if state != 'ok' else 'OK'}")
        self.device.set_state({"ok": "ok", "stalled": "warn"}.get(state, "bad"))
        self.format.setText(f"{st.samplerate / 1000:g} kHz · {st.channels} ch")


    def set_power(self, power) -> None:
        """Battery level and time left (``fieldrec.field.power.PowerStatus``); a machine without a battery says
        so plainly. Red under :data:`LOW_TIME_S` (the one threshold of the CLI and the window)."""
        self.idle_disk_left = power.disk_seconds_left
        b = power.battery
        if b is None:
            self.battery.setText("Battery: none found (mains power)")
            self.battery.set_state("ok")
            return
        if b.plugged:
            left = "on mains"
        elif b.seconds_left is not None:
            left = f"{fmt_time_left(b.seconds_left)} left"
        else:
            left = "time left unknown"
        self.battery.setText(f"Battery {b.percent:.0f} % · {left}")
        low = not b.plugged and b.seconds_left is not None and b.seconds_left < LOW_TIME_S
        self.battery.set_state("bad" if low else "ok")

    def set_finalising(self, progress: list[float]) -> None:
        """Takes being finalised after stop (closing, hashing, final sidecar), each with its share done 0..1."""
        self.finalising.setVisible(bool(progress))
        if progress:
            more = f" (+{len(progress) - 1} more)" if len(progress) > 1 else ""
            self.finalising.setText(f"finalising… {min(progress):.0%}{more}")


class Banner(QWidget):
    """Non-blocking notification line: errors stay until dismissed, infos fade after a few seconds."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        h = QHBoxLayout(self)
        h.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel(self)
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.close_button = QPushButton("×", self)
        self.close_button.setFixedWidth(30)
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(self.dismiss)
        h.addWidget(self.label, 1)
        h.addWidget(self.close_button)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.level = ""
        self.history: list[tuple[float, str, str]] = []
        self.hide()

    def show_message(self, text: str, level: str = "info", timeout_s: float | None = None) -> None:
        """level: "info" | "warning" | "error". Errors stay until dismissed (or replaced)."""
        colours = {"info": ("#163a5c", theme.TEXT), "warning": ("#6b4a00", "white"), "error": (theme.RED, "white")}
        bg, fg = colours.get(level, colours["info"])
        self.setStyleSheet(f"QWidget#banner {{ background: {bg}; }} QLabel {{ background: {bg}; color: {fg}; font-size: 14px; font-weight: bold; }}")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label.setText(text)
        self.level = level
        self.history.append((time.time(), level, text))
        getattr(log, "error" if level == "error" else ("warning" if level == "warning" else "info"))("%s", text)
        self.show()
        if timeout_s is None:
            timeout_s = 0 if level == "error" else 8
        if timeout_s:
            self._timer.start(int(timeout_s * 1000))
        else:
            self._timer.stop()

    def dismiss(self) -> None:
        self._timer.stop()
        self.level = ""
        self.hide()
