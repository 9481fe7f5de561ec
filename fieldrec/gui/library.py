"""The library of takes: a sortable, searchable table built from the sidecars under some folders.

``LibraryWidget(folders)`` is a QWidget the main window can embed (a dock or a tab); ``take_activated``
(the audio path) fires on a double-click or Enter. The model is a ``QAbstractTableModel`` over
``fieldrec.library.index.TakeRecord`` rows, sorted and filtered by a ``QSortFilterProxyModel`` that applies
``fieldrec.library.filters.TakeFilter``. Folders are watched (``QFileSystemWatcher``) with a slow poll as a
fallback (network and removable file systems do not always report changes); a change rescans after a short
pause, which costs milliseconds per hundred takes (sidecars only).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QFileSystemWatcher,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fieldrec.gui import theme
from fieldrec.library.filters import TakeFilter, all_tags
from fieldrec.library.index import TakeRecord, folders_under, scan, verify_hash

log = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex


def _db(v: float | None) -> str:
    if v is None:
        return "–"
    return "-inf" if math.isinf(v) else f"{v:.1f}"


def _duration(s: float | None) -> str:
    if s is None:
        return "–"
    s = max(0.0, s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{sec:04.1f}" if h else f"{int(m)}:{sec:04.1f}"


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[TakeRecord], str]
    sort: Callable[[TakeRecord], Any]
    tip: str = ""
    right: bool = False


def _none_last(v: Any) -> Any:
    """Sort key: None sorts below every number (ascending) so unknowns stay together."""
    return -math.inf if v is None else v


COLUMNS: tuple[Column, ...] = (
    Column("", lambda r: "⚠" if r.problems else "", lambda r: len(r.problems), "problems `fieldrec check` reports"),
    Column("Date / time", lambda r: r.start.strftime("%Y-%m-%d %H:%M:%S") if r.start else "–",
           lambda r: r.start.timestamp() if r.start else -math.inf, "local start time"),
    Column("Take", lambda r: r.stem, lambda r: r.stem.casefold(), "file name without suffix"),
    Column("Duration", lambda r: _duration(r.duration_s), lambda r: _none_last(r.duration_s), "h:mm:ss.s", True),
    Column("Location", lambda r: r.location, lambda r: r.location.casefold()),
    Column("Scene/take", lambda r: "/".join(x for x in (r.scene, r.take) if x), lambda r: (r.scene, r.take)),
    Column("Tags", lambda r: ", ".join(r.tags), lambda r: ", ".join(r.tags).casefold()),
    Column("Labels", lambda r: ", ".join(r.labels), lambda r: ", ".join(r.labels).casefold(), "marker labels"),
    Column("Peak", lambda r: _db(r.sample_peak_dbfs), lambda r: _none_last(r.sample_peak_dbfs),
           "sample peak, dBFS", True),
    Column("True peak", lambda r: _db(r.true_peak_dbtp), lambda r: _none_last(r.true_peak_dbtp),
           "true peak (BS.1770), dBTP", True),
    Column("Clips", lambda r: "–" if r.clipped_samples is None else str(r.clipped_samples),
           lambda r: _none_last(r.clipped_samples), "clipped samples", True),
    Column("Loudness", lambda r: _db(r.integrated_lufs), lambda r: _none_last(r.integrated_lufs),
           "integrated loudness, LUFS", True),
    Column("Noise floor", lambda r: _db(r.noise_floor_dbfs), lambda r: _none_last(r.noise_floor_dbfs),
           "dBFS", True),
    Column("SNR", lambda r: _db(r.snr_db), lambda r: _none_last(r.snr_db), "dB", True),
    Column("Stop", lambda r: r.stop_reason or r.state, lambda r: r.stop_reason or r.state, "why the take ended"),
    Column("Overflows", lambda r: str(r.overflows), lambda r: r.overflows, "input overflows in the take", True),
)

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RECORD_ROLE = Qt.ItemDataRole.UserRole + 2


class LibraryModel(QAbstractTableModel):
    """Rows of ``TakeRecord``; ``SORT_ROLE`` gives the raw value a column sorts by."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[TakeRecord] = []

    def set_records(self, records: Sequence[TakeRecord]) -> None:
        self.beginResetModel()
        self.records = list(records)
        self.endResetModel()

    def replace_record(self, row: int, record: TakeRecord) -> None:
        self.records[row] = record
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        col = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tip or col.title
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.records[index.row()]
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(r)
        if role == SORT_ROLE:
            return col.sort(r)
        if role == RECORD_ROLE:
            return r
        if role == Qt.ItemDataRole.ToolTipRole:
            if r.problems:
                return "\n".join(r.problems)
            return str(r.audio or r.sidecar)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if index.column() == 0 and r.problems:
                return QBrush(QColor(theme.ORANGE))
            if col.title == "Clips" and r.clipped:
                return QBrush(QColor(theme.RED))
            if col.title == "Overflows" and r.overflows:
                return QBrush(QColor(theme.RED))
            if col.title == "True peak" and r.true_peak_dbtp is not None and r.true_peak_dbtp > -1.0:
                return QBrush(QColor(theme.YELLOW))
        if role == Qt.ItemDataRole.BackgroundRole and r.problems:
            return QBrush(QColor(theme.DARK_RED))
        return None


