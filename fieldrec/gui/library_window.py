"""``fieldrec library DIR...``: a window with the library of takes above the review view of the chosen one.

Double-click (or Enter on) a take to review it. The window is a plain ``QMainWindow`` holding the two
widgets (``fieldrec.gui.library.LibraryWidget`` and ``fieldrec.gui.review.ReviewWidget``), so the main
recording window can embed the same two.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

from fieldrec.gui.config import GuiConfig, load_config
from fieldrec.gui.library import LibraryWidget
from fieldrec.gui.review import ReviewWidget

log = logging.getLogger(__name__)


class LibraryWindow(QMainWindow):
    def __init__(self, folders: Sequence[Path], config: GuiConfig | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("fieldrec — library: " + ", ".join(str(f) for f in folders))
        self.library = LibraryWidget(folders)
        self.review = ReviewWidget(config)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.library)
        split.addWidget(self.review)
        split.setSizes([260, 740])
        self.setCentralWidget(split)
        self.library.take_activated.connect(self.open_take)
        self.review.markers_saved.connect(lambda _m: self.library.rescan())
        self.resize(1500, 1000)

    def open_take(self, audio: Path) -> None:
        try:
            self.review.open_take(audio)
        except Exception as err:  # an unreadable file: say so on the review's status line
            self.review._say(f"cannot open {audio.name}: {err}")
            log.error("cannot open %s: %s", audio, err)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.review.close_take()
        super().closeEvent(event)


def run_library(folders: Sequence[Path], settings_path: Path | None = None) -> int:
    """Open the library window on ``folders``; returns the Qt event loop's exit code."""
    from PySide6.QtWidgets import QApplication

    from fieldrec.gui.app import setup_logging
    from fieldrec.gui.theme import apply_dark_theme

    config = load_config(settings_path)
    setup_logging(config.log_dir)
    app = QApplication.instance() or QApplication(["fieldrec"])
    app.setApplicationName("fieldrec")
    apply_dark_theme(app)
    window = LibraryWindow(folders, config)
    window.show()
    return int(app.exec())
