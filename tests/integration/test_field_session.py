"""Pre-roll, triggers and gap-free splitting through the virtual PulseAudio device (fieldrec.session)."""

from __future__ import annotations

import json
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import wavinfo

from fieldrec.analysis.trigger import parse_trigger
from fieldrec.analyze import analyze_file
from fieldrec.library.check import check_paths
from fieldrec.recorder import Recorder, TakeSettings
from fieldrec.session import FieldOptions, FieldSession
from tests.pulse_rig import RATE, find_start, known_signal
from tests.readers import validate_sidecar

pytestmark = [pytest.mark.audio, pytest.mark.slow]


def settings(rig, tmp_path: Path) -> TakeSettings:
    return TakeSettings(device=rig.device_name, samplerate=RATE, channels=2, container="wav", subtype="FLOAT",
                        out_dir=tmp_path)


def takes(folder: Path) -> list[tuple[np.ndarray, dict]]:
    out = []
    docs = [(json.loads(p.read_text()), p) for p in folder.glob("*.json")]
    for doc, side in sorted(docs, key=lambda d: d[0]["recording"]["start_utc"]):
        validate_sidecar(doc)
        data, sr = sf.read(str(side.with_suffix(".wav")), dtype="float32", always_2d=True)
        assert sr == RATE
        out.append((data, doc))
    return out


