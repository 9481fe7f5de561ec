"""The "Input and file" row: device, sample rate, channels, format, output folder, take name, and the red line
that says why a combination cannot record. Locked while a take records."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fieldrec import recorder as rec_mod
from fieldrec.gui import theme
from fieldrec.gui.config import GuiConfig


def select_data(combo: QComboBox, value: Any) -> None:
    """Select the item whose data is ``value`` (nothing changes when there is none)."""
    i = combo.findData(value)
    if i >= 0:
        combo.setCurrentIndex(i)


class InputSetupBar(QWidget):
    """The set-up widgets (the window reads them into ``TakeSettings``) and the settings-problem line."""

    def __init__(self, cfg: GuiConfig, parent: QWidget | None = None):
        super().__init__(parent)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        box = QGroupBox("Input and file", self)
        sl = QHBoxLayout(box)
        self.device_combo = QComboBox(box)
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setMinimumWidth(220)
        self.device_combo.setToolTip("Input device, remembered by name")
        self.refresh_button = QPushButton("⟳", box)
        self.refresh_button.setObjectName("refreshDevices")
        self.refresh_button.setToolTip("Re-scan devices (for an interface plugged in after start)")
        self.rate_combo = QComboBox(box)
        self.rate_combo.setObjectName("rateCombo")
        for r in rec_mod.COMMON_RATES:
            self.rate_combo.addItem(f"{r / 1000:g} kHz", r)
        self.channels_spin = QSpinBox(box)
        self.channels_spin.setObjectName("channelsSpin")
        self.channels_spin.setRange(1, 64)
        self.channels_spin.setValue(cfg.channels)
        self.channels_spin.setSuffix(" ch")
        self.format_combo = QComboBox(box)
        self.format_combo.setObjectName("formatCombo")
        for name in rec_mod.SUPPORTED_FORMATS:
            self.format_combo.addItem(name)
        self.folder_edit = QLineEdit(cfg.out_dir, box)
        self.folder_edit.setObjectName("folderEdit")
        self.folder_edit.setToolTip("Output folder")
        self.folder_button = QPushButton("…", box)
        self.folder_button.setToolTip("Choose the output folder")
        self.template_edit = QLineEdit(cfg.name_template, box)
        self.template_edit.setObjectName("templateEdit")
        self.template_edit.setToolTip("Take name: {date} {time} {location} {device} {samplerate} {channels}")
        for label, w, stretch in (
            ("Device", self.device_combo, 2),
            (None, self.refresh_button, 0),
            ("Rate", self.rate_combo, 0),
            ("Channels", self.channels_spin, 0),
            ("Format", self.format_combo, 0),
            ("Folder", self.folder_edit, 2),
            (None, self.folder_button, 0),
            ("Take name", self.template_edit, 2),
        ):
            if label:
                sl.addWidget(QLabel(label, box))
            sl.addWidget(w, stretch)
        v.addWidget(box)
        self.settings_problem = QLabel("", self)
        self.settings_problem.setObjectName("settingsProblem")
        self.settings_problem.setWordWrap(True)
        self.settings_problem.setStyleSheet(f"color: {theme.RED}; font-weight: bold;")
        self.settings_problem.hide()
        v.addWidget(self.settings_problem)
        select_data(self.rate_combo, cfg.samplerate)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findText(cfg.format_name)))

    def lockable(self) -> tuple[QWidget, ...]:
        """The widgets that are disabled while a take records."""
        return (self.device_combo, self.refresh_button, self.rate_combo, self.channels_spin, self.format_combo,
                self.folder_edit, self.folder_button, self.template_edit)

    def set_locked(self, locked: bool) -> None:
        for w in self.lockable():
            w.setEnabled(not locked)

    def show_problem(self, reason: str | None) -> None:
        self.settings_problem.setVisible(reason is not None)
        self.settings_problem.setText(f"These settings cannot record: {reason}" if reason else "")

    def has_problem(self) -> bool:
        return not self.settings_problem.isHidden()

    def set_devices(self, devices: list[Any], wanted: str | None, default_name: str | None = None) -> bool:
        """Fill the device list (signals blocked); False when ``wanted`` is not among them. ``default_name``:
        what the system default input is now (the simulated source on a machine with no input), so the box
        says the same as the status line."""
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        if default_name == rec_mod.SIMULATED_NAME:
            default_text = "System default input: Simulated (no input found)"
        elif default_name:
            default_text = f"System default input: {default_name}"
        else:
            default_text = "System default input"
        self.device_combo.addItem(default_text, None)
        for d in devices:
            text = d.name if d.index >= 0 else "Simulated (no hardware)"
            self.device_combo.addItem(text, d.name)
            self.device_combo.setItemData(
                self.device_combo.count() - 1,
                f"{d.name}: {d.max_input_channels} inputs, {d.hostapi}",
                Qt.ItemDataRole.ToolTipRole,
            )
        i = self.device_combo.findData(wanted)
        self.device_combo.setCurrentIndex(max(0, i))
        self.device_combo.blockSignals(False)
        return i >= 0 or wanted is None

    def explain_rates(self, reasons: dict[int, str | None]) -> None:
        """Disable the sample rates the device cannot do, with the reason as tooltip."""
        model = self.rate_combo.model()
        for i in range(self.rate_combo.count()):
            reason = reasons.get(int(self.rate_combo.itemData(i)))
            item = model.item(i)
            item.setEnabled(reason is None)
            item.setToolTip(reason or "")
