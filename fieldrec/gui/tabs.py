"""The main window's tabs: **Live** (input set-up and the live view), **Library** (the takes under the output
folder and any added folders) and **Review** (one take: overview, spectrogram, spectrum, meters of a selection,
playback, markers and metadata).

``WindowTabs`` only holds and switches the pages; the main window decides what a switch means for the take
(``MainWindow._tab_changed``: the live view is not drawn while its tab is hidden, the window's record keys
give way to the review's keys on the Review tab). Reviewing never touches the recording input: the review
reads files and plays through its own output stream.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from fieldrec.gui import theme
from fieldrec.gui.config import GuiConfig
from fieldrec.gui.library import LibraryWidget
from fieldrec.gui.review import ReviewWidget

log = logging.getLogger(__name__)

LIVE, LIBRARY, REVIEW = range(3)


def _unique(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p not in out:
            out.append(p)
    return out


class LibraryPage(QWidget):
    """The library of the output folder and of the folders added to it (remembered in the settings:
    ``GuiConfig.library_folders``), with buttons to add a folder and to go back to the output folder only.

    ``writing()`` gives the audio files the window is still writing (set by the main window): their rows say
    "recording" instead of the problems a take cut off by a crash would have (still marked recording, a
    size that differs from the sidecar's)."""

    def __init__(self, config: GuiConfig, parent: QWidget | None = None, poll_ms: int = 5000) -> None:
        super().__init__(parent)
        self.config = config
        self.output_folder = Path(config.out_dir).expanduser()
        self.added: list[Path] = [Path(f).expanduser() for f in config.library_folders]
        self.folders_label = QLabel("")
        self.folders_label.setObjectName("libraryFolders")
        self.folders_label.setStyleSheet(f"color: {theme.DIM};")
        self.add_button = QPushButton("Add folder…")
        self.add_button.setToolTip("list the takes of another folder too (remembered)")
        self.reset_button = QPushButton("Output folder only")
        self.reset_button.setToolTip("stop listing the added folders")
        bar = QHBoxLayout()
        bar.addWidget(self.folders_label, 1)
        bar.addWidget(self.add_button)
        bar.addWidget(self.reset_button)
        self.library = LibraryWidget(self.folders(), poll_ms=poll_ms)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.library, 1)
        self.writing: Callable[[], set[Path]] = set
        self.library.records_changed.connect(self._mark_writing)
        self.add_button.clicked.connect(self._choose_folder)
        self.reset_button.clicked.connect(self.output_folder_only)
        self._show_folders()

    def _mark_writing(self, _count: int = 0) -> None:
        busy = self.writing()
        if not busy:
            return
        for row, r in enumerate(self.library.model.records):
            if r.audio in busy and r.problems:
                self.library.model.replace_record(row, dataclasses.replace(r, problems=(), stop_reason="",
                                                                           state="recording"))
        self.library._update_count()

    def folders(self) -> list[Path]:
        return _unique([self.output_folder, *self.added])

    def _apply(self) -> None:
        self.config.library_folders = [str(f) for f in self.added]
        self.library.set_folders(self.folders())
        self._show_folders()

    def _show_folders(self) -> None:
        self.folders_label.setText("Takes in " + ", ".join(str(f) for f in self.folders()))
        self.reset_button.setEnabled(bool(self.added))

    def set_output_folder(self, folder: Path) -> None:
        """The output folder changed in the Live tab: list its takes (rescans only on a change)."""
        folder = Path(folder).expanduser()
        if folder != self.output_folder:
            self.output_folder = folder
            self._apply()

    def add_folders(self, folders: Sequence[Path]) -> None:
        new = [Path(f).expanduser() for f in folders]
        self.added = _unique([*self.added, *new])
        self._apply()

    def output_folder_only(self) -> None:
        self.added = []
        self._apply()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of takes", str(self.output_folder))
        if folder:
            self.add_folders([Path(folder)])


class WindowTabs(QTabWidget):
    """Live | Library | Review. ``review_failed(str)``: a take that could not be opened (for the banner)."""

    review_failed = Signal(str)

    def __init__(self, live_page: QWidget, config: GuiConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("windowTabs")
        self.setDocumentMode(True)
        self.live_page = live_page
        self.library_page = LibraryPage(config, self)
        self.library = self.library_page.library
        self.review = ReviewWidget(config, self)
        self.addTab(live_page, "Live")
        self.addTab(self.library_page, "Library")
        self.addTab(self.review, "Review")
        self.setTabToolTip(LIVE, "the input: levels, waveform, spectrum and spectrogram")
        self.setTabToolTip(LIBRARY, "the takes under the output folder (double-click one to review it)")
        self.setTabToolTip(REVIEW, "one take: spectrogram, spectrum, selection, playback, markers, metadata")
        self.review.markers_saved.connect(lambda _m: self.library.rescan())
        self.review.metadata_editor.metadata_saved.connect(lambda _m: self.library.rescan())

    def live_shown(self) -> bool:
        return self.currentIndex() == LIVE

    def take_finished(self, audio: Path | None) -> None:
        """A take of this window is final: list it (and select it, so Enter reviews it)."""
        self.library.rescan()
        if audio is not None:
            self.library.select_take(str(Path(audio).with_suffix(".json")))

    def open_in_review(self, audio: Path) -> bool:
        """Show ``audio`` in the Review tab; False (and ``review_failed``) when it cannot be read."""
        try:
            self.review.open_take(audio)
        except Exception as err:  # an unreadable file (soundfile, OSError): a message, the window goes on
            text = f"cannot open {Path(audio).name}: {err}"
            self.review._say(text)
            log.error("review: %s", text)
            self.review_failed.emit(text)
            return False
        self.setCurrentIndex(REVIEW)
        return True
