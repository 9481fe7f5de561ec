"""Metadata side panel: project, scene, take, recordist, location, equipment, notes, tags — validated as
you type (the full model is ``fieldrec.metadata``; fields without an editor here are kept as they are).

Validation is ``fieldrec.metadata.validate_metadata``; each error is shown under its field with a
red border. The panel never blocks: the recordist can keep typing while the take records; the
owner applies ``metadataChanged`` to the recorder (debounced).
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

from fieldrec.metadata import empty_metadata

FIELDS = (
    # (field path, label, kind)
    ("project", "Project", "line"),
    ("scene", "Scene", "line"),
    ("take", "Take", "line"),
    ("recordist", "Recordist", "line"),
    ("location.name", "Location", "line"),
    ("location.latitude", "Latitude (°)", "number"),
    ("location.longitude", "Longitude (°)", "number"),
    ("location.elevation_m", "Elevation (m)", "number"),
    ("equipment.recorder", "Recorder / interface", "line"),
    ("equipment.microphone", "Microphone", "line"),
    ("tags", "Tags (comma-separated)", "tags"),
    ("notes", "Notes", "text"),
)


def _validate(d: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    from fieldrec.metadata import validate_metadata

    return validate_metadata(d)


class MetadataPanel(QWidget):
    """Form for the take's metadata. ``metadataChanged(dict)`` fires (debounced) with a valid dict."""

    metadataChanged = Signal(dict)
    metadataRejected = Signal(dict)  #: (debounced) the form does not validate: {field path: message}
    DEBOUNCE_MS = 400

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("metadataPanel")
        v = QVBoxLayout(self)
        self.preset_box = QComboBox(self)
        self.preset_box.setObjectName("presetBox")
        self.preset_box.setToolTip("apply a preset saved with `fieldrec preset save` (its values over the form's)")
        self.refresh_presets()
        self.preset_box.activated.connect(self._preset_chosen)
        v.addWidget(self.preset_box)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self.editors: dict[str, QLineEdit | QPlainTextEdit] = {}
        self.error_labels: dict[str, QLabel] = {}
        for path, text, kind in FIELDS:
            if kind == "text":
                ed: QLineEdit | QPlainTextEdit = QPlainTextEdit(self)
                ed.setTabChangesFocus(True)
                ed.setMinimumHeight(70)
                ed.textChanged.connect(self._changed)
            else:
                ed = QLineEdit(self)
                ed.textEdited.connect(self._changed)
                if kind == "number":
                    ed.setPlaceholderText("optional, metres" if path.endswith("_m") else "optional, decimal degrees")
                if kind == "tags":
                    ed.setPlaceholderText("e.g. dawn chorus, wind")
            ed.setObjectName("md_" + path.replace(".", "_"))
            err = QLabel("", self)
            err.setProperty("role", "fielderror")
            err.setObjectName("err_" + path.replace(".", "_"))
            err.setWordWrap(True)
            err.hide()
            box = QWidget(self)
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            bl.setSpacing(1)
            bl.addWidget(ed)
            bl.addWidget(err)
            form.addRow(text, box)
            self.editors[path] = ed
            self.error_labels[path] = err
        v.addLayout(form)
        self.status_label = QLabel("", self)
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: #9aa3ad;")
        v.addWidget(self.status_label)
        v.addStretch(1)
        self.errors: dict[str, str] = {}
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(self.DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        self._base: dict[str, Any] = empty_metadata()
        self._clean: dict[str, Any] = empty_metadata()
        self._current: dict[str, Any] = empty_metadata()

    # -- presets ------------------------------------------------------------------------------
    def refresh_presets(self) -> None:
        """List the presets in the user config folder (first entry: none chosen)."""
        from fieldrec.metadata.presets import list_presets

        self.preset_box.blockSignals(True)
        self.preset_box.clear()
        self.preset_box.addItem("Preset…")
        self.preset_box.addItems(list_presets())
        self.preset_box.blockSignals(False)

    def apply_preset(self, name: str) -> None:
        """Lay the preset's values over the form and emit the change (as typing would)."""
        from fieldrec.metadata.presets import PresetError, load_preset, merge

        try:
            preset = load_preset(name)
        except PresetError as err:
            self.status_label.setText(str(err))
            return
        self.set_metadata(merge(self.raw(), preset))
        self._debounce.start()

    def _preset_chosen(self, index: int) -> None:
        if index > 0:
            self.apply_preset(self.preset_box.itemText(index))
        self.preset_box.setCurrentIndex(0)

    # -- values -------------------------------------------------------------------------------
    def raw(self) -> dict[str, Any]:
        """The form as a metadata dict (numbers parsed where possible, text kept otherwise)."""
        d = copy.deepcopy(self._base)  # fields without an editor here travel as they were set
        for key in ("location", "equipment"):
            if not isinstance(d.get(key), dict):
                d[key] = empty_metadata()[key]
        for path, _text, kind in FIELDS:
            ed = self.editors[path]
            text = ed.toPlainText() if isinstance(ed, QPlainTextEdit) else ed.text()
            value: Any
            if kind == "number":
                s = text.strip().replace(",", ".")
                if not s:
                    value = None
                else:
                    try:
                        value = float(s)
                    except ValueError:
                        value = text.strip()
            elif kind == "tags":
                value = [t.strip() for t in text.split(",") if t.strip()]
            else:
                value = text
            if "." in path:
                a, b = path.split(".")
                d[a][b] = value
            else:
                d[path] = value
        loc = d["location"]
        if (loc.get("latitude") is not None or loc.get("longitude") is not None) and not loc.get("source"):
            loc["source"] = "manual"
        return d

    def set_metadata(self, md: dict[str, Any]) -> None:
        """Fill the form (e.g. with the remembered values) without emitting ``metadataChanged``."""
        self._base = copy.deepcopy(md) if isinstance(md, dict) else empty_metadata()
        for path, _text, kind in FIELDS:
            if "." in path:
                a, b = path.split(".")
                value = (md.get(a) or {}).get(b)
            else:
                value = md.get(path)
            if kind == "tags":
                text = ", ".join(value or [])
            elif value is None:
                text = ""
            else:
                text = str(value)
            ed = self.editors[path]
            ed.blockSignals(True)
            if isinstance(ed, QPlainTextEdit):
                ed.setPlainText(text)
            else:
                ed.setText(text)
            ed.blockSignals(False)
        self.validate()

    def metadata(self) -> dict[str, Any]:
        """The form's cleaned metadata now; a field that does not validate is left empty (never a stale or
        half-typed value: "9" on the way to "99.5" must not reach a take)."""
        self.validate()
        return self._current

    def is_valid(self) -> bool:
        return not self.errors

    # -- validation ---------------------------------------------------------------------------
    def validate(self) -> dict[str, str]:
        raw = self.raw()
        errors: dict[str, str] = {}
        clean, verrs = _validate(raw)
        for k, msg in verrs.items():
            errors.setdefault(k, msg)
        self.errors = errors
        self._current = clean  # invalid fields emptied by the validator
        if not errors:
            self._clean = clean
        for path, err in self.error_labels.items():
            # an error keyed by a parent or child path (e.g. "tags.3") is shown at its field
            msgs = [m for k, m in errors.items() if k == path or k.startswith(path + ".") or path.startswith(k + ".")]
            ed = self.editors[path]
            ed.setProperty("invalid", bool(msgs))
            ed.style().unpolish(ed)
            ed.style().polish(ed)
            err.setText("; ".join(dict.fromkeys(msgs)))
            err.setVisible(bool(msgs))
        unplaced = [f"{k}: {m}" for k, m in errors.items() if not any(k == p or k.startswith(p + ".") or p.startswith(k + ".") for p in self.error_labels)]
        self.status_label.setText("\n".join(unplaced))
        return errors

    def _changed(self, *_args) -> None:
        self.validate()
        self._debounce.start()

    def flush(self) -> None:
        """Emit a pending change now (before recording starts or the window closes)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self._emit()

    def _emit(self) -> None:
        if not self.errors:
            self.metadataChanged.emit(self._clean)
        else:
            self.metadataRejected.emit(dict(self.errors))

    def set_note(self, text: str) -> None:
        self.status_label.setText(text)