class LibraryProxy(QSortFilterProxyModel):
    """Sorts by ``SORT_ROLE`` values and keeps the rows ``take_filter`` accepts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.take_filter = TakeFilter()
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter(self, f: TakeFilter) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+: invalidateFilter() is deprecated
            self.beginFilterChange()
            self.take_filter = f
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.take_filter = f
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, LibraryModel)
        return self.take_filter.matches(model.records[source_row])

    def lessThan(self, left: _Index, right: _Index) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)


_TRI = (("any", None), ("yes", True), ("no", False))


class LibraryWidget(QWidget):
    """Search field, filters and the table of takes under ``folders``; rescans when files change."""

    take_activated = Signal(Path)  #: audio path of the take double-clicked or Enter-ed
    records_changed = Signal(int)  #: number of takes after a (re)scan
    export_requested = Signal(list)  #: "Export dataset…": the audio paths it opens the Export dialog over

    def __init__(self, folders: Sequence[str | Path] = (), parent: QWidget | None = None,
                 poll_ms: int = 5000, debounce_ms: int = 300) -> None:
        super().__init__(parent)
        self.setObjectName("libraryWidget")
        self.folders = [Path(f) for f in folders]
        self.model = LibraryModel(self)
        self.proxy = LibraryProxy(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit(placeholderText="search: name, place, tags, labels, notes…")
        self.search.setClearButtonEnabled(True)
        self.tags = QComboBox()
        self.tags.addItem("all tags", None)
        self.use_dates = QCheckBox("from")
        self.date_from = QDateEdit(calendarPopup=True)
        self.date_to = QDateEdit(calendarPopup=True)
        for d in (self.date_from, self.date_to):
            d.setDisplayFormat("yyyy-MM-dd")
            d.setDate(QDate.currentDate())
            d.setEnabled(False)
        self.clipped = QComboBox()
        self.overflow = QComboBox()
        self.problems = QComboBox()
        for combo in (self.clipped, self.overflow, self.problems):
            for text, value in _TRI:
                combo.addItem(text, value)
        self.verify_button = QPushButton("Verify hashes")
        self.verify_button.setToolTip("read every listed take and compare its SHA-256 with the sidecar (slow)")
        self.export_button = QPushButton("Export dataset…")
        self.export_button.setToolTip("export the selected takes (all shown takes when none is selected) as a "
                                      "training dataset")
        self.count_label = QLabel()
        self.count_label.setStyleSheet(f"color: {theme.DIM};")

        bar = QHBoxLayout()
        bar.addWidget(self.search, 3)
        bar.addWidget(self.tags, 1)
        bar.addWidget(self.use_dates)
        bar.addWidget(self.date_from)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.date_to)
        for label, combo in (("clipped", self.clipped), ("overflow", self.overflow), ("problems", self.problems)):
            bar.addWidget(QLabel(label))
            bar.addWidget(combo)
        bar.addWidget(self.verify_button)
        bar.addWidget(self.export_button)

        self.table = QTableView()
        self.table.setObjectName("libraryTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(False)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setResizeContentsPrecision(40)  # fit columns to the first rows only: a thousand rows cost seconds
        self.table.setStyleSheet(
            f"QTableView {{ background: {theme.PANEL}; selection-background-color: #2f4f6f; }}"
            f"QHeaderView::section {{ background: {theme.PANEL_2}; color: {theme.TEXT}; padding: 3px; border: 0; }}")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.count_label)

        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._schedule_rescan)
        self._rescan_timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._rescan_timer.timeout.connect(self.rescan)
        self._poll = QTimer(self, interval=poll_ms)
        self._poll.timeout.connect(self._poll_check)
        self._signature: tuple = ()
        self.export_dialog: Any = None  #: the last Export dialog opened by the button

        self.search.textChanged.connect(self._apply_filter)
        self.tags.currentIndexChanged.connect(self._apply_filter)
        self.use_dates.toggled.connect(self._dates_toggled)
        for w in (self.date_from, self.date_to):
            w.dateChanged.connect(self._apply_filter)
        for combo in (self.clipped, self.overflow, self.problems):
            combo.currentIndexChanged.connect(self._apply_filter)
        self.verify_button.clicked.connect(self.verify_hashes)
        self.export_button.clicked.connect(self._request_export)
        self.table.activated.connect(self._activated)
        if self.folders:
            self.rescan()
        if poll_ms > 0:
            self._poll.start()

    # ---------------------------------------------------------------- data
    def set_folders(self, folders: Sequence[str | Path]) -> None:
        self.folders = [Path(f) for f in folders]
        self.rescan()

    def _schedule_rescan(self, *_: object) -> None:
        self._rescan_timer.start()

    def _folder_signature(self) -> tuple:
        sig = []
        for folder in folders_under(f for f in self.folders if f.is_dir()):
            try:
                st = folder.stat()
            except OSError:
                continue
            sig.append((str(folder), st.st_mtime_ns))
        return tuple(sig)

    def _poll_check(self) -> None:
        sig = self._folder_signature()
        if sig != self._signature:
            self.rescan()

    def rescan(self) -> None:
        """Read the sidecars again (keeps the sort, the filter and the selected take)."""
        selected = self.selected_record()
        existing = [f for f in self.folders if f.is_dir()]
        missing = [f for f in self.folders if not f.is_dir()]
        records = scan(existing)
        first = self.model.rowCount() == 0
        self.model.set_records(records)
        if first and records:
            self.table.resizeColumnsToContents()
        self._signature = self._folder_signature()
        watched = set(self.watcher.directories())
        wanted = {str(f) for f in folders_under(existing)}
        if watched - wanted:
            self.watcher.removePaths(sorted(watched - wanted))
        if wanted - watched:
            self.watcher.addPaths(sorted(wanted - watched))
        self._refresh_tags(records)
        self._update_count(missing)
        if selected is not None:
            self.select_take(selected.key)
        self.records_changed.emit(len(records))

    def _refresh_tags(self, records: list[TakeRecord]) -> None:
        current = self.tags.currentData()
        self.tags.blockSignals(True)
        self.tags.clear()
        self.tags.addItem("all tags", None)
        for t in all_tags(records):
            self.tags.addItem(t, t)
        i = self.tags.findData(current) if current is not None else 0
        self.tags.setCurrentIndex(max(i, 0))
        self.tags.blockSignals(False)
        if current is not None and i < 0:
            self._apply_filter()

    def _update_count(self, missing: Sequence[Path] = ()) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        bad = sum(1 for r in self.model.records if r.problems)
        text = f"{shown} of {total} takes" + (f", {bad} with problems" if bad else "")
        if missing:
            text += "; not found: " + ", ".join(str(m) for m in missing)
        self.count_label.setText(text)

    def verify_hashes(self) -> int:
        """Hash every listed take against its sidecar (reads all audio); returns the mismatches found."""
        bad = 0
        for row, r in enumerate(list(self.model.records)):
            checked = verify_hash(r)
            if checked is not r:
                bad += 1
                self.model.replace_record(row, checked)
        self._update_count()
        return bad

    # ---------------------------------------------------------------- filter and selection
    def current_filter(self) -> TakeFilter:
        tag = self.tags.currentData()
        dates = self.use_dates.isChecked()
        return TakeFilter(
            text=self.search.text(),
            tags=(tag,) if tag else (),
            date_from=self.date_from.date().toPython() if dates else None,
            date_to=self.date_to.date().toPython() if dates else None,
            clipped=self.clipped.currentData(),
            overflow=self.overflow.currentData(),
            problems=self.problems.currentData(),
        )

    def _dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self._apply_filter()

    def _apply_filter(self, *_: object) -> None:
        self.proxy.set_filter(self.current_filter())
        self._update_count()

    def visible_records(self) -> list[TakeRecord]:
        """The rows as shown: filtered and in the table's sort order."""
        return [self.proxy.index(i, 0).data(RECORD_ROLE) for i in range(self.proxy.rowCount())]

    def selected_record(self) -> TakeRecord | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].data(RECORD_ROLE) if rows else None

    def selected_records(self) -> list[TakeRecord]:
        """The selected rows in the table's order."""
        model = self.table.selectionModel()
        rows = sorted(model.selectedRows(), key=lambda i: i.row()) if model else []
        return [i.data(RECORD_ROLE) for i in rows]

    def _request_export(self) -> None:
        """Open the Export dialog (``fieldrec.gui.export_dialog``) over the selection, else the shown rows."""
        from fieldrec.gui.export_dialog import open_export_dialog

        selected = self.selected_records()
        records = selected or self.visible_records()
        paths = [r.audio for r in records if r.audio is not None]
        self.export_requested.emit(paths)
        self.export_dialog = open_export_dialog(self.window(), paths, self.folders[0] if self.folders else None,
                                                "the selected takes" if selected else "the takes shown in the library")

    def select_take(self, key: str) -> bool:
        for i in range(self.proxy.rowCount()):
            idx = self.proxy.index(i, 0)
            if idx.data(RECORD_ROLE).key == key:
                self.table.selectRow(i)
                return True
        return False

    def _activated(self, index: QModelIndex) -> None:
        r = index.data(RECORD_ROLE)
        if r is not None and r.audio is not None:
            self.take_activated.emit(r.audio)
