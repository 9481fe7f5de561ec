"""Colours, fonts and the dark palette of the recording window.

Chosen for daylight contrast on a laptop screen: near-black background, light text,
saturated green/yellow/red for levels and one unmistakable red for clip and overflow.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BG = "#101214"
PANEL = "#1b1e22"
PANEL_2 = "#262a30"
TEXT = "#f2f2f2"
DIM = "#9aa3ad"
GREEN = "#36d67a"
YELLOW = "#ffd23f"
ORANGE = "#ff9f1c"
RED = "#ff2d2d"
DARK_RED = "#4a1416"
BLUE = "#4fb3ff"
REC_RED = "#e0202a"

# one colour per channel for the waveform and spectrum curves (8 distinct, bright on dark)
CHANNEL_COLOURS = ["#4fb3ff", "#36d67a", "#ffd23f", "#ff9f1c", "#c77dff", "#ff6b9a", "#5ee6e6", "#d0d0d0"]

STYLE_SHEET = f"""
QWidget {{ background: {BG}; color: {TEXT}; font-size: 13px; }}
QGroupBox {{ border: 1px solid {PANEL_2}; border-radius: 4px; margin-top: 14px; padding-top: 4px; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; color: {DIM}; }}
QLineEdit, QPlainTextEdit, QComboBox, QSpinBox {{
    background: {PANEL}; border: 1px solid {PANEL_2}; border-radius: 3px; padding: 3px; }}
QLineEdit[invalid="true"], QPlainTextEdit[invalid="true"] {{ border: 2px solid {RED}; }}
QLabel[role="fielderror"] {{ color: {RED}; font-size: 12px; }}
QPushButton {{ background: {PANEL_2}; border: 1px solid #3a4048; border-radius: 4px; padding: 5px 10px; }}
QPushButton:hover {{ border-color: {DIM}; }}
QPushButton:disabled {{ color: #5c636b; }}
QPushButton#recordButton {{ background: {REC_RED}; font-weight: bold; font-size: 18px; }}
QPushButton#recordButton:disabled {{ background: #5a1a1e; color: #c08a8e; }}
QPushButton#stopButton, QPushButton#armButton, QPushButton#markerButton {{ font-size: 16px; font-weight: bold; }}
QDockWidget::title {{ background: {PANEL}; padding: 4px; }}
QListWidget {{ background: {PANEL}; border: 1px solid {PANEL_2}; }}
QToolTip {{ background: {PANEL_2}; color: {TEXT}; border: 1px solid {DIM}; }}
QCheckBox::indicator {{ width: 13px; height: 13px; border: 1px solid {DIM}; border-radius: 2px; background: {PANEL}; }}
QCheckBox::indicator:checked {{ background: {BLUE}; border-color: {BLUE}; }}
QCheckBox::indicator:disabled {{ border-color: #3a4048; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style, dark palette and the shared style sheet."""
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(BG))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Base, QColor(PANEL))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(PANEL_2))
    pal.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Button, QColor(PANEL_2))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(BLUE))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor(BG))
    app.setPalette(pal)
    app.setStyleSheet(STYLE_SHEET)
