"""The metadata of the reviewed take, edited in the panel used while recording (``MetadataPanel``).

Every change the panel emits (debounced, valid fields only) is saved at once through
``fieldrec.review.take_metadata.save_take_metadata`` (chunks rewritten with the audio hash checked, then the
sidecar), and becomes one ``MetadataCommand`` on the review's undo stack (shared with the marker edits), so
Ctrl+Z puts the previous values back on disk. A refused edit (a field out of range, audio changed outside
fieldrec, a read-only file) writes nothing and says why in red under the panel.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from fieldrec.gui import theme
from fieldrec.gui.metadata_panel import MetadataPanel
from fieldrec.metadata import MetadataError
from fieldrec.review.take_metadata import read_take_metadata, save_take_metadata
from fieldrec.storage.errors import StorageError

log = logging.getLogger(__name__)


class MetadataCommand(QUndoCommand):
    """One metadata edit of the reviewed take: the whole metadata before and after. The first ``redo`` (from
    ``QUndoStack.push``) does nothing: the edit is already on disk when the command is pushed."""

    def __init__(self, editor: TakeMetadataEditor, before: dict[str, Any], after: dict[str, Any]) -> None:
        super().__init__("edit metadata")
        self.editor, self.before, self.after = editor, before, after
        self._pushed = False

    def redo(self) -> None:
        if self._pushed:
            self.editor.apply_metadata(self.after)
        self._pushed = True

    def undo(self) -> None:
        self.editor.apply_metadata(self.before)


class TakeMetadataEditor(QWidget):
    """Title, the metadata form and the save status of the take open in the review view."""

    metadata_saved = Signal(dict)  #: the metadata as written, after every save (edit, undo, redo)

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewMetadata")
        self.undo_stack = undo_stack
        self.audio: Path | None = None
        self.saved: dict[str, Any] | None = None  # what the sidecar holds now
        self.message = ""
        self.title = QLabel("Metadata")
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self.panel = MetadataPanel(self)
        self.panel.setEnabled(False)
        self.panel.metadataChanged.connect(self._edited)
        self.panel.metadataRejected.connect(self._rejected)
        self.result_label = QLabel("")
        self.result_label.setObjectName("reviewMetadataResult")
        self.result_label.setWordWrap(True)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.panel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.result_label)
        self.setMinimumWidth(260)

    # ---------------------------------------------------------------- the take
    def load(self, audio: Path | None, editable: bool = True) -> None:
        """Show the metadata of ``audio`` (None: no take). A sidecar that cannot be read leaves the form
        disabled, with the reason."""
        self.audio = audio
        self.saved = None
        if audio is None:
            self.title.setText("Metadata")
            self.panel.set_metadata({})
            self.panel.setEnabled(False)
            self._say("")
            return
        try:
            self.saved = read_take_metadata(audio)
        except StorageError as err:
            self.title.setText(f"Metadata of {audio.name}")
            self.panel.set_metadata({})
            self.panel.setEnabled(False)
            self._say(f"cannot edit: {err}", error=True)
            return
        self.title.setText(f"Metadata of {audio.name}" + ("" if editable else " (read only)"))
        self.panel.set_metadata(self.saved)
        self.panel.setEnabled(editable)
        self._say("edits are saved to the take as you type (Ctrl+Z undoes)" if editable else "", error=False)

    # ---------------------------------------------------------------- saving
    def _edited(self, md: dict[str, Any]) -> None:
        if self.audio is None or self.saved is None or md == self.saved:
            return
        before = copy.deepcopy(self.saved)
        if self._save(md):
            self.undo_stack.push(MetadataCommand(self, before, copy.deepcopy(self.saved)))

    def _rejected(self, errors: dict[str, str]) -> None:
        if self.audio is not None:
            self._say("NOT SAVED: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
                      + " (fix the fields marked red)", error=True)

    def apply_metadata(self, md: dict[str, Any]) -> None:
        """Save ``md`` and show it in the form (undo and redo)."""
        if self._save(md):
            self.panel.set_metadata(self.saved or md)

    def _save(self, md: dict[str, Any]) -> bool:
        assert self.audio is not None
        try:
            self.saved = save_take_metadata(self.audio, md)
        except (MetadataError, StorageError) as err:
            log.warning("metadata of %s not saved: %s", self.audio, err)
            self._say(f"NOT SAVED: {err}", error=True)
            return False
        self._say(f"saved to {self.audio.name} and its sidecar", error=False)
        self.metadata_saved.emit(self.saved)
        return True

    def flush(self) -> None:
        """Save a change still waiting for the panel's debounce (before another take opens)."""
        self.panel.flush()

    def _say(self, text: str, error: bool = False) -> None:
        self.message = text
        self.result_label.setText(text)
        self.result_label.setStyleSheet(f"color: {theme.RED if error else theme.DIM};")
