"""The "Field" dock: pre-roll, arm-for-trigger, splitting, channels, headphones, GPS and the schedule.

Only widgets: what they mean is the Qt-free layer's. :meth:`FieldPanel.options` turns the controls into a
:class:`fieldrec.session.FieldOptions` (with a :class:`fieldrec.analysis.trigger.TriggerSpec` validated by
that module), :meth:`FieldPanel.channel_selection` into a :class:`fieldrec.audio.channels.ChannelSelection`;
the window (``fieldrec.gui.field_control``) runs them. Collapsed (hidden) by default so the main view stays
light outdoors; the "Field" button of the transport row shows it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fieldrec.analysis.trigger import DEFAULT_DETRIGGER_DB, TriggerSpec
from fieldrec.audio.channels import ChannelSelection, parse_channels
from fieldrec.gui import theme
from fieldrec.session import MAX_PRE_ROLL_S, FieldOptions

#: the de-trigger spin box's lowest value means "auto" (the trigger module's default distance below)
AUTO_DETRIGGER = -121.0
#: trigger kinds as the combo shows them -> TriggerSpec.measure
TRIGGER_KINDS = (("Level (sample peak)", "peak"), ("Level (RMS)", "rms"), ("Band energy", "band"))


def _spin(parent: QWidget, lo: float, hi: float, value: float, suffix: str, decimals: int = 1,
          step: float = 1.0, name: str = "") -> QDoubleSpinBox:
    w = QDoubleSpinBox(parent)
    w.setRange(lo, hi)
    w.setDecimals(decimals)
    w.setSingleStep(step)
    w.setValue(value)
    w.setSuffix(suffix)
    if name:
        w.setObjectName(name)
    return w


class FieldPanel(QDockWidget):
    """``changed`` fires when an option that needs the input reopened (pre-roll, channels) or a new session
    (trigger, split) changes; ``monitorChanged``/``gpsChanged`` when those are switched."""

    changed = Signal()
    monitorChanged = Signal()
    gpsChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Field", parent)
        self.setObjectName("fieldDock")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        body = QWidget(self)
        v = QVBoxLayout(body)
        v.setContentsMargins(4, 4, 4, 4)

        # -- take: pre-roll, split ----------------------------------------------------------------------
        take = QGroupBox("Take", body)
        f = QFormLayout(take)
        self.pre_roll_spin = QSpinBox(take)
        self.pre_roll_spin.setObjectName("preRollSpin")
        self.pre_roll_spin.setRange(0, int(MAX_PRE_ROLL_S))
        self.pre_roll_spin.setSuffix(" s")
        self.pre_roll_spin.setToolTip("Every take (by hand, trigger or schedule) begins with this much audio from "
                                      "before its start (0-60 s). Changing it reopens the input.")
        f.addRow("Pre-roll", self.pre_roll_spin)
        self.split_combo = QComboBox(take)
        self.split_combo.setObjectName("splitCombo")
        for text, data in (("off", None), ("every … minutes", "time"), ("at … MiB", "size")):
            self.split_combo.addItem(text, data)
        self.split_value = _spin(take, 0.02, 100000, 15, "", 2, 1, "splitValue")
        self.split_value.setMaximumWidth(120)
        row = QHBoxLayout()
        row.addWidget(self.split_combo)
        row.addWidget(self.split_value)
        f.addRow("Split", row)
        v.addWidget(take)

        # -- arm for trigger --------------------------------------------------------------------------------
        trig = QGroupBox("Arm for trigger", take)
        trig.setObjectName("triggerBox")
        trig.setCheckable(True)
        trig.setChecked(False)
        trig.setToolTip("While armed, each sound event that crosses the threshold becomes its own take")
        self.trigger_box = trig
        tf = QFormLayout(trig)
        self._trigger_form = tf
        self.trigger_kind = QComboBox(trig)
        self.trigger_kind.setObjectName("triggerKind")
        for text, data in TRIGGER_KINDS:
            self.trigger_kind.addItem(text, data)
        tf.addRow("Kind", self.trigger_kind)
        self.band_low = _spin(trig, 1, 96000, 2000, " Hz", 0, 100, "bandLow")
        self.band_high = _spin(trig, 1, 96000, 8000, " Hz", 0, 100, "bandHigh")
        band = QHBoxLayout()
        band.addWidget(self.band_low)
        band.addWidget(QLabel("–", trig))
        band.addWidget(self.band_high)
        self.band_row = QWidget(trig)
        self.band_row.setLayout(band)
        band.setContentsMargins(0, 0, 0, 0)
        tf.addRow("Band", self.band_row)
        self.threshold = _spin(trig, -120, 0, -30, " dBFS", 1, 1, "triggerThreshold")
        tf.addRow("Trigger at", self.threshold)
        self.detrigger = _spin(trig, AUTO_DETRIGGER, 0, AUTO_DETRIGGER, " dBFS", 1, 1, "detriggerLevel")
        self.detrigger.setSpecialValueText(f"auto ({DEFAULT_DETRIGGER_DB:g} dB below)")
        self.detrigger.setToolTip("The post-roll starts when the level stays below this (auto: "
                                  f"{DEFAULT_DETRIGGER_DB:g} dB below the trigger, as on the command line)")
        tf.addRow("De-trigger", self.detrigger)
        self.post_roll = _spin(trig, 0, 600, 2, " s", 1, 0.5, "postRoll")
        tf.addRow("Post-roll", self.post_roll)
        self.min_trigger = _spin(trig, 0, 10000, 100, " ms", 0, 10, "minTrigger")
        tf.addRow("Min trigger", self.min_trigger)
        self.max_take = _spin(trig, 0, 1440, 0, " min", 1, 1, "maxTake")
        self.max_take.setSpecialValueText("no limit")
        tf.addRow("Max take", self.max_take)
        v.addWidget(trig)

        # -- channels ---------------------------------------------------------------------------------------
        ch = QGroupBox("Channels", body)
        cf = QFormLayout(ch)
        self.channel_list = QLineEdit(ch)
        self.channel_list.setObjectName("channelList")
        self.channel_list.setPlaceholderText("all (the count in Input and file)")
        self.channel_list.setToolTip("Device inputs to record, e.g. 1,2,5 or 1-4 (empty: the channel count)")
        cf.addRow("Inputs", self.channel_list)
        self.channel_names = QLineEdit(ch)
        self.channel_names.setObjectName("channelNames")
        self.channel_names.setPlaceholderText("names, comma-separated (default In 1, In 2, …)")
        cf.addRow("Names", self.channel_names)
        v.addWidget(ch)

        # -- headphones -------------------------------------------------------------------------------------
        mon = QGroupBox("Headphones", body)
        mon.setObjectName("monitorBox")
        mon.setCheckable(True)
        mon.setChecked(False)
        self.monitor_box = mon
        mf = QFormLayout(mon)
        self.monitor_device = QComboBox(mon)
        self.monitor_device.setObjectName("monitorDevice")
        self.monitor_device.addItem("System default output", None)
        mf.addRow("Output", self.monitor_device)
        self.monitor_channels = QComboBox(mon)
        self.monitor_channels.setObjectName("monitorChannels")
        mf.addRow("Channels", self.monitor_channels)
        self.monitor_gain = _spin(mon, -60, 24, 0, " dB", 1, 1, "monitorGain")
        mf.addRow("Gain", self.monitor_gain)
        self.monitor_status = QLabel("off", mon)
        self.monitor_status.setObjectName("monitorStatus")
        self.monitor_status.setWordWrap(True)
        mf.addRow(self.monitor_status)
        v.addWidget(mon)

        # -- GPS --------------------------------------------------------------------------------------------
        gps = QGroupBox("GPS", body)
        gps.setObjectName("gpsBox")
        gps.setCheckable(True)
        gps.setChecked(False)
        self.gps_box = gps
        gf = QFormLayout(gps)
        self.gps_source = QLineEdit("gpsd", gps)
        self.gps_source.setObjectName("gpsSource")
        self.gps_source.setToolTip("gpsd, gpsd:HOST:PORT or a serial receiver such as /dev/ttyACM0")
        gf.addRow("Source", self.gps_source)
        self.gps_status = QLabel("off", gps)
        self.gps_status.setObjectName("gpsStatus")
        self.gps_status.setWordWrap(True)
        gf.addRow(self.gps_status)
        self.gps_fill = QPushButton("Fill location from GPS", gps)
        self.gps_fill.setObjectName("gpsFill")
        self.gps_fill.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        gf.addRow(self.gps_fill)
        v.addWidget(gps)

        # -- schedule ---------------------------------------------------------------------------------------
        sch = QGroupBox("Schedule", body)
        sf = QVBoxLayout(sch)
        buttons = QHBoxLayout()
        self.schedule_edit = QPushButton("Edit schedule…", sch)
        self.schedule_edit.setObjectName("scheduleEdit")
        self.schedule_run = QPushButton("Run schedule", sch)
        self.schedule_run.setObjectName("scheduleRun")
        self.schedule_run.setCheckable(True)
        self.schedule_run.setEnabled(False)
        for b in (self.schedule_edit, self.schedule_run):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(b)
        sf.addLayout(buttons)
        self.schedule_status = QLabel("no schedule", sch)
        self.schedule_status.setObjectName("scheduleStatus")
        self.schedule_status.setWordWrap(True)
        sf.addWidget(self.schedule_status)
        v.addWidget(sch)

        self.problem = QLabel("", body)
        self.problem.setObjectName("fieldProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {theme.RED}; font-weight: bold;")
        self.problem.hide()
        v.addWidget(self.problem)
        v.addStretch(1)
        # a switch that reads as one on the dark theme (a group box's own indicator is nearly invisible there)
        body.setStyleSheet(f"QGroupBox::indicator {{ width: 14px; height: 14px; border: 1px solid {theme.DIM}; "
                           f"border-radius: 3px; background: {theme.PANEL}; }} "
                           f"QGroupBox::indicator:checked {{ background: {theme.GREEN}; }}")
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.setMinimumWidth(330)
        for combo in body.findChildren(QComboBox):  # the dock is narrow: fields shrink rather than widen it
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        for w in (self.band_low, self.band_high):
            w.setMaximumWidth(110)

        for w in (self.pre_roll_spin, self.split_value, self.threshold, self.detrigger, self.post_roll,
                  self.min_trigger, self.max_take, self.band_low, self.band_high):
            # a new value on Enter, focus out or an arrow, not per typed digit (each change reopens the input)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(lambda _v: self.changed.emit())
        self.split_combo.currentIndexChanged.connect(self._split_kind_changed)
        self.trigger_kind.currentIndexChanged.connect(self._trigger_kind_changed)
        self.trigger_box.toggled.connect(lambda _on: self.changed.emit())
        self.channel_list.editingFinished.connect(self.changed)
        self.channel_names.editingFinished.connect(self.changed)
        self.monitor_box.toggled.connect(lambda _on: self.monitorChanged.emit())
        for w in (self.monitor_device, self.monitor_channels):
            w.currentIndexChanged.connect(lambda _i: self.monitorChanged.emit())
        self.monitor_gain.setKeyboardTracking(False)
        self.monitor_gain.valueChanged.connect(lambda _v: self.monitorChanged.emit())
        self.gps_box.toggled.connect(lambda _on: self.gpsChanged.emit())
        self.gps_source.editingFinished.connect(self.gpsChanged)
        self._split_kind_changed()
        self._trigger_kind_changed()

    # ---------------------------------------------------------------- remembered between runs
    def _remembered(self) -> dict[str, Any]:
        return {"pre_roll": self.pre_roll_spin, "split_value": self.split_value, "threshold": self.threshold,
                "detrigger": self.detrigger, "post_roll": self.post_roll, "min_trigger": self.min_trigger,
                "max_take": self.max_take, "band_low": self.band_low, "band_high": self.band_high,
                "monitor_gain": self.monitor_gain, "channels": self.channel_list, "names": self.channel_names,
                "gps_source": self.gps_source, "split": self.split_combo, "trigger_kind": self.trigger_kind,
                "monitor_device": self.monitor_device, "monitor_channels": self.monitor_channels}

    def to_config(self) -> dict[str, Any]:
        """The values to remember (``GuiConfig.field_panel``); the switches (trigger, headphones, GPS) are not:
        the window never starts armed for a trigger or playing to an output the user did not ask for."""
        out: dict[str, Any] = {}
        for key, w in self._remembered().items():
            if isinstance(w, QLineEdit):
                out[key] = w.text()
            elif isinstance(w, QComboBox):
                out[key] = w.currentData()
            else:
                out[key] = w.value()
        return out

    def apply_config(self, values: dict[str, Any]) -> None:
        """Set the remembered values; unknown keys and values of the wrong kind are ignored."""
        for key, w in self._remembered().items():
            value = values.get(key)
            if value is None and not isinstance(w, QComboBox):
                continue
            if isinstance(w, QLineEdit) and isinstance(value, str):
                w.setText(value)
            elif isinstance(w, QComboBox):
                i = w.findData(value)
                if i >= 0:
                    w.setCurrentIndex(i)
                elif value is not None:  # an output or channel pair not there now: kept for when it is
                    w.setProperty("wanted", value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                w.setValue(value)

    # ---------------------------------------------------------------- reading the controls
    def _split_kind_changed(self, *_a: Any) -> None:
        kind = self.split_combo.currentData()
        self.split_value.setEnabled(kind is not None)
        self.split_value.setSuffix(" min" if kind == "time" else " MiB")
        self.changed.emit()

    def _trigger_kind_changed(self, *_a: Any) -> None:
        self._trigger_form.setRowVisible(self.band_row, self.trigger_kind.currentData() == "band")
        self.changed.emit()

    def trigger_spec(self) -> TriggerSpec | None:
        """The trigger as set (validated by :mod:`fieldrec.analysis.trigger`), None when not armed for one.
        Raises ``TriggerSpecError`` (one line)."""
        if not self.trigger_box.isChecked():
            return None
        measure = self.trigger_kind.currentData()
        spec = TriggerSpec(
            measure, float(self.threshold.value()),
            detrigger_db=None if self.detrigger.value() <= AUTO_DETRIGGER else float(self.detrigger.value()),
            band_hz=(float(self.band_low.value()), float(self.band_high.value())) if measure == "band" else None,
            min_trigger_s=self.min_trigger.value() / 1000.0, post_roll_s=float(self.post_roll.value()),
            max_take_s=self.max_take.value() * 60.0 or None)
        return spec.validate()

    def options(self) -> FieldOptions:
        """The panel as :class:`fieldrec.session.FieldOptions` (validated there). Raises ``TriggerSpecError``
        or ``RecorderError`` with one line."""
        kind = self.split_combo.currentData()
        value = float(self.split_value.value())
        return FieldOptions(pre_roll_s=float(self.pre_roll_spin.value()), trigger=self.trigger_spec(),
                            split_s=value * 60.0 if kind == "time" else None,
                            split_bytes=int(value * (1 << 20)) if kind == "size" else None).validate()

    def channel_selection(self, max_channels: int | None) -> ChannelSelection | None:
        """The chosen device inputs with their names, or None for "the channel count". Raises
        ``ChannelSpecError`` (one line)."""
        text = self.channel_list.text().strip()
        names_text = self.channel_names.text().strip()
        if not text:
            return None
        names = [n.strip() for n in names_text.split(",")] if names_text else None
        return parse_channels(text, max_channels, names)

    def set_output_devices(self, names: list[str], wanted: str | None) -> None:
        self.monitor_device.blockSignals(True)
        self.monitor_device.clear()
        self.monitor_device.addItem("System default output", None)
        for n in names:
            self.monitor_device.addItem(n, n)
        i = self.monitor_device.findData(wanted if wanted is not None else self.monitor_device.property("wanted"))
        self.monitor_device.setCurrentIndex(max(0, i))
        self.monitor_device.blockSignals(False)

    def set_monitor_channel_choices(self, channels: int) -> None:
        """All, each pair (1+2, 3+4, …) and each single channel of a take with ``channels`` channels."""
        keep = self.monitor_channels.property("wanted") or self.monitor_channels.currentData()
        self.monitor_channels.setProperty("wanted", None)
        self.monitor_channels.blockSignals(True)
        self.monitor_channels.clear()
        self.monitor_channels.addItem("all", "all")
        for a in range(1, channels, 2):
            self.monitor_channels.addItem(f"{a}+{a + 1}", f"{a},{a + 1}")
        if channels > 1:
            for a in range(1, channels + 1):
                self.monitor_channels.addItem(f"{a} (both ears)", str(a))
        i = self.monitor_channels.findData(keep)
        self.monitor_channels.setCurrentIndex(max(0, i))
        self.monitor_channels.blockSignals(False)

    def lockable(self) -> tuple[QWidget, ...]:
        """Widgets disabled while a take records (they change what the take is)."""
        return (self.pre_roll_spin, self.split_combo, self.split_value, self.trigger_box, self.channel_list,
                self.channel_names, self.schedule_edit)

    def set_locked(self, locked: bool) -> None:
        for w in self.lockable():
            w.setEnabled(not locked)
        if not locked:
            self.split_value.setEnabled(self.split_combo.currentData() is not None)

    def show_problem(self, text: str | None) -> None:
        self.problem.setVisible(bool(text))
        self.problem.setText(text or "")

    @staticmethod
    def style_status(label: QLabel, bad: bool) -> None:
        label.setStyleSheet(f"color: {theme.RED}; font-weight: bold;" if bad else f"color: {theme.TEXT};")
