"""Markers of the take in the review view: add, move (drag), rename, delete, regions, undo, and the
Audacity/Raven exchange. ``MarkerEditing`` is a mixin of ``ReviewWidget`` (it uses the view's plot, marker
table, undo stack, cursor and selection); every edit is one ``MarkersCommand`` on the undo stack and is saved
through ``fieldrec.review.markers.save_markers``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QUndoCommand
from PySide6.QtWidgets import QFileDialog, QTableWidgetItem

from fieldrec.gui import theme
from fieldrec.review.exchange import ExchangeError, export_markers, import_markers, merge_markers
from fieldrec.review.markers import MarkerError, TakeMarker, save_markers
from fieldrec.storage.errors import SidecarError

MARKER_COLOUR = theme.ORANGE
REGION_BRUSH = QColor(255, 159, 28, 40)


class MarkersCommand(QUndoCommand):
    """One marker edit: the whole marker list before and after (markers are few; this is always right)."""

    def __init__(self, view: MarkerEditing, before: tuple[TakeMarker, ...], after: tuple[TakeMarker, ...],
                 text: str) -> None:
        super().__init__(text)
        self.view, self.before, self.after = view, before, after

    def redo(self) -> None:
        self.view._apply_markers(self.after)

    def undo(self) -> None:
        self.view._apply_markers(self.before)


class MarkerEditing:
    """Marker editing for ``ReviewWidget`` (see the module docstring)."""

    markers: tuple[TakeMarker, ...]
    marker_items: list[Any]

    def _apply_markers(self, markers: tuple[TakeMarker, ...]) -> None:
        """Show and save ``markers`` (called by the undo commands)."""
        self.markers = tuple(sorted(markers))
        if self.sidecar is not None:
            try:
                saved = save_markers(self.sidecar, self.markers)
            except (SidecarError, MarkerError) as err:
                self._say(f"markers not saved: {err}")
            else:
                self.markers = tuple(saved)
                self._say(f"{len(saved)} marker(s) saved to {self.sidecar.name}")
                self.markers_saved.emit(list(saved))
        self._draw_markers()
        self._fill_marker_table()

    def edit_markers(self, after: tuple[TakeMarker, ...] | list[TakeMarker], text: str) -> None:
        """Replace the markers as one undoable edit (none without a take: M and R on an empty Review tab)."""
        if self.audio is None:
            self._say("open a take first (double-click it in the Library tab)")
            return
        self.undo_stack.push(MarkersCommand(self, self.markers, tuple(sorted(after)), text))

    def add_marker(self, frame: int | None = None, label: str = "") -> None:
        frame = self.cursor_frame if frame is None else int(frame)
        self.edit_markers((*self.markers, TakeMarker(frame, 0, label or f"marker {len(self.markers) + 1}")),
                          "add marker")

    def add_region(self, frames: tuple[int, int] | None = None, label: str = "") -> None:
        frames = frames or self.selection
        if frames is None:
            self._say("select a range first (Shift+drag), then add a region")
            return
        a, b = frames
        self.edit_markers((*self.markers, TakeMarker(a, b - a, label or f"region {len(self.markers) + 1}")),
                          "add region")

    def move_marker(self, index: int, frame: int, length: int | None = None) -> None:
        m = self.markers[index]
        new = TakeMarker(int(max(0, min(self.frames, frame))), m.length if length is None else int(length), m.label)
        rest = [x for i, x in enumerate(self.markers) if i != index]
        self.edit_markers((*rest, new), "move marker")

    def rename_marker(self, index: int, label: str) -> None:
        m = self.markers[index]
        rest = [x for i, x in enumerate(self.markers) if i != index]
        self.edit_markers((*rest, TakeMarker(m.frame, m.length, label)), "rename marker")

    def delete_marker(self, index: int) -> None:
        self.edit_markers(tuple(x for i, x in enumerate(self.markers) if i != index), "delete marker")

    def _delete_selected_marker(self) -> None:
        rows = self.marker_table.selectionModel().selectedRows()
        if rows:
            self.delete_marker(rows[0].row())

    def _draw_markers(self) -> None:
        for item in self.marker_items:
            self.wave_plot.removeItem(item)
        self.marker_items = []
        for i, m in enumerate(self.markers):
            t = m.frame / self.samplerate
            if m.is_region:
                item = pg.LinearRegionItem((t, m.end / self.samplerate), brush=REGION_BRUSH,
                                           pen=pg.mkPen(MARKER_COLOUR), movable=True)
                item.setZValue(8)
                label = pg.InfLineLabel(item.lines[0], text=m.label, position=0.92, anchors=[(0, 0), (0, 0)],
                                        color=MARKER_COLOUR)
                item._fieldrec_label = label
                item.sigRegionChangeFinished.connect(lambda it, i=i: self._region_dragged(i, it))
            else:
                item = pg.InfiniteLine(pos=t, angle=90, movable=True, pen=pg.mkPen(MARKER_COLOUR, width=2),
                                       hoverPen=pg.mkPen(theme.YELLOW, width=3), label=m.label,
                                       labelOpts={"color": MARKER_COLOUR, "position": 0.92})
                item.setZValue(10)
                item.sigPositionChangeFinished.connect(lambda line, i=i: self._marker_dragged(i, line))
            self.wave_plot.addItem(item, ignoreBounds=True)
            self.marker_items.append(item)

    def _marker_dragged(self, index: int, line: pg.InfiniteLine) -> None:
        self.move_marker(index, round(line.value() * self.samplerate))

    def _region_dragged(self, index: int, item: pg.LinearRegionItem) -> None:
        t0, t1 = item.getRegion()
        a, b = round(t0 * self.samplerate), round(t1 * self.samplerate)
        self.move_marker(index, a, b - a)

    def _fill_marker_table(self) -> None:
        self.marker_table.blockSignals(True)
        self.marker_table.setRowCount(len(self.markers))
        for i, m in enumerate(self.markers):
            cells = (f"{m.frame / self.samplerate:.3f}", f"{m.length / self.samplerate:.3f}" if m.length else "",
                     m.label)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j < 2:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.marker_table.setItem(i, j, item)
        self.marker_table.blockSignals(False)

    def _marker_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 2 and item.row() < len(self.markers) and item.text() != self.markers[item.row()].label:
            self.rename_marker(item.row(), item.text())

    def export_markers_to(self, path: str | Path, fmt: str) -> None:
        Path(path).write_text(export_markers(self.markers, self.samplerate, fmt), encoding="utf-8")
        self._say(f"{len(self.markers)} marker(s) exported to {Path(path).name} ({fmt})")

    def import_markers_from(self, path: str | Path, replace: bool = False) -> int:
        """Add (or with ``replace`` put in place of) the markers of an Audacity/Raven file; one undo step."""
        try:
            new = import_markers(Path(path).read_text(encoding="utf-8-sig"), self.samplerate)
        except (OSError, UnicodeDecodeError, ExchangeError) as err:
            self._say(f"cannot import {Path(path).name}: {err}")
            return 0
        self.edit_markers(new if replace else merge_markers(self.markers, new), "import markers")
        return len(new)

    def _export_dialog(self) -> None:
        if self.audio is None:
            return
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export markers", str(self.audio.with_suffix(".txt")),
            "Audacity label track (*.txt);;Raven selection table (*.selections.txt)")
        if path:
            self.export_markers_to(path, "raven" if "Raven" in chosen else "audacity")

    def _import_dialog(self) -> None:
        if self.audio is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import markers", str(self.audio.parent),
                                              "Label tracks and selection tables (*.txt);;All files (*)")
        if path:
            self.import_markers_from(path)
