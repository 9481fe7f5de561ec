"""The Export dialog, opened from the library (the widget of the window's Library tab) on takes recorded in the test: its preview equals the
dataset's own dry run, an export through it loads in Hugging Face `datasets` with the splits and rows the
preview promised, Stop stops between takes and Export again resumes, and bad options are a message in the
dialog (ratios that do not add up to 1, an unwritable folder, a missing folder, a failing write)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from fieldrec.dataset.options import request_from_options
from fieldrec.dataset.pipeline import run_export
from fieldrec.gui.export_dialog import ExportDialog
from fieldrec.gui.library import LibraryWidget
from tests.takes import record_take

PLACES = ("Oak ridge", "Marsh", "Fen", "Beach", "Heath")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """Five 1 s takes from the simulated source, at five places, two of them tagged birds."""
    root = tmp_path_factory.mktemp("export-takes")
    for i, place in enumerate(PLACES):
        record_take(root / ("day2" if i % 2 else ""), 1.0, location=place, tags=("birds",) if i < 2 else ("wind",))
    return root


@pytest.fixture
def folder(recorded, tmp_path) -> Path:
    dst = tmp_path / "takes"
    shutil.copytree(recorded, dst)
    return dst


@pytest.fixture
def library(qtbot, folder):
    widget = LibraryWidget([folder])
    qtbot.addWidget(widget)
    widget.resize(1400, 700)
    widget.show()
    qtbot.waitExposed(widget)
    w = SimpleNamespace(library=widget)  # the tests say library.library, as of the window's Library tab
    qtbot.waitUntil(lambda: w.library.model.rowCount() == len(PLACES), timeout=10000)
    yield w
    dialog = w.library.export_dialog
    if dialog is not None:
        try:
            qtbot.waitUntil(lambda: not dialog.busy(), timeout=60000)
            dialog.close()
        except RuntimeError:  # already closed and deleted by the test
            pass


def open_dialog(qtbot, library, rows: list[int]) -> ExportDialog:
    """Ctrl-click ``rows`` of the library's table and press Export dataset…."""
    table = library.library.table
    table.clearSelection()
    for r in rows:
        rect = table.visualRect(table.model().index(r, 2))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                         rect.center())
    assert len(library.library.selected_records()) == len(rows)
    with qtbot.waitSignal(library.library.export_requested, timeout=5000) as asked:
        qtbot.mouseClick(library.library.export_button, Qt.MouseButton.LeftButton)
    dialog = library.library.export_dialog
    assert dialog is not None and dialog.isVisible()
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, ExportDialog) and w.isVisible()]
    assert shown == [dialog]  # one dialog per click
    assert [p for p in asked.args[0] if p.exists()] == dialog.takes
    qtbot.waitExposed(dialog)
    return dialog


def settle(qtbot, dialog: ExportDialog) -> None:
    """Wait for the preview of the current options (the debounce timer, then the dry-run thread)."""
    qtbot.waitUntil(lambda: not dialog._preview_timer.isActive() and not dialog.busy()
                    and not dialog._poll.isActive(), timeout=30000)


