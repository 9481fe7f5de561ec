"""fieldrec check on split families (the files of one `record --split` take), built with the take's own writer,
sidecar and chunk code, and the iXML FILE_SET/HISTORY that link them, read by wavinfo and the XML parser.
The same families made by a real session through the virtual device: tests/integration/test_field_session.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import wavinfo

from fieldrec.cli import main
from fieldrec.library.check import check_paths
from fieldrec.metadata import finish_sidecar, new_sidecar
from fieldrec.storage.sidecar import read_sidecar_model, write_sidecar
from fieldrec.storage.take_file import finalise_file, rewrite_take
from fieldrec.storage.wav_writer import TakeWriter

START = datetime(2026, 11, 25, 5, 15, tzinfo=UTC)
FAMILY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def member(folder: Path, index: int, total: int | None, first_frame: int, frames: int = 4800,
           rate: int = 48000, family: str = FAMILY) -> Path:
    path = folder / f"fam_{index:04d}.wav"
    with TakeWriter(path, rate, 2, "wav", "PCM_16") as w:
        w.write(np.full((frames, 2), index, dtype=np.int16))
    fam = {"id": family, "index": index, "first_frame": first_frame, "split_frames": 4800}
    if total is not None:
        fam["total"] = total
    sc = new_sidecar(file_name=path.name, samplerate=rate, channels=2, container="wav", subtype="PCM_16",
                     start=START, metadata={"field": {"family": fam}})
    sc = finish_sidecar(sc, frames=frames, stop_reason="split" if index != total else "user", end=START)
    sc, warning = finalise_file(path, sc)
    assert warning is None
    write_sidecar(path.with_suffix(".json"), sc)
    return path


def family(folder: Path, n: int = 3) -> list[Path]:
    return [member(folder, i, n, (i - 1) * 4800) for i in range(1, n + 1)]


def problems(folder: Path) -> list[str]:
    return [f"{r.path.name}: {p}" for r in check_paths([folder]) for p in r.problems]


def check_cli(folder: Path, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check", str(folder)])
    return code, capsys.readouterr().out.splitlines()


def test_a_whole_family_checks_ok_and_its_ixml_links_it(tmp_path, capsys):
    files = family(tmp_path)
    code, lines = check_cli(tmp_path, capsys)
    assert code == 0 and lines == [f"ok: {f}" for f in files]
    for i, f in enumerate(files, start=1):
        info = wavinfo.WavInfoReader(str(f))
        assert info.ixml.family_uid == FAMILY
        root = ET.fromstring(info.ixml.source)
        assert root.findtext("FILE_SET/TOTAL_FILES") == "3"
        assert root.findtext("FILE_SET/FILE_SET_INDEX") == str(i)
        assert root.findtext("HISTORY/ORIGINAL_FILENAME") == f.name
        assert root.find("HISTORY/PARENT_UID") is None  # a split file is not derived from another file


def test_a_take_that_is_not_split_has_no_file_set(tmp_path):
    path = member(tmp_path, 1, 1, 0)
    sc = read_sidecar_model(path.with_suffix(".json"))
    del sc.metadata.model_extra["field"]
    sc = rewrite_take(path, sc)
    write_sidecar(path.with_suffix(".json"), sc.to_json())
    root = ET.fromstring(wavinfo.WavInfoReader(str(path)).ixml.source)
    # nor HISTORY: a plain take's chunks are as before HISTORY was written, so older takes still check clean
    assert root.find("FILE_SET") is None and root.find("HISTORY") is None
    assert [r.problems for r in check_paths([path])] == [[]]


def test_a_deleted_member_is_one_line_and_exit_1(tmp_path, capsys):
    files = family(tmp_path, 4)
    files[1].unlink()
    files[1].with_suffix(".json").unlink()
    code, lines = check_cli(tmp_path, capsys)
    assert code == 1
    assert [x for x in lines if x.startswith("problem:")] == [
        f"problem: {files[0]}: split family 0f1e2d3c: file 2 of 4 is missing, the one after fam_0001.wav"]


def test_a_member_whose_audio_is_gone_is_named(tmp_path):
    files = family(tmp_path)
    files[2].unlink()
    assert problems(tmp_path) == ["fam_0003.json: orphaned sidecar: its audio file is missing",
                                  "fam_0002.wav: split family 0f1e2d3c: file 3 of 3 (fam_0003.wav) is missing, "
                                  "the one after fam_0002.wav"]


def test_a_renamed_member_is_reported(tmp_path):
    files = family(tmp_path)
    for suffix in (".wav", ".json"):
        files[1].with_suffix(suffix).rename(tmp_path / f"renamed{suffix}")
    assert problems(tmp_path) == [
        "renamed.wav: split family 0f1e2d3c: file 2 of 3 was recorded as fam_0002.wav; renamed, the family's "
        "names no longer match (rename it back)"]


@pytest.mark.parametrize("first, what", [(4800 + 4900, "a gap of 100 frames"), (4800 + 4700, "an overlap of 100 frames")])
def test_a_gap_or_an_overlap_between_files_is_reported(tmp_path, first, what):
    member(tmp_path, 1, 3, 0)
    member(tmp_path, 2, 3, 4800)
    member(tmp_path, 3, 3, first)
    assert problems(tmp_path) == [f"fam_0003.wav: split family 0f1e2d3c: file 3 of 3 starts at frame {first} of "
                                  f"the take, file 2 ends at 9600: {what}"]


def test_a_member_in_another_format_is_reported(tmp_path):
    member(tmp_path, 1, 3, 0)
    member(tmp_path, 2, 3, 4800, rate=44100)
    member(tmp_path, 3, 3, 9600)
    assert problems(tmp_path) == ["fam_0002.wav: split family 0f1e2d3c: file 2 of 3 is 44100 Hz / 2 ch / wav "
                                  "PCM_16, the family is 48000 Hz / 2 ch / wav PCM_16"]


def test_an_index_given_twice_and_totals_that_disagree_are_reported(tmp_path):
    family(tmp_path)
    (tmp_path / "copy").mkdir()
    member(tmp_path / "copy", 3, 4, 9600)  # another file 3, and it says the family has 4
    assert problems(tmp_path) == [
        "fam_0001.wav: split family 0f1e2d3c: its files disagree on how many files it has (3, 4)",
        "fam_0003.wav: split family 0f1e2d3c: two files say they are file 3: fam_0003.wav and this one",
        "fam_0003.wav: split family 0f1e2d3c: file 4 of 4 is missing, the one after fam_0003.wav",
    ]


def test_a_family_field_that_is_not_a_number_and_an_unreadable_sidecar(tmp_path):
    bad = member(tmp_path, 1, 1, 0)
    sc = read_sidecar_model(bad.with_suffix(".json"))
    sc.metadata.model_extra["field"]["family"]["index"] = "first"
    sc = rewrite_take(bad, sc)
    write_sidecar(bad.with_suffix(".json"), sc)
    (tmp_path / "junk.wav").write_bytes(b"")
    (tmp_path / "junk.json").write_text("{")  # check_take reports it; the family pass skips it
    got = problems(tmp_path)
    assert "fam_0001.wav: split family 0f1e2d3c: its sidecar's family index or first frame is not a number" in got
    junk = [p for p in got if p.startswith("junk.wav")]
    assert len(junk) == 1 and "corrupt JSON" in junk[0] and "split family" not in junk[0]
