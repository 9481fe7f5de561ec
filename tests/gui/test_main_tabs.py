"""The main window's Live | Library | Review tabs on takes recorded in the test: a take recorded in the window is
listed as soon as it is final and a double-click reviews it; the live view is not drawn behind another tab; the
take's metadata edited in the review panel lands in the sidecar and the chunks (audio untouched), with undo;
a refused edit writes nothing and says why; `fieldrec library DIR` opens the window on the Library tab."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from fieldrec.gui.tabs import LIBRARY, LIVE, REVIEW
from fieldrec.storage.riff import read_riff
from tests.readers import wav_metadata
from tests.takes import record_take


def wait_frames(qtbot, window, n: int) -> None:
    start = window.frame_count
    qtbot.waitUntil(lambda: window.frame_count >= start + n, timeout=10000)


def _double_click_row(qtbot, table, row: int) -> None:
    rect = table.visualRect(table.model().index(row, 2))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_take_recorded_here_is_listed_when_final_and_a_double_click_reviews_it(window, qtbot, tmp_path):
    window.review.cache_folder = tmp_path / "cache"
    assert window.tabs.currentIndex() == LIVE and [window.tabs.tabText(i) for i in range(3)] == [
        "Live", "Library", "Review"]
    assert window.record()
    wait_frames(qtbot, window, 20)
    window.tabs.setCurrentIndex(LIBRARY)  # while recording: the live view is not drawn, the take goes on
    assert window.live_shown is False
    wait_frames(qtbot, window, 3)
    columns = window.waveform.history.total_columns
    elapsed = window.elapsed_label.text()
    wait_frames(qtbot, window, 10)
    assert window.waveform.history.total_columns == columns
    assert window.elapsed_label.text() != elapsed  # the transport is on every tab and goes on
    writing = Path(window._take.paths.audio)
    window.library.rescan()  # as the folder watcher does when the take's first sidecar lands
    (now,) = [r for r in window.library.visible_records() if r.audio == writing]
    assert now.problems == () and now.state == "recording"  # recording here, not a take cut off by a crash
    take = window.stop()
    audio = Path(take.paths.audio)
    result = take.wait(30)
    assert result is not None and result.stop_reason == "user"

    def listed():
        return [r for r in window.library.visible_records() if r.audio == audio]

    qtbot.waitUntil(lambda: bool(listed()) and listed()[0].stop_reason == "user", timeout=5000)
    (row,) = listed()
    assert not row.problems and row.frames == sf.info(str(audio)).frames
    assert window.library.selected_record().audio == audio  # selected: Enter reviews it
    assert window._edit_last_take and not window.detach_button.isHidden()  # the side panel edits the last take

    with qtbot.waitSignal(window.review.overview_ready, timeout=30000):
        _double_click_row(qtbot, window.library.table, window.library.visible_records().index(row))
    assert window.tabs.currentIndex() == REVIEW and window.review.audio == audio
    assert not window._edit_last_take  # one editor per take: now the review's, the side panel is the next take's
    assert window.metadata_target.text() == "Metadata for the next take"
    assert window.review.metadata_editor.panel.isEnabled()
    assert not window.metadata_dock.isVisible()  # the next take's form belongs to the Live tab
    assert all(not k.isEnabled() for k in window.record_keys)  # Space/R/M are the review's here
    qtbot.keyClick(window.review, Qt.Key.Key_Space)  # plays (or says why there is no output), never records
    assert not window.is_recording() and (window.review.playing or "output" in window.review.status_text)
    window.review.stop_playback()

    window.tabs.setCurrentIndex(LIVE)
    assert window.live_shown and window.metadata_dock.isVisible() and all(k.isEnabled() for k in window.record_keys)
    wait_frames(qtbot, window, 5)
    broken = audio.parent / "broken.wav"
    broken.write_bytes(b"RIFF not audio")
    assert not window.review_take(broken)
    assert "cannot open broken.wav" in window.banner.label.text() and window.tabs.currentIndex() == LIVE


def test_the_take_being_recorded_is_not_opened_in_review(window, qtbot):
    assert window.record()
    take = window._take
    wait_frames(qtbot, window, 5)
    assert not window.review_take(Path(take.paths.audio))
    assert "still being recorded" in window.banner.label.text() and window.review.audio is None
    window.tabs.setCurrentIndex(REVIEW)
    qtbot.keyClick(window.review, Qt.Key.Key_M)  # the review's M, with no take open: says so, adds nothing
    assert "open a take first" in window.review.status_text and window.review.undo_stack.count() == 0
    result = window.stop().wait(30)
    assert result is not None and take.markers == ()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    return record_take(tmp_path_factory.mktemp("tabs"), 1.0, location="Old pier", notes="first note")


@pytest.fixture
def reviewed(recorded, window, qtbot, tmp_path):
    """The window with a private copy of a recorded take open in its Review tab."""
    folder = tmp_path / "yesterday"
    folder.mkdir()
    take = folder / recorded.name
    shutil.copy(recorded, take)
    shutil.copy(recorded.with_suffix(".json"), take.with_suffix(".json"))
    window.review.cache_folder = tmp_path / "cache"
    window.show_library([folder])
    assert window.tabs.currentIndex() == LIBRARY
    assert [r.audio for r in window.library.visible_records()] == [take]
    with qtbot.waitSignal(window.review.overview_ready, timeout=30000):
        assert window.review_take(take)
    return window, take


def _type_into(qtbot, editor, text: str) -> None:
    """Select the field's text and type over it, as a user does."""
    editor.setFocus()
    editor.selectAll()
    if text:
        qtbot.keyClicks(editor, text)
    else:
        qtbot.keyClick(editor, Qt.Key.Key_Backspace)