def test_preview_equals_the_dry_run_and_the_export_loads_in_datasets(qtbot, library, tmp_path):
    chosen = [0, 1, 3, 4]
    dialog = open_dialog(qtbot, library, chosen)
    picked = {library.library.table.model().index(r, 0).data(Qt.ItemDataRole.UserRole + 2).audio for r in chosen}
    assert set(dialog.takes) == picked and dialog.use_selection.isChecked()
    assert dialog.use_selection.text() == "the selected takes: 4 takes"
    out = tmp_path / "dataset"
    dialog.out_edit.setText(str(out))
    dialog.samplerate.setCurrentText("16000")
    dialog.channels.setCurrentText("mono")
    dialog.segment.setCurrentText("window")
    dialog.window_len.setText("250ms")
    dialog.last_window.setCurrentText("keep")
    dialog.ratios["train"].setValue(0.5)
    dialog.ratios["validation"].setValue(0.0)
    dialog.ratios["test"].setValue(0.5)
    dialog.workers.setValue(1)
    dialog.group_by.setCurrentText("site")
    # a seed that puts places in both splits (take names hold the time of recording; places are fixed)
    opts = dialog.options(dry_run=True)
    dialog.seed.setValue(next(seed for seed in range(100) if all(
        r["takes"] for r in run_export(request_from_options(dataclasses.replace(opts, seed=seed))).plan.values())))
    settle(qtbot, dialog)
    assert dialog.message.text() == ""
    want = run_export(request_from_options(dialog.options(dry_run=True)))
    assert dialog.last_preview is not None and dialog.last_preview.plan == want.plan
    assert list(want.plan) == ["train", "test"] and sum(r["takes"] for r in want.plan.values()) == 4
    assert all(r["files"] == 4 * r["takes"] for r in want.plan.values())  # 1 s in 250 ms windows
    shown = {dialog.table.verticalHeaderItem(i).text(): int(dialog.table.item(i, 1).text())
             for i in range(dialog.table.rowCount())}
    assert shown == {**{k: v["files"] for k, v in want.plan.items()}, "total": 16}

    # a quality filter leaves takes out, with their reasons in the list
    check, spin = dialog.quality["min_snr"]
    check.setChecked(True)
    spin.setValue(200.0)
    settle(qtbot, dialog)
    assert dialog.last_preview.selected == 0 and dialog.left_out.count() == 4
    assert "below 200 dB" in dialog.left_out.item(0).text()
    check.setChecked(False)
    settle(qtbot, dialog)
    assert dialog.last_preview.plan == want.plan

    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert not dialog.export_button.isEnabled() and dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.last_summary is not None and not dialog.busy(), timeout=120000)
    s = dialog.last_summary
    assert s.exit_code == 0 and dialog.summary.text().startswith("All 4 selected takes exported: 16 files, 4.0 s.")
    assert dialog.progress.value() == dialog.progress.maximum() == 4
    assert dialog.open_button.isEnabled() and dialog.export_button.isEnabled()
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    probe = ("import json, sys\nfrom datasets import load_dataset\n"
             "d = load_dataset('audiofolder', data_dir=sys.argv[1])\n"
             "print(json.dumps({k: v.num_rows for k, v in d.items()}))\n")
    proc = subprocess.run([sys.executable, "-c", probe, str(out)], capture_output=True, text=True, env=env,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {k: v["files"] for k, v in want.plan.items()}


def test_stop_stops_between_takes_and_export_again_resumes(qtbot, library, tmp_path):
    dialog = open_dialog(qtbot, library, [])  # nothing selected: every shown take
    assert dialog.use_selection.text() == "the takes shown in the library: 5 takes"
    dialog.out_edit.setText(str(tmp_path / "ds"))
    dialog.workers.setValue(1)
    dialog.features.setCurrentText("all")
    settle(qtbot, dialog)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)  # before the first take is done
    qtbot.waitUntil(lambda: not dialog.busy() and dialog.export_button.isEnabled(), timeout=60000)
    assert dialog.last_summary is None
    assert dialog.summary.text().startswith("Stopped after 1 of 5 takes")
    assert not (tmp_path / "ds" / "manifest.json").exists()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.last_summary is not None and not dialog.busy(), timeout=120000)
    assert dialog.last_summary.cached_takes == 1 and dialog.last_summary.exported_takes == 5
    assert "(1 unchanged from before, kept)" in dialog.summary.text()
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert len(manifest["outputs"]) == 5


def test_bad_options_are_a_message_in_the_dialog(qtbot, library, tmp_path, folder):
    dialog = open_dialog(qtbot, library, [0])
    dialog.out_edit.setText(str(tmp_path / "typed"))
    qtbot.keyClick(dialog.out_edit, Qt.Key.Key_Return)  # Enter in a field does not start an export
    assert dialog._export_thread is None and dialog.isVisible()
    dialog.ratios["train"].setValue(0.5)  # 0.5 + 0.15 + 0.15
    settle(qtbot, dialog)
    assert "ratios must add up to 1, they add up to 0.8" in dialog.message.text()
    assert dialog.table.rowCount() == 0 and "not valid" in dialog.preview_title.text()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert not dialog.busy() and "add up to 1" in dialog.message.text()
    dialog.ratios["train"].setValue(0.7)
    settle(qtbot, dialog)
    assert dialog.message.text() == "" and dialog.table.rowCount() == 4

    dialog.samplerate.setCurrentText("fast")
    settle(qtbot, dialog)
    assert "sample rate must be a number of Hz or keep" in dialog.message.text()
    dialog.samplerate.setCurrentText("keep")

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dialog.out_edit.setText(str(blocker / "dataset"))
    settle(qtbot, dialog)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy() and dialog.export_button.isEnabled(), timeout=30000)
    assert "cannot use the output folder" in dialog.message.text() and dialog.last_summary is None

    out = tmp_path / "ds"
    (out / "manifest.json").mkdir(parents=True)  # the dataset's manifest cannot be written
    dialog.out_edit.setText(str(out))
    settle(qtbot, dialog)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy() and dialog.export_button.isEnabled(), timeout=60000)
    assert dialog.message.text().startswith("export failed: IsADirectoryError")

    gone = folder / "elsewhere"
    dialog.folder_edit.setText(str(gone))
    dialog.use_folder.setChecked(True)
    settle(qtbot, dialog)
    assert f"source {gone} does not exist" in dialog.message.text()


def test_closing_during_an_export_stops_it_and_a_take_without_audio_is_left_out(qtbot, library, tmp_path, folder):
    gone = library.library.visible_records()[0].audio
    gone.unlink()  # the library still lists the take (its sidecar) until it rescans
    dialog = open_dialog(qtbot, library, [])
    assert dialog.use_selection.text() == ("the takes shown in the library: 4 takes "
                                           "(1 without its audio file left out)")
    assert gone not in dialog.takes
    dialog.out_edit.setText(str(tmp_path / "ds"))
    dialog.workers.setValue(1)
    dialog.features.setCurrentText("all")
    settle(qtbot, dialog)
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    thread = dialog._export_thread
    assert thread is not None and thread.is_alive() and not thread.daemon
    dialog.close()  # stops after the take being written, as Stop does
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=60000)
    assert not (tmp_path / "ds" / "manifest.json").exists()
    assert len(list((tmp_path / "ds" / ".fieldrec" / "journal").glob("*.json"))) == 1
