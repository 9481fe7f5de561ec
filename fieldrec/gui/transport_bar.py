"""The transport and take bar: ARM, RECORD, STOP, MARK with its label field, the state lamp, the elapsed
clock, and the take's file name (or what its finaliser is doing)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QWidget

from fieldrec.gui import theme
from fieldrec.gui.status_widgets import fmt_duration
from fieldrec.recorder import TakeState

STATE_LOOK = {
    TakeState.IDLE: ("IDLE", theme.PANEL_2),
    TakeState.ARMED: ("ARMED", "#1f5f3a"),
    TakeState.RECORDING: ("● RECORDING", theme.REC_RED),
}
#: armed for a trigger (issue 15): each sound event over the threshold becomes a take
TRIGGER_LOOK = ("ARMED · TRIGGER", "#8a5a00")


class TransportBar(QWidget):
    """Buttons never take the keyboard focus (Space, R and M are the window's shortcuts)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        tr = QHBoxLayout(self)
        tr.setContentsMargins(0, 0, 0, 0)
        self.arm_button = QPushButton("ARM", self)
        self.arm_button.setObjectName("armButton")
        self.arm_button.setCheckable(True)
        self.arm_button.setToolTip("Monitor the input without writing a file")
        self.record_button = QPushButton("●  RECORD", self)
        self.record_button.setObjectName("recordButton")
        self.record_button.setToolTip("Start recording (Space or R)")
        self.stop_button = QPushButton("■  STOP", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop recording (Space or R)")
        self.marker_button = QPushButton("⚑ MARK (M)", self)
        self.marker_button.setObjectName("markerButton")
        self.marker_label_edit = QLineEdit(self)
        self.marker_label_edit.setObjectName("markerLabel")
        self.marker_label_edit.setPlaceholderText("marker label (optional)")
        self.marker_label_edit.setMaximumWidth(200)
        self.marker_label_edit.setMinimumWidth(140)
        for b in (self.arm_button, self.record_button, self.stop_button, self.marker_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(44)
            b.setMinimumWidth(max(110, b.sizeHint().width()))
        self.state_label = QLabel("", self)  # set by the first show_state
        self.state_label.setObjectName("stateLabel")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumWidth(190)
        self.elapsed_label = QLabel("00:00.0", self)
        self.elapsed_label.setObjectName("elapsedLabel")
        self.elapsed_label.setStyleSheet(
            "font-family: 'DejaVu Sans Mono', monospace; font-size: 34px; font-weight: bold;"
        )
        # the text changes every frame: a fixed size keeps each new text from re-laying out the window
        self.elapsed_label.setFixedSize(190, self.elapsed_label.sizeHint().height())
        self.take_label = QLabel("no take yet", self)
        self.take_label.setObjectName("takeLabel")
        self.take_label.setStyleSheet(f"color: {theme.DIM}; font-size: 14px;")
        # a long file name must not squeeze the transport buttons
        self.take_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (self.arm_button, self.record_button, self.stop_button, self.marker_button, self.marker_label_edit):
            tr.addWidget(w)
        tr.addSpacing(12)
        tr.addWidget(self.state_label)
        tr.addWidget(self.elapsed_label)
        tr.addWidget(self.take_label, 1)

    def show_state(self, state: TakeState, can_record: bool, trigger: bool = False) -> bool:
        """Enable the buttons for ``state`` (``trigger``: armed for a trigger); True when the lamp changed."""
        recording = state is TakeState.RECORDING
        self.arm_button.setChecked(state is not TakeState.IDLE)
        self.arm_button.setEnabled(not recording and can_record)
        self.record_button.setEnabled(not recording and can_record)
        if self.record_button.property("recording") != recording:
            self.record_button.setProperty("recording", recording)
            self.record_button.style().unpolish(self.record_button)
            self.record_button.style().polish(self.record_button)
        self.stop_button.setEnabled(recording)
        self.marker_button.setEnabled(recording)
        text, bg = TRIGGER_LOOK if trigger and state is TakeState.ARMED else STATE_LOOK[state]
        if self.state_label.text() == text:
            return False
        self.state_label.setText(text)
        self.state_label.setStyleSheet(
            f"background: {bg}; color: white; font-size: 20px; font-weight: bold; "
            "padding: 6px 12px; border-radius: 4px;"
        )
        return True

    def set_elapsed(self, seconds: float) -> None:
        self.elapsed_label.setText(fmt_duration(seconds))
