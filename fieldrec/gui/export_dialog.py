"""The Export dialog: ``fieldrec export`` in a window, over the library's selection or a folder.

The widgets hold the command line's words; ``ExportDialog.options()`` fills a
``fieldrec.dataset.options.ExportOptions`` and ``request_from_options`` (the one mapping the CLI uses) turns
it into the ``ExportRequest`` that ``fieldrec.dataset.pipeline.run_export`` runs. Bad words are one line in
the dialog (red), never a traceback.

Nothing heavy runs on the GUI thread: a change of an option restarts a short timer, then a dry run (which
reads sidecars, and the audio for ``events`` or unanalysed plain files) runs in a thread and the preview
shows its takes, files and seconds per split and every take left out with its reason. Export runs the real
pipeline in another thread. The threads hand their results and progress events over a queue that a
``QTimer`` on the GUI thread drains (the window pulls, as the live view does); they never touch a widget.
Stop sets the pipeline's ``cancel``: the takes being written finish, the rest are not started, and
exporting again continues where it stopped (the export is resumable).
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fieldrec.dataset.executor import default_workers
from fieldrec.dataset.features import FEATURE_NAMES
from fieldrec.dataset.options import ExportOptions, request_from_options
from fieldrec.dataset.params import FORMATS
from fieldrec.dataset.pipeline import ExportCancelled, ExportInputError, ExportSummary, run_export
from fieldrec.gui import theme

log = logging.getLogger(__name__)

SAMPLERATES = ("keep", "8000", "16000", "22050", "24000", "32000", "44100", "48000", "96000")
QUALITY = (  # (label, ExportOptions field, spin box range, default, decimals, unit)
    ("max clipped", "max_clipped", (0, 10**9), 0, 0, "samples"),
    ("min SNR", "min_snr", (-200.0, 200.0), 20.0, 1, "dB"),
    ("max noise floor", "max_noise_floor", (-200.0, 0.0), -50.0, 1, "dBFS"),
    ("max true peak", "max_true_peak", (-200.0, 20.0), -1.0, 1, "dBTP"),
)


def _seconds(s: float) -> str:
    m, sec = divmod(s, 60)
    return f"{int(m)}:{sec:04.1f}" if m else f"{sec:.1f} s"


_frozen = False


def _freeze_long_lived_objects() -> None:
    """``gc.freeze()`` once per process: the objects alive when the first dialog opens (Qt, numpy, the
    window) stay for the program's life; leaving them out of full collections shortens the collector's
    pauses, which stop every thread. Measured in benchmarks/bench_export_dialog.py: gaps of 200-400 ms in
    the GUI's 10 ms timer during an export without it, below 60 ms with it (docs/benchmarks.md)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _reason(r: Any) -> str:
    """A left-out source in one line: its file name (once) and why."""
    name = Path(r.source).name
    return r.reason if name in r.reason else f"{name}: {r.reason}"


def _combo(items: Sequence[str], editable: bool = False) -> QComboBox:
    c = QComboBox()
    c.addItems(list(items))
    c.setEditable(editable)
    return c


