"""The library window on takes recorded in the test: lists, sorts (header click), searches, filters, refreshes
when a take is added, and marks the problems `fieldrec check` reports."""

from __future__ import annotations

import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import soundfile as sf
from PySide6.QtCore import QPoint, Qt

from fieldrec.gui.library import COLUMNS, LibraryWidget
from fieldrec.library.index import load_sidecar, scan
from tests.takes import record_take

DURATION_COL = [c.title for c in COLUMNS].index("Duration")


@pytest.fixture(scope="module")
def takes(tmp_path_factory) -> Path:
    """Three takes in two folders (one nested), of different lengths, places and tags."""
    root = tmp_path_factory.mktemp("library")
    record_take(root, 1.5, location="Oak ridge", tags=("birds", "dawn"), notes="wren close by")
    record_take(root / "day2", 1.0, location="Marsh", tags=("frogs",))
    record_take(root / "day2", 1.25, location="Oak ridge", tags=("birds",))
    return root


@pytest.fixture
def folder(takes, tmp_path) -> Path:
    """A private copy of the takes (tests delete and damage files)."""
    dst = tmp_path / "takes"
    shutil.copytree(takes, dst)
    return dst


def _header_click(qtbot, widget: LibraryWidget, column: int) -> None:
    header = widget.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def test_lists_sorts_searches_and_filters(qtbot, folder):
    w = LibraryWidget([folder], poll_ms=0)
    qtbot.addWidget(w)
    w.resize(1400, 500)
    w.show()
    qtbot.waitExposed(w)
    rows = w.visible_records()
    assert len(rows) == 3 and not any(r.problems for r in rows)
    by_place = sorted((r.location, r.duration_s) for r in rows)
    assert by_place == [("Marsh", 1.0), ("Oak ridge", 1.25), ("Oak ridge", 1.5)]
    for r in rows:  # the row holds what the sidecar and the file say
        side = load_sidecar(r.sidecar)
        assert r.frames == sf.info(str(r.audio)).frames == side["audio"]["frames"]
        assert r.sample_peak_dbfs == side["analysis"]["sample_peak_dbfs"]
        assert r.integrated_lufs == side["analysis"]["integrated_lufs"]

    _header_click(qtbot, w, DURATION_COL)
    first = [r.duration_s for r in w.visible_records()]
    _header_click(qtbot, w, DURATION_COL)
    second = [r.duration_s for r in w.visible_records()]
    assert sorted(first) in (first, first[::-1]) and second == first[::-1] and first != second
    shown = w.table.model().index(0, DURATION_COL).data()  # the view shows the sorted order too
    assert shown == ("0:01.5" if second[0] == 1.5 else "0:01.0")

    qtbot.keyClicks(w.search, "oak WREN")
    assert [r.notes for r in w.visible_records()] == ["wren close by"]
    w.search.clear()
    w.tags.setCurrentIndex(w.tags.findData("birds"))
    assert sorted(r.duration_s for r in w.visible_records()) == [1.25, 1.5]
    w.tags.setCurrentIndex(0)
    w.use_dates.setChecked(True)
    today = rows[0].start.date()
    w.date_from.setDate(today + timedelta(days=1))
    w.date_to.setDate(today + timedelta(days=2))
    assert w.visible_records() == []
    w.date_from.setDate(today)
    w.date_to.setDate(today)
    assert len(w.visible_records()) == 3
    w.use_dates.setChecked(False)
    w.clipped.setCurrentIndex(w.clipped.findText("no"))
    assert {r.key for r in w.visible_records()} == {r.key for r in rows if not r.clipped_samples}
    w.clipped.setCurrentIndex(0)
    w.overflow.setCurrentIndex(w.overflow.findText("yes"))
    assert [r.key for r in w.visible_records()] == [r.key for r in rows if r.overflows]
    w.overflow.setCurrentIndex(0)
    assert "3 of 3 takes" in w.count_label.text()


def test_clipped_take_filtered(qtbot, tmp_path, pulse_rig, monkeypatch):
    """A take of a clipping input (the virtual device) is found by the clipped filter, a clean one is not."""
    # the clean take comes from the simulated source with a seed whose first knock (which clips by design)
    # is 3.96 s in, well after this 1 s take; a clock seed puts it 1-4 s in, sometimes inside the take
    monkeypatch.setenv("FIELDREC_SIM_SEED", "6")
    from tests.pulse_rig import known_signal

    signal = known_signal(6.0)
    signal[::100] = 1.0  # full scale every 100 frames: clipped in a PCM file
    feed = pulse_rig.feed(signal)
    try:
        record_take(tmp_path, 1.0, device=pulse_rig.device_name, location="loud", wait_for_signal=True)
    finally:
        feed.kill()
        feed.wait()
    record_take(tmp_path, 1.0, location="quiet")
    w = LibraryWidget([tmp_path], poll_ms=0)
    qtbot.addWidget(w)
    w.clipped.setCurrentIndex(w.clipped.findText("yes"))
    assert [r.location for r in w.visible_records()] == ["loud"]
    assert w.visible_records()[0].clipped_samples > 0
    w.clipped.setCurrentIndex(w.clipped.findText("no"))
    assert [r.location for r in w.visible_records()] == ["quiet"]


