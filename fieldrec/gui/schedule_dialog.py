"""The schedule editor: periods by clock time or sun event (with offsets), duty cycles, date ranges.

The table is a view of a schedule's ``[[period]]`` entries; every check goes through
:func:`fieldrec.field.schedule.parse_schedule` (its one-line messages are shown as they are) and the next
periods are listed by :func:`fieldrec.field.schedule.format_periods`, in local time and UTC, exactly as
``fieldrec schedule FILE`` prints them. Saved as the same TOML file the command line reads.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fieldrec.field.schedule import UTC, Location, Schedule, ScheduleError, format_periods, parse_schedule
from fieldrec.gui import theme

#: table columns -> the period keys of the TOML schedule
COLUMNS = (("name", "Name"), ("start", "Start"), ("end", "End"), ("duration", "or duration"),
           ("duty", "Duty (5m/15m)"), ("from", "From (date)"), ("until", "Until (date)"))
HINT = ("Start and end: a clock time HH:MM[:SS] (local to the time zone) or a sun event with an offset: sunrise, "
        "sunset, noon, civil_dawn, nautical_dusk, astronomical_dawn … e.g. civil_dawn-30m, sunset+1h30m. Or a "
        "duration such as 2h30m instead of an end. Duty 5m/15m records 5 minutes of every 15. Dates 2026-05-01.")
SHOW_NEXT = 8


def schedule_to_toml(data: dict[str, Any]) -> str:
    """A schedule dict (what :func:`parse_schedule` reads) as TOML text."""
    out: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a TOML basic string

    for key in ("timezone",):
        if key in data:
            out.append(f"{key} = {value(data[key])}")
    if "location" in data:
        out.append("\n[location]")
        out += [f"{k} = {value(v)}" for k, v in data["location"].items() if v is not None]
    for p in data.get("period", []):
        out.append("\n[[period]]")
        out += [f"{k} = {value(v)}" for k, v in p.items()]
    return "\n".join(out).lstrip() + "\n"


class ScheduleDialog(QDialog):
    """Edit a schedule. ``location``: the take's place (from the metadata or GPS) for sun times when the
    schedule names none. ``schedule`` after accept() is the validated :class:`Schedule`, ``data`` its dict."""

    def __init__(self, data: dict[str, Any] | None, location: Location | None, parent: QWidget | None = None,
                 now: dt.datetime | None = None):
        super().__init__(parent)
        self.setObjectName("scheduleDialog")
        self.setWindowTitle("fieldrec — schedule")
        self.resize(980, 560)
        self.default_location = location
        self.now = now
        self.schedule: Schedule | None = None
        self.data: dict[str, Any] = {}
        v = QVBoxLayout(self)
        where = QHBoxLayout()
        self.lat_edit = QLineEdit(self)
        self.lat_edit.setObjectName("scheduleLat")
        self.lon_edit = QLineEdit(self)
        self.lon_edit.setObjectName("scheduleLon")
        self.tz_edit = QLineEdit(self)
        self.tz_edit.setObjectName("scheduleTz")
        self.tz_edit.setPlaceholderText("this machine's zone")
        for label, w in (("Latitude", self.lat_edit), ("Longitude", self.lon_edit), ("Time zone", self.tz_edit)):
            where.addWidget(QLabel(label, self))
            where.addWidget(w)
        v.addLayout(where)
        hint = QLabel(HINT, self)
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {theme.DIM};")
        v.addWidget(hint)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("scheduleTable")
        self.table.setHorizontalHeaderLabels([c[1] for c in COLUMNS])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        v.addWidget(self.table, 2)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add period", self)
        self.remove_button = QPushButton("Remove period", self)
        self.open_button = QPushButton("Open…", self)
        self.save_button = QPushButton("Save as…", self)
        self.check_button = QPushButton("Check", self)
        for b in (self.add_button, self.remove_button, self.open_button, self.save_button, self.check_button):
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("scheduleError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.RED}; font-weight: bold;")
        v.addWidget(self.error_label)
        v.addWidget(QLabel("Next periods (local time and UTC, as `fieldrec schedule` prints them):", self))
        self.next_view = QPlainTextEdit(self)
        self.next_view.setObjectName("scheduleNext")
        self.next_view.setReadOnly(True)
        self.next_view.setStyleSheet("font-family: 'DejaVu Sans Mono', monospace; font-size: 12px;")
        v.addWidget(self.next_view, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        v.addWidget(self.buttons)
        self.add_button.clicked.connect(lambda: self.add_period())
        self.remove_button.clicked.connect(self.remove_period)
        self.open_button.clicked.connect(self._open)
        self.save_button.clicked.connect(self._save)
        self.check_button.clicked.connect(self.check)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.load(data or {})

    # ---------------------------------------------------------------- the table <-> the schedule dict
    def load(self, data: dict[str, Any]) -> None:
        loc = data.get("location") or {}
        if not loc and self.default_location is not None:
            loc = {"latitude": self.default_location.latitude, "longitude": self.default_location.longitude}
        self.lat_edit.setText("" if loc.get("latitude") is None else str(loc["latitude"]))
        self.lon_edit.setText("" if loc.get("longitude") is None else str(loc["longitude"]))
        self.tz_edit.setText(str(loc.get("timezone") or data.get("timezone") or ""))
        self.table.setRowCount(0)
        for p in data.get("period", []):
            self.add_period({k: ("" if v is None else str(v)) for k, v in p.items()})
        if data:
            self.check()

    def add_period(self, values: dict[str, str] | None = None) -> None:
        values = values or {"name": f"period {self.table.rowCount() + 1}", "start": "05:00", "duration": "1h"}
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, (key, _title) in enumerate(COLUMNS):
            self.table.setItem(r, c, QTableWidgetItem(values.get(key, "")))

    def remove_period(self) -> None:
        r = self.table.currentRow()
        if r < 0:
            r = self.table.rowCount() - 1
        if r >= 0:
            self.table.removeRow(r)

    def to_data(self) -> dict[str, Any]:
        """The schedule dict as :func:`parse_schedule` reads it (dates parsed like TOML's)."""
        data: dict[str, Any] = {}
        lat, lon, tz = self.lat_edit.text().strip(), self.lon_edit.text().strip(), self.tz_edit.text().strip()
        if lat or lon:
            loc: dict[str, Any] = {}
            for key, text in (("latitude", lat), ("longitude", lon)):
                if text:
                    try:
                        loc[key] = float(text.replace(",", "."))
                    except ValueError:
                        loc[key] = text  # parse_schedule says what is wrong with it
            if tz:
                loc["timezone"] = tz
            data["location"] = loc
        elif tz:
            data["timezone"] = tz
        periods = []
        for r in range(self.table.rowCount()):
            p: dict[str, Any] = {}
            for c, (key, _t) in enumerate(COLUMNS):
                item = self.table.item(r, c)
                text = item.text().strip() if item is not None else ""
                if not text:
                    continue
                if key in ("from", "until"):
                    try:
                        p[key] = tomllib.loads(f"d = {text}")["d"]
                    except tomllib.TOMLDecodeError:
                        p[key] = text
                else:
                    p[key] = text
            periods.append(p)
        data["period"] = periods
        return data

    # ---------------------------------------------------------------- checking
    def check(self) -> bool:
        """Validate through fieldrec.field.schedule; show its one-line error or the next periods."""
        data = self.to_data()
        try:
            sched = parse_schedule(data, "schedule", default_location=None)
        except ScheduleError as err:
            self.schedule = None
            self.error_label.setText(str(err))
            self.next_view.setPlainText("")
            return False
        self.schedule, self.data = sched, data
        now = (self.now or dt.datetime.now(UTC)).astimezone(UTC)
        periods = sched.next_periods(now, SHOW_NEXT)
        lines = format_periods(periods, sched.tz) or ["no periods to come"]
        lines += [f"note: {n}" for n in sched.skipped()]
        self.error_label.setText("")
        self.next_view.setPlainText("\n".join(lines))
        return True

    def accept(self) -> None:  # noqa: D102 (Qt name)
        if self.check():
            super().accept()

    def _open(self) -> None:
        path, _f = QFileDialog.getOpenFileName(self, "Open schedule", "", "Schedules (*.toml);;All files (*)")
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> bool:
        """Load a schedule file into the table (validated as ``load_schedule`` does); False with the
        one-line reason shown when it cannot be read."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            self.error_label.setText(f"{path}: cannot read the schedule ({err.strerror or err})")
            return False
        except UnicodeDecodeError:
            self.error_label.setText(f"{path}: not a text file (UTF-8 TOML expected)")
            return False
        except tomllib.TOMLDecodeError as err:
            self.error_label.setText(f"{path}: not valid TOML ({err})")
            return False
        self.load(data)
        return True

    def _save(self) -> None:
        if not self.check():
            return
        path, _f = QFileDialog.getSaveFileName(self, "Save schedule", "schedule.toml", "Schedules (*.toml)")
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> bool:
        try:
            path.write_text(schedule_to_toml(self.data), encoding="utf-8")
        except OSError as err:
            self.error_label.setText(f"cannot save {path}: {err.strerror or err}")
            return False
        return True
