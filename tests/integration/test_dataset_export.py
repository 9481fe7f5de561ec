"""`fieldrec export` end to end on real takes: the layout loads in Hugging Face `datasets` (3.x, offline),
the Croissant file validates with mlcroissant, hashes match; groups never cross splits and stay put when
takes are added; bad sources are reported and skipped; a SIGKILLed export resumes to the same bytes; a
rerun, a process pool and a Dask cluster give byte-identical outputs."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fieldrec.cli import main
from fieldrec.dataset.splits import unit_hash
from tests.dataset_takes import write_take
from tests.readers import fieldrec_cmd, isolated_env, validate_sidecar

SITES = ["Oak ridge", "Fen", "Beach"]
RECORDERS = ["Zoom F3", "Scarlett 2i2"]
HABITATS = ["forest", "wetland", "coast", "forest"]
CONVERT = ["--samplerate", "16000", "--channels", "mono", "--format", "wav16"]


def make_takes(folder: Path, n: int, first: int = 0) -> list[Path]:
    """``n`` takes of 1 s, 48 kHz stereo 24-bit, spread over sites, days, recorders, sessions and tags."""
    paths = []
    for i in range(first, first + n):
        paths.append(write_take(
            folder / f"session{i % 4}", f"take{i:02d}", seconds=1.0, seed=i, location=SITES[i % 3],
            lat=47.1234567 + i * 0.01, lon=8.5, recorder=RECORDERS[i % 2], tags=("birds" if i % 2 else "wind",),
            extra={"habitat": HABITATS[i % 4]}, start=f"2026-05-{1 + i % 5:02d}T05:00:00"))
    return paths


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("takes")
    make_takes(root, 12)
    return root


def export(capsys, *args: str) -> tuple[int, dict]:
    """``fieldrec export ... --json`` in this process; (exit code, summary)."""
    capsys.readouterr()
    code = main(["export", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def read_rows(out: Path, split: str) -> list[dict]:
    with open(out / split / "metadata.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def all_rows(out: Path) -> dict[str, list[dict]]:
    return {s: read_rows(out, s) for s in ("train", "validation", "test") if (out / s / "metadata.csv").exists()}


def tree(out: Path) -> dict[str, bytes]:
    """Every file of a dataset (not the journal); manifest.json without its export time."""
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not rel.startswith(".fieldrec/"):
            data = p.read_bytes()
            if rel == "manifest.json":
                m = json.loads(data)
                m.pop("export_time_utc")
                data = json.dumps(m, sort_keys=True).encode()
            files[rel] = data
    return files


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_layout_loads_in_datasets_validates_in_croissant_and_hashes_match(tmp_path, sources, capsys):
    src = tmp_path / "src"
    shutil.copytree(sources, src)
    # a take whose name says "test" but whose split (by the seed) is train
    seed = next(s for s in range(100) if unit_hash(s, "mic_test_01") < 0.7)
    write_take(src / "extra", "mic_test_01", seconds=1.0, seed=99, tags=("birds",))
    out = tmp_path / "ds"
    code, summary = export(capsys, str(src), "--out", str(out), *CONVERT, "--segment", "window:500ms",
                           "--features", "all", "--seed", str(seed), "--coordinates", "round:2", "--workers", "1")
    assert code == 0 and summary["outputs"] == 26 and summary["leak_audit"]["clean"]
    rows = all_rows(out)
    assert set(rows) == {"train", "validation", "test"}
    assert {r["take"] for r in rows["train"]} >= {"mic_test_01"}
    assert all(float(r["latitude"]) == round(float(r["latitude"]), 2) for rs in rows.values() for r in rs if r["latitude"])
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    probe = (
        "import json, sys\n"
        "from datasets import Audio, load_dataset\n"
        "a = load_dataset('audiofolder', data_dir=sys.argv[1])\n"
        "b = load_dataset(sys.argv[1])\n"
        "t = a['train'].cast_column('audio', Audio(decode=False))\n"
        "print(json.dumps({'a': {k: v.num_rows for k, v in a.items()}, 'b': {k: v.num_rows for k, v in b.items()},"
        " 'takes': sorted(set(t['take'])), 'first': t[0]['audio']['path']}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(out)], capture_output=True, text=True, env=env,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    want = {s: len(r) for s, r in rows.items()}
    assert got["a"] == want and got["b"] == want
    assert "mic_test_01" in got["takes"] and Path(got["first"]).parent.name == "train"
    # Croissant
    proc = subprocess.run([str(Path(sys.executable).parent / "mlcroissant"), "validate", "--jsonld",
                           str(out / "metadata.json")], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "error" not in proc.stderr.lower()
    croissant = json.loads((out / "metadata.json").read_text())
    objects = {d["contentUrl"]: d["sha256"] for d in croissant["distribution"] if d["@type"] == "cr:FileObject"}
    assert len(objects) == 26 + 3
    assert all(sha(out / rel) == digest for rel, digest in objects.items())
    rates = [f["source"].get("samplingRate") for rs in croissant["recordSet"] for f in rs["field"]
             if f["dataType"] == "sc:AudioObject"]
    assert rates == [16000, 16000, 16000]
    # manifest: every output and layout file with its hash, the source hashes, frames and parameters
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["export_time_utc"].endswith("Z")
    assert len(manifest["outputs"]) == 26
    for o in manifest["outputs"]:
        assert sha(out / o["path"]) == o["sha256"]
        assert sha(Path(o["source_path"])) == o["source_sha256"]
        assert sha(out / o["features_path"]) == o["features_sha256"]
        assert o["segment"]["last_source_frame"] - o["segment"]["first_source_frame"] == 23999
        info = sf.info(out / o["path"])
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 8000, "PCM_16")
        side = json.loads((out / "sidecars" / (o["path"].rsplit(".", 1)[0] + ".json")).read_text())
        validate_sidecar(side)
        assert side["file"]["sha256"] == o["sha256"]
        assert side["metadata"]["derived_from"]["source_sha256"] == o["source_sha256"]
    assert all(sha(out / rel) == digest for rel, digest in manifest["files"].items())
    assert manifest["parameters"]["convert"]["quality"] == "VHQ"
    assert manifest["software"]["soxr"]
    # features: arrays per output, one CSV row (and Parquet row) per output
    with np.load(out / manifest["outputs"][0]["features_path"]) as z:
        assert {"power_spectrum", "magnitude_spectrum", "log_mel", "welch_freqs_hz", "peaks_hz"} <= set(z.files)
    with open(out / "features.csv", newline="") as fh:
        feat = list(csv.DictReader(fh))
    assert len(feat) == 26 and {"centroid_mean_hz", "rms_dbfs", "zcr_mean", "aci", "ndsi", "h_t"} <= set(feat[0])
    import pyarrow.parquet as pq
    assert pq.read_table(out / "features.parquet").num_rows == 26
    card = (out / "README.md").read_text()
    assert card.startswith("---\nconfigs:\n") and "Oak ridge" in card and "47.12" in card and "47.1234567" not in card


def _group(sidecar: dict, key: str, audio: Path) -> str:
    """The group of a take computed from its sidecar JSON, independently of fieldrec.dataset.keys."""
    meta = sidecar["metadata"]
    return {"take": audio.stem, "site": meta["location"]["name"], "session": audio.parent.name,
            "day": sidecar["recording"]["start_local"][:10], "recorder": meta["equipment"]["recorder"],
            "habitat": meta.get("habitat")}[key]


@pytest.mark.parametrize("key", ["take", "site", "session", "day", "recorder", "habitat"])
def test_no_group_in_two_splits(tmp_path, sources, capsys, key):
    out = tmp_path / key
    code, summary = export(capsys, str(sources), "--out", str(out), *CONVERT, "--group-by", key, "--seed", "3",
                           "--workers", "1")
    assert code == 0
    splits_of: dict[str, set] = {}
    for split, rows in all_rows(out).items():
        for r in rows:
            audio = next(sources.rglob(r["source_file"]))
            sidecar = json.loads(audio.with_suffix(".json").read_text())
            splits_of.setdefault(_group(sidecar, key, audio), set()).add(split)
    assert sum(len(r) for r in all_rows(out).values()) == 12
    assert all(len(s) == 1 for s in splits_of.values()), splits_of
    achieved = summary["splits"]["achieved"]
    assert sum(a["groups"] for a in achieved.values()) == len(splits_of)
    assert summary["leak_audit"]["group_overlap"] == []


def test_assignment_is_stable_when_takes_are_added_and_ratios_are_reported(tmp_path, sources, capsys):
    src = tmp_path / "src"
    shutil.copytree(sources, src)
    out = tmp_path / "ds"
    code, first = export(capsys, str(src), "--out", str(out), *CONVERT, "--workers", "1")
    before = {r["take"]: s for s, rows in all_rows(out).items() for r in rows}
    bytes_before = {rel: data for rel, data in tree(out).items() if rel.endswith(".wav")}
    make_takes(src, 8, first=12)
    code, second = export(capsys, str(src), "--out", str(out), *CONVERT, "--workers", "1")
    assert code == 0 and second["cached_takes"] == 12 and second["outputs"] == 20
    after = {r["take"]: s for s, rows in all_rows(out).items() for r in rows}
    assert {t: after[t] for t in before} == before
    assert {rel: data for rel, data in tree(out).items() if rel in bytes_before} == bytes_before
    achieved = second["splits"]["achieved"]
    for split, rows in all_rows(out).items():
        assert achieved[split]["files"] == len(rows)
        assert achieved[split]["seconds"] == pytest.approx(len(rows) * 1.0)
    assert sum(a["fraction_files"] for a in achieved.values()) == pytest.approx(1.0)
    per_label = second["splits"]["per_label"]
    assert set(per_label) == {"birds", "wind"}
    assert sum(v["files"] for lab in per_label.values() for v in lab.values()) == 20


def test_stratified_split_deals_each_label_by_the_ratios(tmp_path, sources, capsys):
    code, summary = export(capsys, str(sources), "--out", str(tmp_path / "ds"), *CONVERT, "--stratify-by", "tag",
                           "--split", "train=0.5,test=0.5", "--workers", "1")
    assert code == 0
    for label, rows in summary["splits"]["per_label"].items():
        assert rows["train"]["files"] == rows["test"]["files"] == 3, (label, rows)
    rows = all_rows(tmp_path / "ds")
    assert set(rows) == {"train", "test"}


def test_the_same_take_twice_is_found_by_the_leak_audit(tmp_path, capsys):
    src = tmp_path / "src"
    original = write_take(src, "dawn", seconds=3.0, seed=5, field_scene=True)
    # copies under other names, in other splits than the original (the group is the take name)
    names = [n for n in (f"copy{i}" for i in range(200)) if (unit_hash(0, n) < 0.5) != (unit_hash(0, "dawn") < 0.5)]
    same = src / f"{names[0]}.wav"
    shutil.copy(original, same)
    shutil.copy(original.with_suffix(".json"), same.with_suffix(".json"))
    data, rate = sf.read(original, dtype="float64")
    write_take(src, names[1], signal=data * 0.9, rate=rate, subtype="PCM_16")  # re-encoded, 1 dB lower
    write_take(src, "other", seconds=3.0, seed=6, field_scene=True)
    code, summary = export(capsys, str(src), "--out", str(tmp_path / "ds"), *CONVERT, "--split", "train=0.5,test=0.5",
                           "--workers", "1")
    audit = summary["leak_audit"]
    assert not audit["clean"]
    assert [(Path(p["a"]).name, Path(p["b"]).name) for p in audit["identical_sources"]] == [
        (f"{names[0]}.wav", "dawn.wav")]
    near = {frozenset((Path(p["a"]).name, Path(p["b"]).name)) for p in audit["near_identical_audio"]}
    assert frozenset((f"{names[1]}.wav", "dawn.wav")) in near
    assert all("other.wav" not in pair for pair in near)


def cli(tmp_path: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(fieldrec_cmd("export", *args), capture_output=True, text=True, timeout=timeout,
                          env=isolated_env(tmp_path))


def test_bad_sources_are_reported_and_skipped(tmp_path, sources):
    src = tmp_path / "src"
    shutil.copytree(sources, src)
    (src / "notes.wav").write_text("this is not audio\n")
    cut = src / "session0" / "take00.wav"
    cut.write_bytes(cut.read_bytes()[:2000])  # truncated: its header declares a second of audio
    (src / "session1" / "take01.json").write_text("{ not json")
    changed = src / "session2" / "take02.wav"
    data = bytearray(changed.read_bytes())
    data[-100] ^= 0xFF  # one sample changed after recording: no longer the audio its sidecar hashed
    changed.write_bytes(bytes(data))
    out = tmp_path / "ds"
    proc = cli(tmp_path, str(src), "--out", str(out), *CONVERT, "--workers", "2")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr
    assert len(lines) == 4 and all(line.startswith("skipped: ") for line in lines)
    for name, words in (("notes.wav", "not an audio file"), ("take00.wav", "truncated"),
                        ("take01.wav", "corrupt JSON"), ("take02.wav", "does not match the SHA-256")):
        assert any(name in line and words in line for line in lines), (name, lines)
    with open(out / "rejected.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 4
    assert sum(len(r) for r in all_rows(out).values()) == 9
    assert "exported 9 of 13 takes" in proc.stdout


def test_killed_export_resumes_to_the_bytes_of_an_uninterrupted_one(tmp_path, sources, capsys):
    args = [str(sources), *CONVERT, "--segment", "window:500ms", "--features", "all", "--name", "birds"]
    whole = tmp_path / "whole"
    code, _ = export(capsys, *args, "--out", str(whole), "--workers", "2")
    assert code == 0
    killed = tmp_path / "killed"
    proc = subprocess.Popen(fieldrec_cmd("export", *args, "--out", str(killed), "--workers", "1"),
                            env=isolated_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = killed / ".fieldrec" / "journal"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(journal.glob("*.json"))) < 4 and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(journal.glob("*.json")))
    assert 4 <= done < 12, f"the export was not killed mid-way ({done} takes journalled)"
    assert not (killed / "manifest.json").exists()
    code, summary = export(capsys, *args, "--out", str(killed), "--workers", "1")
    assert code == 0 and summary["cached_takes"] == done
    assert tree(killed) == tree(whole)
    # and a plain rerun: nothing redone, every byte the same
    code, summary = export(capsys, *args, "--out", str(killed), "--workers", "1")
    assert summary["cached_takes"] == 12 and tree(killed) == tree(whole)


def test_dask_cluster_gives_the_outputs_of_a_local_run(tmp_path, sources, capsys):
    from distributed import LocalCluster

    args = [str(sources), *CONVERT, "--segment", "window:500ms", "--features", "rms,centroid,log_mel",
            "--name", "birds"]
    code, _ = export(capsys, *args, "--out", str(tmp_path / "local"), "--workers", "1")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        code, summary = export(capsys, *args, "--out", str(tmp_path / "dask"), "--dask", cluster.scheduler_address)
    assert code == 0 and summary["executor"].startswith("dask")
    assert tree(tmp_path / "dask") == tree(tmp_path / "local")


def test_bad_input_is_one_line_and_exit_2(tmp_path, sources, capsys):
    proc = cli(tmp_path, str(tmp_path / "nowhere"), "--out", str(tmp_path / "ds"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr, proc.stderr
    for args, words in (
        ([str(sources), "--split", "train=0.5,test=0.2"], "add up to 1"),
        ([str(sources), "--format", "mp3"], "unknown format"),
        ([str(sources), "--segment", "window:soon"], "cannot read the duration"),
        ([str(sources), "--where", "habitat"], "--where must be"),
        ([str(sources), "--features", "mfcc"], "unknown feature 'mfcc'"),
        ([str(sources), "--dask", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    ):
        capsys.readouterr()
        assert main(["export", *args, "--out", str(tmp_path / "ds")]) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, (args, err)


def test_dry_run_prints_the_plan_and_why_takes_are_left_out(tmp_path, sources):
    proc = cli(tmp_path, str(sources), "--out", str(tmp_path / "ds"), "--dry-run", "--tag", "birds",
               "--where", "habitat == forest", "--from", "2026-05-02", "--bbox", "47,8,47.2,9")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "ds").exists()
    out = proc.stdout
    assert "tag 'birds' missing" in out and "--where habitat == forest is false" in out
    assert "before 2026-05-02" in out and "outside the box" in out
    kept = [i for i in range(12) if i % 2 and HABITATS[i % 4] == "forest" and 1 + i % 5 >= 2 and i * 0.01 < 0.0765]
    assert f"{len(kept)} would be exported" in out
    proc = cli(tmp_path, str(sources), "--out", str(tmp_path / "ds"), "--dry-run", "--min-snr", "60",
               "--max-clipped", "0")
    assert "0 would be exported" in proc.stdout and "below 60 dB" in proc.stdout


def test_a_split_left_empty_by_too_few_groups_is_a_warning(tmp_path, sources, capsys):
    # two recorders are two groups: three splits cannot all get one, and the user is told which stay empty
    out = tmp_path / "ds"
    capsys.readouterr()
    code = main(["export", str(sources), "--out", str(out), *CONVERT, "--group-by", "recorder", "--workers", "1"])
    said = capsys.readouterr()
    assert code == 0
    rows = {line.split()[0]: int(line.split()[3]) for line in said.out.splitlines() if line.startswith("  ")}
    assert set(rows) == {"train", "validation", "test"} and sum(rows.values()) == 12
    empty = [name for name, files in rows.items() if files == 0]
    assert empty  # two groups, three splits
    warning = [line for line in said.err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "the 2 group(s) of --group-by recorder" in warning[0]
    assert all(name in warning[0] for name in empty)
    assert not [name for name in rows if name not in empty and name in warning[0].split(":")[1]]
    # with a group per take nothing is empty, and nothing is said
    main(["export", str(sources), "--out", str(tmp_path / "by-take"), *CONVERT, "--workers", "1"])
    assert "warning" not in capsys.readouterr().err
