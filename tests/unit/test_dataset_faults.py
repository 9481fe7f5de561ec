"""Export faults on purpose: damaged journal entries are redone, a worker's OS error fails its take only,
Dask or pyarrow missing, plain audio files without a sidecar (and one that cannot be measured), a sidecar
of another file, and the --where expressions."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import soundfile as sf

from fieldrec.cli import main
from fieldrec.dataset.select import Filters, Where, select
from fieldrec.dataset.sources import SourceError, load_take
from tests.dataset_takes import write_take

CONVERT = ["--samplerate", "16000", "--channels", "mono", "--workers", "1"]


def export(capsys, *args: str) -> tuple[int, dict, str]:
    capsys.readouterr()
    code = main(["export", *args, "--json"])
    cap = capsys.readouterr()
    return code, json.loads(cap.out), cap.err


def test_damaged_journal_entries_are_redone_to_the_same_bytes(tmp_path, capsys):
    for i in range(3):
        write_take(tmp_path / "src", f"t{i}", seconds=0.5, seed=i)
    out = tmp_path / "ds"
    code, first, _ = export(capsys, str(tmp_path / "src"), "--out", str(out), *CONVERT)
    wavs = {p.name: p.read_bytes() for p in out.rglob("*.wav")}
    entries = sorted((out / ".fieldrec" / "journal").glob("*.json"))
    assert len(entries) == 3
    entries[0].write_text("{ half an entr")
    entries[1].write_text(json.dumps({"status": "done"}))
    code, again, _ = export(capsys, str(tmp_path / "src"), "--out", str(out), *CONVERT)
    assert code == 0 and again["cached_takes"] == 1 and again["exported_takes"] == 3
    assert {p.name: p.read_bytes() for p in out.rglob("*.wav")} == wavs


def test_an_output_file_that_changed_is_redone(tmp_path, capsys):
    write_take(tmp_path / "src", "t", seconds=0.5)
    out = tmp_path / "ds"
    export(capsys, str(tmp_path / "src"), "--out", str(out), *CONVERT, "--split", "train=1")
    wav = out / "train" / "t.wav"
    good = wav.read_bytes()
    wav.write_bytes(good[:-10] + b"\x00" * 10)
    code, summary, _ = export(capsys, str(tmp_path / "src"), "--out", str(out), *CONVERT, "--split", "train=1")
    assert summary["cached_takes"] == 0 and wav.read_bytes() == good


def test_a_worker_error_fails_its_take_and_the_export_goes_on(tmp_path, capsys):
    for i in range(2):
        write_take(tmp_path / "src", f"t{i}", seconds=0.5, seed=i)
    out = tmp_path / "ds"
    out.mkdir()
    (out / "train").write_text("a file where the split folder should be")
    code, summary, err = export(capsys, str(tmp_path / "src"), "--out", str(out), *CONVERT, "--split", "train=1")
    assert code == 1 and summary["problems"] == 2 and summary["outputs"] == 0
    reasons = [r["reason"] for r in summary["rejected"]]
    assert all(r.startswith("failed: ") and "Error" in r for r in reasons), reasons


def test_dask_missing_is_bad_input(tmp_path, capsys, monkeypatch):
    write_take(tmp_path / "src", "t", seconds=0.5)
    monkeypatch.setitem(sys.modules, "distributed", None)
    capsys.readouterr()
    assert main(["export", str(tmp_path / "src"), "--out", str(tmp_path / "ds"), "--dask", "tcp://127.0.0.1:8786"]) == 2
    assert "pip install 'fieldrec[dask]'" in capsys.readouterr().err


def test_without_pyarrow_the_features_table_is_csv_only(tmp_path, capsys, monkeypatch):
    write_take(tmp_path / "src", "t", seconds=0.5)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, summary, _ = export(capsys, str(tmp_path / "src"), "--out", str(tmp_path / "ds"), *CONVERT,
                              "--features", "rms,zcr")
    assert code == 0
    assert (tmp_path / "ds" / "features.csv").exists() and not (tmp_path / "ds" / "features.parquet").exists()


def test_plain_audio_files_are_takes_with_empty_metadata(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    sf.write(src / "other-recorder.wav", rng.uniform(-0.1, 0.1, (24000, 2)), 48000, subtype="PCM_16")
    sf.write(src / "clipped.flac", np.clip(rng.uniform(-2, 2, (24000, 1)), -1, 1), 48000, subtype="PCM_16")
    broken = src / "broken.flac"
    sf.write(broken, rng.uniform(-0.5, 0.5, (480000, 1)), 48000, subtype="PCM_24")
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    code, summary, _ = export(capsys, str(src), "--out", str(tmp_path / "ds"), *CONVERT, "--max-clipped", "0",
                              "--split", "train=1")
    reasons = {r["source"].rsplit("/", 1)[-1]: r["reason"] for r in summary["rejected"]}
    assert "clipped samples, more than 0" in reasons["clipped.flac"]
    assert reasons["broken.flac"].startswith("unreadable: ") and code == 1
    assert summary["outputs"] == 1
    side = json.loads((tmp_path / "ds" / "sidecars" / "train" / "other-recorder.json").read_text())
    assert side["metadata"]["location"]["name"] == "" and side["metadata"]["derived_from"]["source"] == "other-recorder.wav"


def test_a_sidecar_of_another_file_is_refused(tmp_path):
    a = write_take(tmp_path, "a", seconds=0.2, rate=48000)
    b = write_take(tmp_path, "b", seconds=0.2, rate=44100, channels=1)
    shutil.copy(b.with_suffix(".json"), a.with_suffix(".json"))
    try:
        load_take(a)
    except SourceError as err:
        assert "belongs to another file" in str(err)
    else:
        raise AssertionError("a sidecar saying 44100 Hz / 1 ch was accepted for a 48000 Hz / 2 ch file")


def test_where_expressions(tmp_path):
    takes = [load_take(write_take(tmp_path, f"t{i}", seconds=0.2 + 0.1 * i, seed=i, tags=("a", "b") if i else ("c",),
                                  extra={"habitat": ["forest", "Wetland edge", "coast"][i], "wind": i * 5}))
             for i in range(3)]

    def kept(*exprs: str) -> list[str]:
        return [t.take_id for t in select(takes, Filters(where=tuple(Where.parse(e) for e in exprs)))[0]]

    assert kept("habitat = forest") == ["t0"]
    assert kept("habitat ~ wetland") == ["t1"]
    assert kept("wind >= 5", "wind < 10") == ["t1"]
    assert kept("tags == b") == ["t1", "t2"]
    assert kept("duration > 0.35") == ["t2"]
    assert kept("nothing != x") == ["t0", "t1", "t2"]
    assert kept("wind > many") == []


def test_progress_events_arrive_as_each_take_finishes(tmp_path):
    from fieldrec.dataset.params import ConvertParams
    from fieldrec.dataset.pipeline import ExportRequest, run_export

    for i in range(3):
        write_take(tmp_path / "src", f"t{i}", seconds=0.3, seed=i)
    journal = tmp_path / "ds" / ".fieldrec" / "journal"
    seen = []
    summary = run_export(ExportRequest(sources=(str(tmp_path / "src"),), out_dir=str(tmp_path / "ds"),
                                       convert=ConvertParams(samplerate=16000), workers=1),
                         progress=lambda ev: seen.append((ev.done, ev.total, len(list(journal.glob("*.json"))))))
    assert summary.exit_code == 0
    assert seen == [(1, 3, 1), (2, 3, 2), (3, 3, 3)]


def test_the_files_of_one_split_family_are_one_take_for_grouping():
    from fieldrec.dataset.keys import key_value
    from fieldrec.dataset.records import TakeRecord

    def rec(stem: str, family: str | None) -> TakeRecord:
        meta = {"field": {"family": {"id": family, "index": 1}}} if family else {}
        return TakeRecord(stem, f"/t/{stem}.wav", f"/t/{stem}.json", 48000, 2, 48000, "wav", "PCM_24",
                          sidecar={"metadata": meta})

    a, b, c = rec("dawn-1", "F1"), rec("dawn-2", "F1"), rec("dusk", None)
    assert key_value(a, "take") == key_value(b, "take") == "family:F1"
    assert key_value(c, "take") == "dusk"