class ExportDialog(QDialog):
    """``takes``: the audio files of the library's selection (``takes_label`` says which rows they are);
    ``folder``: the folder offered instead."""

    POLL_MS = 50

    def __init__(self, takes: Sequence[str | Path] = (), folder: str | Path | None = None,
                 out_dir: str | Path | None = None, parent: QWidget | None = None, preview_ms: int = 400,
                 takes_label: str = "the library's selection") -> None:
        super().__init__(parent)
        _freeze_long_lived_objects()
        self.setObjectName("exportDialog")
        self.setWindowTitle("fieldrec — export dataset")
        self.takes = [Path(t) for t in takes]
        self._queue: queue.Queue = queue.Queue()
        self._preview_thread: threading.Thread | None = None
        self._preview_pending = False
        self._generation = 0
        self._export_thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.last_preview: ExportSummary | None = None
        self.last_summary: ExportSummary | None = None

        # ------------------------------------------------------------ sources and output
        self.use_selection = QRadioButton()
        self.use_folder = QRadioButton("folder")
        group = QButtonGroup(self)
        group.addButton(self.use_selection)
        group.addButton(self.use_folder)
        missing = [t for t in self.takes if not t.exists()]
        self.takes = [t for t in self.takes if t.exists()]
        self.use_selection.setText(f"{takes_label}: {_n(len(self.takes), 'take')}"
                                   + (f" ({len(missing)} without {'its' if len(missing) == 1 else 'their'} audio file left out)"
                                      if missing else ""))
        self.folder_edit = QLineEdit(str(folder) if folder else "")
        self.folder_edit.setPlaceholderText("folder of takes (searched recursively)")
        self.folder_button = QPushButton("Choose…")
        self.out_edit = QLineEdit(str(out_dir) if out_dir else str(Path.home() / "fieldrec-datasets" / "dataset"))
        self.out_button = QPushButton("Choose…")
        if self.takes:
            self.use_selection.setChecked(True)
        else:
            self.use_selection.setEnabled(False)
            self.use_folder.setChecked(True)
        src_box = QGroupBox("Takes and dataset folder")
        src = QGridLayout(src_box)
        src.addWidget(self.use_selection, 0, 0, 1, 3)
        src.addWidget(self.use_folder, 1, 0)
        src.addWidget(self.folder_edit, 1, 1)
        src.addWidget(self.folder_button, 1, 2)
        src.addWidget(QLabel("export to"), 2, 0)
        src.addWidget(self.out_edit, 2, 1)
        src.addWidget(self.out_button, 2, 2)

        # ------------------------------------------------------------ audio
        self.samplerate = _combo(SAMPLERATES, editable=True)
        self.samplerate.setToolTip("Hz; keep: the source's rate (soxr, very high quality)")
        self.format = _combo(list(FORMATS))
        self.channels = _combo(("keep", "mono", "split", "1", "2"), editable=True)
        self.channels.setToolTip("keep, mono (mean), split (a file per channel) or a channel number")
        self.normalize = _combo(("none", "peak:-1", "lufs:-23"), editable=True)
        self.normalize.setToolTip("peak:DBFS (sample peak) or lufs:LUFS (integrated loudness), one gain per take")
        self.coordinates = _combo(("keep", "round:2", "round:1", "drop"), editable=True)
        self.coordinates.setToolTip("coordinates in the dataset: keep, round:N decimals (2 is about 1 km) or drop")
        audio_box = QGroupBox("Audio")
        audio = QFormLayout(audio_box)
        audio.addRow("sample rate", self.samplerate)
        audio.addRow("format", self.format)
        audio.addRow("channels", self.channels)
        audio.addRow("normalise", self.normalize)
        audio.addRow("coordinates", self.coordinates)

        # ------------------------------------------------------------ segments and features
        self.segment = _combo(("whole", "window", "markers", "events"))
        self.window_len = QLineEdit("1s")
        self.window_hop = QLineEdit()
        self.window_hop.setPlaceholderText("= length")
        self.last_window = _combo(("drop", "pad", "keep"))
        self.last_window.setToolTip("the last partial window: drop it, pad it with zeros, or keep it shorter")
        self.features = _combo(("none", "all", "centroid,rms,zcr", "log_mel"), editable=True)
        self.features.setToolTip("all, none or names separated by commas: " + ", ".join(FEATURE_NAMES))
        seg_box = QGroupBox("Segments and features")
        seg = QFormLayout(seg_box)
        seg.addRow("segments", self.segment)
        win = QHBoxLayout()
        win.addWidget(self.window_len)
        win.addWidget(QLabel("hop"))
        win.addWidget(self.window_hop)
        seg.addRow("window", win)
        seg.addRow("last window", self.last_window)
        seg.addRow("features", self.features)

        # ------------------------------------------------------------ split
        self.by_ratio = QRadioButton("ratios")
        self.by_folds = QRadioButton("folds")
        self.by_ratio.setChecked(True)
        split_group = QButtonGroup(self)
        split_group.addButton(self.by_ratio)
        split_group.addButton(self.by_folds)
        self.ratios: dict[str, QDoubleSpinBox] = {}
        for name, value in (("train", 0.7), ("validation", 0.15), ("test", 0.15)):
            box = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=1.0, singleStep=0.05, value=value)
            box.setToolTip(f"share of the {name} split (the three add up to 1)")
            self.ratios[name] = box
        self.folds = QSpinBox(minimum=2, maximum=50, value=5)
        self.group_by = _combo(("take", "site", "session", "day", "recorder"), editable=True)
        self.group_by.setToolTip("no value of this key is in two splits (or any sidecar KEY)")
        self.stratify_by = _combo(("", "tag", "site", "recorder"), editable=True)
        self.stratify_by.setToolTip("deal each stratum's groups out by the ratios (empty: no stratification)")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        split_box = QGroupBox("Split")
        split = QGridLayout(split_box)
        split.addWidget(self.by_ratio, 0, 0)
        col = 1
        for name, box in self.ratios.items():
            split.addWidget(QLabel(name), 0, col)
            split.addWidget(box, 0, col + 1)
            col += 2
        split.addWidget(self.by_folds, 1, 0)
        split.addWidget(self.folds, 1, 1, 1, 2)
        split.addWidget(QLabel("group by"), 2, 0)
        split.addWidget(self.group_by, 2, 1, 1, 2)
        split.addWidget(QLabel("stratify by"), 2, 3)
        split.addWidget(self.stratify_by, 2, 4, 1, 2)
        split.addWidget(QLabel("seed"), 3, 0)
        split.addWidget(self.seed, 3, 1, 1, 2)

        # ------------------------------------------------------------ quality and workers
        self.quality: dict[str, tuple[QCheckBox, QSpinBox | QDoubleSpinBox]] = {}
        q_box = QGroupBox("Quality filters (from each take's analysis)")
        q = QGridLayout(q_box)
        for row, (label, key, (lo, hi), default, decimals, unit) in enumerate(QUALITY):
            check = QCheckBox(label)
            spin: QSpinBox | QDoubleSpinBox
            if decimals:
                spin = QDoubleSpinBox(decimals=decimals, minimum=lo, maximum=hi, value=default)
            else:
                spin = QSpinBox(minimum=int(lo), maximum=int(hi), value=int(default))
            spin.setSuffix(f" {unit}")
            spin.setEnabled(False)
            check.toggled.connect(spin.setEnabled)
            self.quality[key] = (check, spin)
            q.addWidget(check, row // 2, (row % 2) * 2)
            q.addWidget(spin, row // 2, (row % 2) * 2 + 1)
        self.workers = QSpinBox(minimum=1, maximum=256, value=default_workers())
        self.workers.setToolTip("processes for the export (1: in this program)")
        q.addWidget(QLabel("workers"), 2, 0)
        q.addWidget(self.workers, 2, 1)

        # ------------------------------------------------------------ preview, progress, summary
        self.preview_title = QLabel("Preview")
        self.preview_title.setStyleSheet("font-weight: bold;")
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("exportPreview")
        self.table.setHorizontalHeaderLabels(["takes", "files", "duration"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(150)
        self.left_out_title = QLabel("Left out")
        self.left_out = QListWidget()
        self.left_out.setObjectName("exportLeftOut")
        self.left_out.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("exportMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("role", "fielderror")
        self.progress = QProgressBar()
        self.progress.setFormat("")
        self.progress.setValue(0)
        self.summary = QLabel()
        self.summary.setObjectName("exportSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.export_button = QPushButton("Export")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.open_button = QPushButton("Open folder")
        self.open_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        for b in (self.export_button, self.stop_button, self.open_button, self.close_button):
            b.setAutoDefault(False)  # Enter in a field must not start an export
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.close_button)

        left = QVBoxLayout()
        for box in (src_box, audio_box, seg_box, split_box, q_box):
            left.addWidget(box)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.preview_title)
        right.addWidget(self.table, 2)
        right.addWidget(self.left_out_title)
        right.addWidget(self.left_out, 2)
        right.addWidget(self.message)
        right.addWidget(self.progress)
        right.addWidget(self.summary, 1)
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addLayout(right, 2)
        outer = QVBoxLayout(self)
        outer.addLayout(top, 1)
        outer.addLayout(buttons)
        self._option_boxes = [src_box, audio_box, seg_box, split_box, q_box]

        # ------------------------------------------------------------ wiring
        self._preview_timer = QTimer(self, singleShot=True, interval=preview_ms)
        self._preview_timer.timeout.connect(self.start_preview)
        self._poll = QTimer(self, interval=self.POLL_MS)
        self._poll.timeout.connect(self._drain)
        for w in (self.samplerate, self.format, self.channels, self.normalize, self.coordinates, self.segment,
                  self.last_window, self.features, self.group_by, self.stratify_by):
            w.currentTextChanged.connect(self._changed)
        for e in (self.folder_edit, self.out_edit, self.window_len, self.window_hop):
            e.textChanged.connect(self._changed)
        for b in (self.use_selection, self.use_folder, self.by_ratio, self.by_folds):
            b.toggled.connect(self._changed)
        for s in (*self.ratios.values(), self.folds, self.seed, self.workers):
            s.valueChanged.connect(self._changed)
        for check, spin in self.quality.values():
            check.toggled.connect(self._changed)
            spin.valueChanged.connect(self._changed)
        self.folder_button.clicked.connect(self._choose_folder)
        self.out_button.clicked.connect(self._choose_out)
        self.export_button.clicked.connect(self.start_export)
        self.stop_button.clicked.connect(self.stop_export)
        self.open_button.clicked.connect(self.open_folder)
        self.close_button.clicked.connect(self.close)
        self._sync_enabled()
        self.resize(1280, 860)
        self._changed()

    # ---------------------------------------------------------------- options
    def options(self, dry_run: bool = False) -> ExportOptions:
        """The dialog's options as the command line's words (``ExportOptions``)."""
        rate = self.samplerate.currentText().strip().lower()
        if rate in ("", "keep"):
            samplerate = None
        else:
            try:
                samplerate = int(float(rate))
            except ValueError:
                raise ExportInputError(f"sample rate must be a number of Hz or keep, got {rate!r}") from None
        segment = self.segment.currentText()
        if segment == "window":
            hop = self.window_hop.text().strip()
            segment = f"window:{self.window_len.text().strip()}" + (f":{hop}" if hop else "")
        sources = ([str(t) for t in self.takes] if self.use_selection.isChecked()
                   else [self.folder_edit.text().strip()] if self.folder_edit.text().strip() else [])
        split = ",".join(f"{name}={box.value():g}" for name, box in self.ratios.items())
        normalize = self.normalize.currentText().strip()
        quality = {key: (spin.value() if check.isChecked() else None) for key, (check, spin) in self.quality.items()}
        return ExportOptions(
            sources=sources, out=self.out_edit.text().strip(), samplerate=samplerate,
            format=self.format.currentText(), channels=self.channels.currentText().strip(),
            normalize=None if normalize.lower() in ("", "none") else normalize, segment=segment,
            last_window=self.last_window.currentText(), features=self.features.currentText().strip(),
            split=split if self.by_ratio.isChecked() else "train=1",
            folds=self.folds.value() if self.by_folds.isChecked() else None,
            group_by=self.group_by.currentText().strip() or "take",
            stratify_by=self.stratify_by.currentText().strip() or None, seed=self.seed.value(),
            coordinates=self.coordinates.currentText().strip(), workers=self.workers.value(), dry_run=dry_run,
            max_clipped=None if quality["max_clipped"] is None else int(quality["max_clipped"]),
            min_snr=quality["min_snr"], max_noise_floor=quality["max_noise_floor"],
            max_true_peak=quality["max_true_peak"],
        )

    def _request(self, dry_run: bool) -> Any:
        return request_from_options(self.options(dry_run))

    def _say(self, text: str) -> None:
        self.message.setText(text)

    def _changed(self, *_: object) -> None:
        self.window_len.setEnabled(self.segment.currentText() == "window")
        self.window_hop.setEnabled(self.segment.currentText() == "window")
        self.last_window.setEnabled(self.segment.currentText() == "window")
        self.folder_edit.setEnabled(self.use_folder.isChecked())
        self.folder_button.setEnabled(self.use_folder.isChecked())
        for box in self.ratios.values():
            box.setEnabled(self.by_ratio.isChecked())
        self.folds.setEnabled(self.by_folds.isChecked())
        if self._export_thread is None:
            self._preview_timer.start()

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of takes", self.folder_edit.text())
        if path:
            self.folder_edit.setText(path)
            self.use_folder.setChecked(True)

    def _choose_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset folder", self.out_edit.text())
        if path:
            self.out_edit.setText(path)

    # ---------------------------------------------------------------- threads
    def _start_thread(self, kind: str, generation: int, work: Callable[[], ExportSummary],
                      daemon: bool) -> threading.Thread:
        q = self._queue  # the thread may outlive the dialog: it holds only the queue

        def run() -> None:
            try:
                q.put((kind, generation, "done", work()))
            except ExportInputError as err:
                q.put((kind, generation, "input", str(err)))
            except ExportCancelled as err:
                q.put((kind, generation, "cancelled", err))
            except Exception as err:  # a bug or an OS error (disk full): said in the dialog, logged in full
                log.exception("%s failed", kind)
                q.put((kind, generation, "error", f"{type(err).__name__}: {err}"))
            finally:
                q.put((kind, generation, "ended", None))

        thread = threading.Thread(target=run, name=f"fieldrec-{kind}", daemon=daemon)
        thread.start()
        self._poll.start()
        return thread

    def busy(self) -> bool:
        """True while a preview or an export thread runs."""
        return any(t is not None and t.is_alive() for t in (self._preview_thread, self._export_thread))

    def start_preview(self) -> None:
        """Run a dry run of the current options in a thread (one at a time; the newest options win)."""
        if self._export_thread is not None:
            return
        if self._preview_thread is not None:
            self._preview_pending = True
            return
        try:
            req = self._request(dry_run=True)
        except ExportInputError as err:
            self._say(str(err))
            self._show_counts({}, "Preview (options not valid)")
            return
        self._say("")
        self._generation += 1
        self.preview_title.setText("Preview: reading the takes…")
        self._preview_thread = self._start_thread("export-preview", self._generation,
                                                  lambda: run_export(req), daemon=True)

    def start_export(self) -> None:
        if self._export_thread is not None:
            return
        try:
            req = self._request(dry_run=False)
        except ExportInputError as err:
            self._say(str(err))
            return
        self._preview_timer.stop()
        self._say("")
        self.summary.setText("")
        self.open_button.setEnabled(False)
        self._cancel.clear()
        total = sum(r["takes"] for r in self.last_preview.plan.values()) if self.last_preview else 0
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m takes")

        q, cancel = self._queue, self._cancel

        def on_progress(ev: Any) -> None:
            q.put(("export", 0, "progress", ev))

        self._export_thread = self._start_thread("export", 0, lambda: run_export(req, on_progress, cancel.is_set),
                                                 daemon=False)
        self._sync_enabled()

    def stop_export(self) -> None:
        """Stop after the takes being written (the export resumes when run again)."""
        if self._export_thread is not None:
            self._cancel.set()
            self.stop_button.setEnabled(False)
            self.summary.setText("stopping after the takes being written…")

    def _drain(self) -> None:
        while True:
            try:
                kind, generation, what, value = self._queue.get_nowait()
            except queue.Empty:
                break
            if kind == "export-preview":
                self._preview_event(generation, what, value)
            else:
                self._export_event(what, value)
        if not self.busy() and self._queue.empty():
            self._poll.stop()

    def _preview_event(self, generation: int, what: str, value: Any) -> None:
        if what == "ended":
            self._preview_thread = None
            if self._preview_pending:
                self._preview_pending = False
                self.start_preview()
            return
        if generation != self._generation or self._preview_pending:
            return  # the options changed meanwhile: a newer preview follows
        if what == "done":
            self.last_preview = value
            self._show_preview(value)
        else:
            self._say(value if what == "input" else f"preview failed: {value}")
            self._show_counts({}, "Preview (not available)")

    def _export_event(self, what: str, value: Any) -> None:
        if what == "progress":
            self.progress.setRange(0, max(1, value.total))
            self.progress.setValue(value.done)
            return
        if what == "ended":
            self._export_thread = None
            self._sync_enabled()
            return
        if what == "done":
            self.last_summary = value
            self._show_result(value)
        elif what == "cancelled":
            self.summary.setText(f"Stopped after {value.done} of {value.total} takes. The finished takes are kept; "
                                 "Export again to continue where it stopped.")
        elif what == "input":
            self._say(value)
            self.summary.setText("")
        else:
            self._say(f"export failed: {value}")
            self.summary.setText("")

    def _sync_enabled(self) -> None:
        running = self._export_thread is not None
        for box in self._option_boxes:
            box.setEnabled(not running)
        self.export_button.setEnabled(not running)
        self.stop_button.setEnabled(running and not self._cancel.is_set())

    # ---------------------------------------------------------------- showing results
    def _show_counts(self, rows: dict[str, dict[str, Any]], title: str) -> None:
        self.preview_title.setText(title)
        self.table.setRowCount(0)
        if not rows:
            return
        total = {"takes": sum(r["takes"] for r in rows.values()), "files": sum(r["files"] for r in rows.values()),
                 "seconds": sum(r["seconds"] for r in rows.values())}
        items = [*rows.items(), ("total", total)]
        self.table.setRowCount(len(items))
        self.table.setVerticalHeaderLabels([name for name, _ in items])
        for i, (_, r) in enumerate(items):
            for j, text in enumerate((str(r["takes"]), str(r["files"]), _seconds(r["seconds"]))):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)

    def _show_left_out(self, summary: ExportSummary) -> None:
        self.left_out.clear()
        problems = set(summary.problems)
        for r in summary.rejected:
            self.left_out.addItem(_reason(r))
            if r in problems:
                self.left_out.item(self.left_out.count() - 1).setForeground(QColor(theme.ORANGE))
        self.left_out_title.setText(f"Left out: {len(summary.rejected)}"
                                    + (f" ({len(problems)} cannot be read)" if problems else ""))

    def _show_preview(self, s: ExportSummary) -> None:
        self._show_counts(s.plan, f"Preview: {s.found} takes found, {s.selected} selected")
        self._show_left_out(s)

    def _show_result(self, s: ExportSummary) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for name in s.split_report.get("achieved", {}):
            mine = [o for o in s.outputs if o.split == name]
            rows[name] = {"takes": len({o.source_path for o in mine}), "files": len(mine),
                          "seconds": sum(o.duration_s for o in mine)}
        self._show_counts(rows, f"Exported into {s.out_dir}")
        self._show_left_out(s)
        files, secs = len(s.outputs), sum(o.duration_s for o in s.outputs)
        head = (f"All {_n(s.exported_takes, 'selected take')} exported" if s.exit_code == 0 else
                f"{_n(s.exported_takes, 'take')} exported, {_n(len(s.problems), 'source')} skipped")
        lines = [f"{head}: {_n(files, 'file')}, {_seconds(secs)}"
                 + (f" ({s.cached_takes} unchanged from before, kept)." if s.cached_takes else ".")]
        lines += [f"skipped: {_reason(r)}" for r in s.problems]
        if not s.leak_audit.get("clean", True):
            lines.append("warning: the leak audit found audio in two splits (see manifest.json)")
        self.summary.setText("\n".join(lines))
        self.open_button.setEnabled(True)

    def open_folder(self) -> None:
        if self.last_summary is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.last_summary.out_dir))

    # ---------------------------------------------------------------- closing
    def done(self, result: int) -> None:  # noqa: D401 (Qt's name)
        """Closing stops a running export after the takes being written (it resumes when run again)."""
        self._preview_timer.stop()
        self._cancel.set()
        super().done(result)


def open_export_dialog(parent: QWidget | None, takes: Sequence[str | Path] = (),
                       folder: str | Path | None = None, takes_label: str = "the library's selection") -> ExportDialog:
    """Show a (non-modal) Export dialog over ``takes`` (the library's selection) or ``folder``."""
    dialog = ExportDialog(takes, folder, parent=parent, takes_label=takes_label)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