def test_refreshes_when_a_take_is_added(qtbot, folder):
    w = LibraryWidget([folder], poll_ms=0, debounce_ms=50)  # the file-system watcher alone
    qtbot.addWidget(w)
    assert w.model.rowCount() == 3
    with qtbot.waitSignal(w.records_changed, timeout=15000, check_params_cb=lambda n: n == 4):
        record_take(folder / "day2", 1.0, location="Late")
    assert "Late" in {r.location for r in w.visible_records()}


def test_problems_marked(qtbot, folder):
    records = scan([folder])
    gone, grown, flipped = records[0], records[1], records[2]
    gone.audio.unlink()
    with open(grown.audio, "ab") as f:
        f.write(b"\0" * 6)
    data = bytearray(flipped.audio.read_bytes())
    data[-10] ^= 0xFF  # same size, different audio: only the hash can tell
    flipped.audio.write_bytes(bytes(data))
    orphan = folder / "stray.wav"
    sf.write(str(orphan), [[0.0, 0.0]] * 100, 48000)
    (folder / "broken.json").write_text("{not json")
    shutil.copy(orphan, folder / "broken.wav")

    w = LibraryWidget([folder], poll_ms=0)
    qtbot.addWidget(w)
    problems = {r.stem: r.problems for r in w.model.records}
    assert any("missing" in p for p in problems[gone.stem])
    assert any("size mismatch" in p for p in problems[grown.stem])
    assert problems[flipped.stem] == ()
    assert any("no sidecar" in p for p in problems["stray"])
    assert any("unreadable sidecar" in p and "corrupt JSON" in p for p in problems["broken"])
    mark = w.model.index([r.stem for r in w.model.records].index(gone.stem), 0)
    assert mark.data() == "⚠" and "missing" in mark.data(Qt.ItemDataRole.ToolTipRole)

    qtbot.mouseClick(w.verify_button, Qt.MouseButton.LeftButton)
    problems = {r.stem: r.problems for r in w.model.records}
    assert any("hash mismatch" in p for p in problems[flipped.stem])
    w.problems.setCurrentIndex(w.problems.findText("no"))
    assert w.visible_records() == []


def test_frame_mismatch_and_interrupted(tmp_path):
    take = record_take(tmp_path, 1.0, location="cut")
    side = take.with_suffix(".json")
    frames = sf.info(str(take)).frames
    data, sr = sf.read(str(take), dtype="int32")
    sf.write(str(take), data[: frames // 2], sr, subtype="PCM_24")  # half the audio, sidecar unchanged
    (r,) = scan([tmp_path])
    assert any("frame mismatch" in p for p in r.problems) and any("size mismatch" in p for p in r.problems)
    text = side.read_text().replace('"state": "complete"', '"state": "recording"')
    side.write_text(text)
    (r,) = scan([tmp_path])
    assert any("interrupted" in p for p in r.problems)


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        scan([tmp_path / "nowhere"])


def test_index_faults_are_rows_not_crashes(tmp_path):
    from fieldrec.library.index import check_record, record_from_sidecar, verify_hash

    take = record_take(tmp_path, 1.0, location="faults")
    side = take.with_suffix(".json")
    data = load_sidecar(side)
    data["recording"]["start_local"] = "yesterday at dawn"
    data["recording"]["start_utc"] = None
    side.write_text(json.dumps(data))
    (r,) = scan([tmp_path])
    assert r.start is None and r.problems == ()  # an unreadable time sorts last, the take is still listed
    side.unlink()  # removed after it was read: the header is checked instead of the dates
    assert check_record(record_from_sidecar(side, data)).problems == ()
    take.unlink()
    assert any("cannot hash" in p for p in verify_hash(r).problems)
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)  # stat fails with ELOOP, not "missing"
    side.write_text(json.dumps(dict(data, file=dict(data["file"], name="loop.wav"))))
    (r,) = [x for x in scan([tmp_path]) if x.sidecar == side]
    assert any("cannot be read" in p for p in r.problems)
    take.write_bytes(b"RIFF....WAVEjunk" * 10)  # not audio, and newer than its sidecar
    side.write_text(json.dumps(data))
    os.utime(side, (1, 1))
    (r,) = [x for x in scan([tmp_path]) if x.sidecar == side]
    assert any("not readable audio" in p for p in r.problems)