def test_metadata_edited_in_review_lands_in_sidecar_and_chunks_and_undo_restores_it(reviewed, qtbot):
    window, take = reviewed
    meta = window.review.metadata_editor
    side = take.with_suffix(".json")
    before = json.loads(side.read_text())
    samples = sf.read(str(take), dtype="int32", always_2d=True)[0]
    assert meta.panel.editors["location.name"].text() == "Old pier"

    with qtbot.waitSignal(meta.metadata_saved, timeout=5000):
        _type_into(qtbot, meta.panel.editors["location.name"], "New pier")
    with qtbot.waitSignal(meta.metadata_saved, timeout=5000):
        _type_into(qtbot, meta.panel.editors["notes"], "heron at 0:01")
    after = json.loads(side.read_text())
    assert after["metadata"]["location"]["name"] == "New pier" and after["metadata"]["notes"] == "heron at 0:01"
    chunks = wav_metadata(take)
    assert chunks["ixml_location"] == "New pier" and chunks["ixml_note"] == "heron at 0:01"
    assert "sNOTE=heron at 0:01" in chunks["bext_description"]
    assert after["file"]["audio_sha256"] == before["file"]["audio_sha256"]  # the audio is untouched
    assert after["file"]["sha256"] != before["file"]["sha256"] and after["file"]["bytes"] == take.stat().st_size
    assert np.array_equal(sf.read(str(take), dtype="int32", always_2d=True)[0], samples)
    assert after["markers"] == before["markers"] and after["analysis"] == before["analysis"]
    assert [p.name for p in take.parent.iterdir() if p.name.startswith(".")] == []  # no temp file left
    qtbot.waitUntil(lambda: window.library.visible_records()[0].location == "New pier", timeout=5000)

    window.park_focus()  # the review has the keys: Ctrl+Z undoes the last edit (the note) on disk
    qtbot.keyClick(window.review, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    undone = json.loads(side.read_text())["metadata"]
    assert undone["notes"] == "first note" and undone["location"]["name"] == "New pier"
    assert wav_metadata(take)["ixml_note"] == "first note"
    assert meta.panel.editors["notes"].toPlainText() == "first note"
    qtbot.keyClick(window.review, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert json.loads(side.read_text())["metadata"]["location"]["name"] == "Old pier"
    assert wav_metadata(take)["ixml_location"] == "Old pier"
    assert meta.panel.editors["location.name"].text() == "Old pier"
    qtbot.mouseClick(window.review.redo_button, Qt.MouseButton.LeftButton)
    assert json.loads(side.read_text())["metadata"]["location"]["name"] == "New pier"
    assert json.loads(side.read_text())["file"]["audio_sha256"] == before["file"]["audio_sha256"]


def _unchanged(take: Path):
    side = take.with_suffix(".json")
    snapshot = (take.read_bytes(), side.read_bytes())
    return lambda: (take.read_bytes(), side.read_bytes()) == snapshot


def test_refused_edits_write_nothing_and_say_why(reviewed, qtbot):
    window, take = reviewed
    meta = window.review.metadata_editor
    lat = meta.panel.editors["location.latitude"]
    same = _unchanged(take)
    with qtbot.waitSignal(meta.panel.metadataRejected, timeout=5000):
        _type_into(qtbot, lat, "999")
    assert "NOT SAVED" in meta.result_label.text() and "latitude" in meta.result_label.text()
    assert meta.result_label.isVisible() and meta.panel.error_labels["location.latitude"].isVisible()
    assert same() and window.review.undo_stack.count() == 0
    _type_into(qtbot, lat, "")  # fixed: nothing to save (the sidecar already has no latitude)
    qtbot.wait(meta.panel.DEBOUNCE_MS + 200)
    assert same()

    take.chmod(0o444)  # an archived take: refused even for root, whom the permission alone would not stop
    try:
        with qtbot.waitSignal(meta.panel.metadataChanged, timeout=5000):
            _type_into(qtbot, meta.panel.editors["scene"], "12")
        assert "NOT SAVED" in meta.message and "read-only" in meta.message and same()
    finally:
        take.chmod(0o644)

    raw = bytearray(take.read_bytes())  # the audio changed outside fieldrec: its hash no longer matches
    raw[read_riff(take).data.body + 10] ^= 0xFF
    take.write_bytes(bytes(raw))
    same = _unchanged(take)
    with qtbot.waitSignal(meta.panel.metadataChanged, timeout=5000):
        _type_into(qtbot, meta.panel.editors["scene"], "13")
    assert "NOT SAVED" in meta.message and "no longer matches" in meta.message and same()
    assert window.review.undo_stack.count() == 0


def test_fieldrec_library_dir_opens_the_window_on_the_library_tab(qapp, tmp_path, recorded, monkeypatch):
    from fieldrec.cli import main
    from fieldrec.gui.main_window import MainWindow

    folder = tmp_path / "day"
    folder.mkdir()
    shutil.copy(recorded, folder / recorded.name)
    shutil.copy(recorded.with_suffix(".json"), folder / recorded.with_suffix(".json").name)
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):
        monkeypatch.setenv(var, str(tmp_path / sub))  # the user's own settings are not touched
    settings = tmp_path / "config" / "fieldrec" / "gui.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"device": "simulated", "out_dir": str(tmp_path / "takes")}))
    monkeypatch.setenv("QT_QPA_PLATFORM", os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    seen = []
    poll = QTimer()

    def look_then_close():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible() and w.frame_count == 0 and w.library.model.rowCount():
                seen.append((w.tabs.currentIndex(), [r.audio for r in w.library.visible_records()], w.recorder))
                poll.stop()
                w.close()

    poll.timeout.connect(look_then_close)
    poll.start(200)
    assert main(["library", str(folder)]) == 0
    assert seen == [(LIBRARY, [folder / recorded.name], None)]  # on the Library tab, the input not opened


def test_a_take_whose_sidecar_cannot_be_read_is_reviewed_but_its_form_is_off(reviewed, qtbot):
    window, take = reviewed
    other = take.with_name("other.wav")
    shutil.copy(take, other)
    other.with_suffix(".json").write_text("{ not json")
    with qtbot.waitSignal(window.review.overview_ready, timeout=30000):
        assert window.review_take(other)
    meta = window.review.metadata_editor
    assert not meta.panel.isEnabled() and meta.message.startswith("cannot edit") and "other.json" in meta.message
    assert other.with_suffix(".json").read_text() == "{ not json"


def test_library_folders_follow_the_output_folder_and_added_ones_are_remembered(make_window, gui_config, qtbot,
                                                                                recorded, tmp_path):
    from fieldrec.gui.config import load_config

    extra = tmp_path / "card"
    extra.mkdir()
    shutil.copy(recorded, extra / recorded.name)
    shutil.copy(recorded.with_suffix(".json"), extra / recorded.with_suffix(".json").name)
    w = make_window(gui_config)
    page = w.tabs.library_page
    assert page.folders() == [Path(gui_config.out_dir)] and not page.reset_button.isEnabled()
    page.add_folders([extra])
    assert [r.audio for r in w.library.visible_records()] == [extra / recorded.name]
    elsewhere = tmp_path / "elsewhere"
    w.folder_edit.setText(str(elsewhere))  # the Live tab's output folder changes: the library follows
    w.folder_edit.editingFinished.emit()
    w.tabs.setCurrentIndex(LIBRARY)
    assert page.folders() == [elsewhere, extra] and str(elsewhere) in page.folders_label.text()
    w.close()
    assert load_config(gui_config.settings_path).library_folders == [str(extra)]  # remembered

    again = make_window(load_config(gui_config.settings_path))
    assert again.tabs.library_page.folders() == [elsewhere, extra]
    assert again.tabs.currentIndex() == LIVE and again.metadata_dock.isVisible()  # closed on Library: dock back
    qtbot.mouseClick(again.tabs.library_page.reset_button, Qt.MouseButton.LeftButton)
    assert again.tabs.library_page.folders() == [elsewhere] and again.library.visible_records() == []