def wait_until(pred, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_pre_roll_frames_are_what_was_fed_before_the_take_started(pulse_rig, tmp_path):
    sig = known_signal(5.0)
    rec = Recorder(settings(pulse_rig, tmp_path))
    ses = FieldSession(rec, FieldOptions(pre_roll_s=2.0))
    ses.start()
    try:
        feeder = pulse_rig.feed(sig)
        cap = rec.capture
        wait_until(lambda: np.any(cap.ring.latest(4800) != 0), 20)  # the signal has begun to arrive
        time.sleep(1.0)
        wait_until(lambda: cap.ring.write_count - ses._armed_at >= int(2.5 * RATE), 10)  # 2 s exist to keep
        take = ses.record()
        time.sleep(1.5)
        ses.stop()
        feeder.wait(30)
    finally:
        ses.close()
    [(data, doc)] = takes(tmp_path)
    pre = doc["metadata"]["field"]["pre_roll"]
    assert pre["frames"] == 2 * RATE and pre["seconds"] == 2.0 and doc["metadata"]["field"]["started_by"] == "user"
    i = find_start(data, sig)
    assert 0 < i < pre["frames"]  # the signal began inside the pre-roll ...
    assert not np.any(data[:i])  # ... after the rig's silent lead-in
    assert np.array_equal(data[i:], sig[:len(data) - i])  # and the whole file is continuous, sample for sample
    assert doc["audio"]["frames"] == len(data) and take.frames == len(data)
    # the take's live analysis covers the pre-roll too: it agrees with the file measured afterwards
    whole = analyze_file(take.paths.audio)
    for key in ("sample_peak_dbfs", "true_peak_dbtp", "integrated_lufs", "rms_dbfs"):
        assert doc["analysis"][key] == pytest.approx(whole[key], abs=0.01), key
    assert doc["analysis"]["clipped_samples"] == whole["clipped_samples"]


def bursts_signal(n: int, on_s: float, off_s: float) -> tuple[np.ndarray, list[int]]:
    t = np.arange(int(on_s * RATE)) / RATE
    burst = np.repeat((0.3 * np.sin(2 * np.pi * 1000 * t))[:, None], 2, axis=1)
    rng = np.random.default_rng(5)
    parts, onsets, pos = [], [], 0
    for _ in range(n):
        quiet = 1e-3 * rng.standard_normal((int(off_s * RATE), 2))
        parts += [quiet, burst]
        onsets.append(pos + len(quiet))
        pos += len(quiet) + len(burst)
    parts.append(1e-3 * rng.standard_normal((int(off_s * RATE), 2)))
    return np.concatenate(parts).astype(np.float32), onsets


def test_each_tone_burst_triggers_one_take_with_pre_and_post_roll(pulse_rig, tmp_path):
    sig, _onsets = bursts_signal(2, 0.5, 1.5)
    spec = parse_trigger("level:-30dBFS", post_roll_s=0.5, min_trigger_s=0.05)
    rec = Recorder(settings(pulse_rig, tmp_path))
    ses = FieldSession(rec, FieldOptions(pre_roll_s=0.5, trigger=spec))
    ses.start()
    try:
        feeder = pulse_rig.feed(sig)
        feeder.wait(30)
        wait_until(lambda: len(ses.takes) == 2 and rec.take is None, 10)
    finally:
        ses.close()
    got = takes(tmp_path)
    assert len(got) == 2
    thr = np.float32(10 ** (-30 / 20))
    window = int(spec.window_s * RATE)
    for data, doc in got:
        f = doc["metadata"]["field"]
        pre = f["pre_roll"]["frames"]
        assert pre == RATE // 2 and f["started_by"] == "trigger"
        assert f["trigger"]["first_crossing_frame"] == pre
        assert f["trigger"]["level_dbfs"] == pytest.approx(20 * np.log10(0.3), abs=0.1)
        assert f["trigger"]["threshold_dbfs"] == -30.0 and f["trigger"]["detrigger_dbfs"] == -36.0
        loud = np.flatnonzero(np.max(np.abs(data), axis=1) >= thr)
        assert loud[0] == pre  # pre-roll counted back from the first crossing, sample-exact
        assert loud[-1] - loud[0] == pytest.approx(RATE // 2, abs=window)  # the whole burst
        tail = len(data) - 1 - loud[-1]
        assert RATE // 2 <= tail <= RATE // 2 + 2 * window  # the post-roll
        assert doc["recording"]["stop_reason"] == "trigger" and doc["recording"]["stop_detail"] == "post_roll"


def test_a_split_take_is_a_family_whose_files_concatenate_to_the_fed_signal(pulse_rig, tmp_path):
    sig = known_signal(5.0)
    rec = Recorder(settings(pulse_rig, tmp_path))
    ses = FieldSession(rec, FieldOptions(split_s=1.0))
    ses.start()
    try:
        ses.record()
        feeder = pulse_rig.feed(sig)
        feeder.wait(30)
        time.sleep(0.5)
        ses.stop()
    finally:
        ses.close()
    got = takes(tmp_path)
    assert len(got) >= 6
    fams = [doc["metadata"]["field"]["family"] for _, doc in got]
    assert len({f["id"] for f in fams}) == 1
    assert [f["index"] for f in fams] == list(range(1, len(got) + 1))
    assert all(f["total"] == len(got) for f in fams)
    assert [f["first_frame"] for f in fams] == [k * RATE for k in range(len(got))]
    assert all(len(d) == RATE for d, _ in got[:-1])
    whole = np.concatenate([d for d, _ in got])
    i = find_start(whole, sig)
    assert np.array_equal(whole[i:i + len(sig)], sig)  # no frame lost or repeated at any boundary
    assert [doc["recording"]["stop_reason"] for _, doc in got[:-1]] == ["split"] * (len(got) - 1)
    # the chunks link the family too (iXML FILE_SET, HISTORY), and fieldrec check verifies it
    names = [doc["file"]["name"] for _, doc in got]
    for i, name in enumerate(names, start=1):
        info = wavinfo.WavInfoReader(str(tmp_path / name))
        root = ET.fromstring(info.ixml.source)
        assert info.ixml.family_uid == fams[0]["id"]
        assert (root.findtext("FILE_SET/TOTAL_FILES"), root.findtext("FILE_SET/FILE_SET_INDEX")) == (
            str(len(got)), str(i))
        assert root.findtext("HISTORY/ORIGINAL_FILENAME") == name
    assert all(r.ok for r in check_paths([tmp_path]))
    gone = tmp_path / "gone"
    shutil.copytree(tmp_path, gone, ignore=shutil.ignore_patterns("gone", "renamed"))
    for suffix in (".wav", ".json"):
        (gone / names[2]).with_suffix(suffix).unlink()
    lines = [f"{r.path.name}: {p}" for r in check_paths([gone]) for p in r.problems]
    assert lines == [f"{names[1]}: split family {fams[0]['id'][:8]}: file 3 of {len(got)} is missing, the one "
                     f"after {names[1]}"]
    renamed = tmp_path / "renamed"
    shutil.copytree(tmp_path, renamed, ignore=shutil.ignore_patterns("gone", "renamed"))
    for suffix in (".wav", ".json"):
        (renamed / names[1]).with_suffix(suffix).rename(renamed / f"other{suffix}")
    lines = [f"{r.path.name}: {p}" for r in check_paths([renamed]) for p in r.problems]
    assert lines == [f"other.wav: split family {fams[0]['id'][:8]}: file 2 of {len(got)} was recorded as "
                     f"{names[1]}; renamed, the family's names no longer match (rename it back)"]
