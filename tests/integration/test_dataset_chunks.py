"""The metadata chunks of exported files, read by independent readers (wavinfo, guano-py, ffprobe), and the
byte-identity of reruns; and sources without a fieldrec sidecar whose embedded metadata (GUANO written by
guano-py, bext written by ffmpeg) reaches the export through the import reader."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import guano
import numpy as np
import pytest
import soundfile as sf
import wavinfo

from fieldrec.cli import main
from fieldrec.dataset.sources import load_take
from tests.dataset_takes import write_take
from tests.readers import validate_sidecar

CONVERT = ["--samplerate", "16000", "--channels", "mono", "--format", "wav16", "--split", "train=1",
           "--features", "none", "--workers", "1"]
SRC_START = "2026-05-01T05:00:00"  # local, +02:00 (tests/dataset_takes.py)


def export(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["export", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ffprobe_tags(path: Path) -> dict:
    proc = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)["format"].get("tags", {})


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One 3 s take (48 kHz stereo 24-bit) with location, equipment and a marker at 1.5 s, exported twice
    to 16 kHz mono 16-bit 1 s windows."""
    root = tmp_path_factory.mktemp("chunks")
    write_take(root / "src", "dawn", seconds=3.0, seed=3, location="Oak ridge", lat=47.1234567, lon=8.5432101,
               recorder="Zoom F3", markers=((72000, "owl"),),
               extra={"equipment": {"recorder": "Zoom F3", "make": "Zoom", "model": "F3", "serial": "Z9",
                                    "microphone": "2x LOM Usi"},
                      "location": {"name": "Oak ridge", "latitude": 47.1234567, "longitude": 8.5432101,
                                   "elevation_m": 512.0}})
    source_sidecar = json.loads((root / "src" / "dawn.json").read_text())
    runs = []
    for name in ("one", "two"):
        out = root / name
        with contextlib.redirect_stdout(io.StringIO()) as buf:
            code = main(["export", str(root / "src"), "--out", str(out), *CONVERT, "--segment", "window:1s",
                         "--name", "dawn", "--json"])
        assert code == 0, buf.getvalue()
        runs.append(out)
    return runs, source_sidecar


def test_a_rerun_is_byte_identical_in_every_audio_file_and_sidecar(exported):
    (one, two), _ = exported
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file() and ".fieldrec" not in p.parts
                   and p.name != "manifest.json")
    assert len([f for f in files if f.suffix == ".wav"]) == 3
    for rel in files:
        assert sha(one / rel) == sha(two / rel), rel
    m1, m2 = (json.loads((d / "manifest.json").read_text()) for d in (one, two))
    assert [o["sha256"] for o in m1["outputs"]] == [o["sha256"] for o in m2["outputs"]]
    for o in m1["outputs"]:
        assert sha(one / o["path"]) == o["sha256"]


def test_wavinfo_reads_the_segments_bext_and_ixml(exported):
    (one, _), source = exported
    manifest = json.loads((one / "manifest.json").read_text())
    o = next(o for o in manifest["outputs"] if o["segment"]["index"] == 1)
    first = o["segment"]["first_source_frame"]
    assert first == 48000
    info = wavinfo.WavInfoReader(str(one / o["path"]))
    b = info.bext
    src_ref = 5 * 3600 * 48000  # the source starts at 05:00:00 local
    assert b.time_reference == (src_ref + first) * 16000 // 48000 == (5 * 3600 + 1) * 16000
    assert (b.originator_date, b.originator_time) == ("2026-05-01", "05:00:01")
    side = json.loads((one / "sidecars" / (o["path"].rsplit(".", 1)[0] + ".json")).read_text())
    validate_sidecar(side)
    assert b.originator_ref == side["recording"]["uid"] != source["recording"].get("uid")
    assert b.coding_history.startswith("A=PCM,F=16000,W=16,M=mono,T=fieldrec ")
    root = ET.fromstring(info.ixml.source)
    assert root.findtext("LOCATION/LOCATION_NAME") == "Oak ridge"
    assert root.findtext("LOCATION/LOCATION_GPS") == "47.1234567, 8.5432101"
    assert root.findtext("LOCATION/LOCATION_ALTITUDE") == "512"
    assert root.findtext("FILE_UID") == side["recording"]["uid"]
    assert root.findtext("HISTORY/ORIGINAL_FILENAME") == Path(o["path"]).name
    assert root.findtext("HISTORY/PARENT_FILENAME") == "dawn.wav"
    assert root.findtext("SPEED/FILE_SAMPLE_RATE") == "16000"
    lo, hi = int(root.findtext("SPEED/TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO")), int(
        root.findtext("SPEED/TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI"))
    assert (hi << 32) + lo == b.time_reference
    # the marker at 1.5 s of the source is at 0.5 s of the second window, at 16 kHz
    assert [(c.name, c.sample_offset) for c in info.cues.cues] == [(1, 8000)]
    assert {lab.name: lab.text for lab in info.cues.labels} == {1: "owl"}
    assert side["markers"] == [{"frame": 8000, "time_s": 0.5, "label": "owl", "length_frames": 0}]
    assert side["file"]["chunks"] == ["cue ", "LIST/adtl", "LIST/INFO", "bext", "iXML", "guan"]


def test_guano_reads_location_equipment_and_the_segments_timestamp(exported):
    (one, _), _ = exported
    manifest = json.loads((one / "manifest.json").read_text())
    o = next(o for o in manifest["outputs"] if o["segment"]["index"] == 2)
    g = guano.GuanoFile(str(one / o["path"]))  # a plain 16-bit PCM WAV: guano-py opens it itself
    assert g["Loc Position"] == pytest.approx((47.1234567, 8.5432101))
    assert g["Loc Elevation"] == pytest.approx(512.0)
    assert (g["Make"], g["Model"], g["Serial"]) == ("Zoom", "F3", "Z9")
    assert g["Timestamp"] == datetime(2026, 5, 1, 5, 0, 2, tzinfo=timezone(timedelta(hours=2)))
    assert g["Samplerate"] == 16000 and float(g["Length"]) == pytest.approx(1.0)
    assert g["Original Filename"] == Path(o["path"]).name
    assert g["fieldrec|Location"] == "Oak ridge" and g["fieldrec|Microphone"] == "2x LOM Usi"


def test_ffprobe_reads_the_segments_time_reference(exported):
    (one, _), _ = exported
    manifest = json.loads((one / "manifest.json").read_text())
    o = next(o for o in manifest["outputs"] if o["segment"]["index"] == 2)
    tags = ffprobe_tags(one / o["path"])
    assert int(tags["time_reference"]) == (5 * 3600 + 2) * 16000
    assert tags["date"] == "2026-05-01" and tags["encoded_by"] == "fieldrec"


def test_flac_outputs_carry_their_metadata_in_the_sidecar(tmp_path, capsys):
    write_take(tmp_path / "src", "t", seconds=1.0, location="Fen", lat=52.1, lon=0.2)
    code, _ = export(capsys, str(tmp_path / "src"), "--out", str(tmp_path / "ds"), "--samplerate", "16000",
                     "--channels", "mono", "--format", "flac16", "--split", "train=1", "--features", "none")
    assert code == 0
    side = json.loads((tmp_path / "ds" / "sidecars" / "train" / "t.json").read_text())
    validate_sidecar(side)
    assert side["file"]["chunks"] == [] and side["file"]["sha256"] == sha(tmp_path / "ds" / "train" / "t.flac")
    assert side["metadata"]["location"]["name"] == "Fen" and side["recording"]["time_reference"] == 5 * 3600 * 16000


# ------------------------------------------------------------------------ sources without a sidecar
def test_guano_of_another_recorder_reaches_the_export(tmp_path, capsys):
    """An SM4-like file: a plain WAV whose only metadata is a GUANO chunk written by guano-py."""
    src = tmp_path / "src"
    src.mkdir()
    path = src / "SM4_20260501_050000.wav"
    rng = np.random.default_rng(1)
    sf.write(path, rng.uniform(-0.1, 0.1, (96000, 1)), 48000, subtype="PCM_16")
    g = guano.GuanoFile(str(path))
    g["Make"], g["Model"], g["Serial"] = "Wildlife Acoustics", "SM4", "S4U01234"
    g["Loc Position"] = (51.5074, -0.1278)
    g["Loc Elevation"] = 35.0
    g["Timestamp"] = datetime(2026, 5, 1, 5, 0, 0, tzinfo=UTC)
    g.write(make_backup=False)
    code, summary = export(capsys, str(src), "--out", str(tmp_path / "ds"), *CONVERT, "--segment", "window:1s")
    assert code == 0 and summary["outputs"] == 2
    side = json.loads((tmp_path / "ds" / "sidecars" / "train" / f"{path.stem}_0001.json").read_text())
    validate_sidecar(side)
    loc, eq = side["metadata"]["location"], side["metadata"]["equipment"]
    assert (loc["latitude"], loc["longitude"], loc["source"]) == (51.5074, -0.1278, "imported")
    assert (eq["make"], eq["model"], eq["serial"]) == ("Wildlife Acoustics", "SM4", "S4U01234")
    out = guano.GuanoFile(str(tmp_path / "ds" / "train" / f"{path.stem}_0001.wav"))
    assert out["Loc Position"] == pytest.approx((51.5074, -0.1278)) and out["Model"] == "SM4"
    assert out["Timestamp"] == datetime(2026, 5, 1, 5, 0, 1, tzinfo=UTC)


def test_bext_of_another_recorder_reaches_the_export(tmp_path, capsys):
    """A BWF written by ffmpeg: bext description, originator reference, date and time reference."""
    src = tmp_path / "src"
    src.mkdir()
    plain = tmp_path / "plain.wav"
    sf.write(plain, np.random.default_rng(2).uniform(-0.1, 0.1, (96000, 2)), 48000, subtype="PCM_24")
    bwf = src / "F8_T001.wav"
    ref = 6 * 3600 * 48000 + 123
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(plain), "-c", "copy", "-write_bext", "1",
                    "-metadata", "description=sSCENE=12A\r\nsTAKE=001\r\nsNOTE=dawn at the pond\r\n",
                    "-metadata", "originator=Zaxcom", "-metadata", "originator_reference=ZAX0001F8T001",
                    "-metadata", "origination_date=2026-05-03", "-metadata", "origination_time=06:00:00",
                    "-metadata", f"time_reference={ref}", str(bwf)], check=True)
    code, summary = export(capsys, str(src), "--out", str(tmp_path / "ds"), *CONVERT, "--segment", "window:1s")
    assert code == 0 and summary["outputs"] == 2
    side = json.loads((tmp_path / "ds" / "sidecars" / "train" / "F8_T001_0001.json").read_text())
    assert side["metadata"]["scene"] == "12A" and side["metadata"]["take"] == 1
    assert side["metadata"]["notes"] == "dawn at the pond"
    assert side["metadata"]["derived_from"]["parent_uid"] == "ZAX0001F8T001"
    info = wavinfo.WavInfoReader(str(tmp_path / "ds" / "train" / "F8_T001_0001.wav"))
    # the source's time reference plus the first frame (48000), at 16 kHz, rounded to the nearest sample
    assert info.bext.time_reference == round((ref + 48000) / 3)
    assert info.bext.originator_date == "2026-05-03"
    root = ET.fromstring(info.ixml.source)
    assert root.findtext("HISTORY/PARENT_UID") == "ZAX0001F8T001"
    assert root.findtext("HISTORY/PARENT_FILENAME") == "F8_T001.wav" and root.findtext("SCENE") == "12A"


def test_a_source_whose_chunks_cannot_be_walked_is_exported_with_empty_metadata(tmp_path, capsys):
    """A big-endian RIFX WAV: libsndfile reads its audio, the RIFF chunk walk does not; the export goes on
    and says why the metadata is empty."""
    src = tmp_path / "src"
    src.mkdir()
    sf.write(src / "rifx.wav", np.zeros((16000, 1)), 16000, subtype="PCM_16", endian="BIG")
    assert (src / "rifx.wav").read_bytes()[:4] == b"RIFX"
    code, summary = export(capsys, str(src), "--out", str(tmp_path / "ds"), *CONVERT)
    assert code == 0 and summary["outputs"] == 1
    side = json.loads((tmp_path / "ds" / "sidecars" / "train" / "rifx.json").read_text())
    assert side["metadata"]["location"]["name"] == "" and side["recording"]["stop_reason"] == "imported"
    assert side["file"]["chunks"][-1] == "guan"
    assert "not a WAVE file" in load_take(src / "rifx.wav").sidecar["imported"]["problems"][0]


def test_channel_names_follow_the_channels_of_each_output(tmp_path, capsys):
    """--channels split: each file is one source channel, named as it was; a mono mix names no channel."""
    chans = [{"index": 1, "name": "L", "function": "LEFT"}, {"index": 2, "name": "R", "function": "RIGHT"}]
    write_take(tmp_path / "src", "st", seconds=1.0, extra={"equipment": {"channels": chans}})
    common = ["--samplerate", "16000", "--format", "wav16", "--split", "train=1", "--features", "none"]
    code, _ = export(capsys, str(tmp_path / "src"), "--out", str(tmp_path / "split"), "--channels", "split", *common)
    assert code == 0
    for ch, name in ((1, "L"), (2, "R")):
        root = ET.fromstring(wavinfo.WavInfoReader(str(tmp_path / "split" / "train" / f"st_ch{ch}.wav")).ixml.source)
        assert root.findtext("TRACK_LIST/TRACK_COUNT") == "1"
        assert [t.findtext("NAME") for t in root.iterfind("TRACK_LIST/TRACK")] == [name]
    code, _ = export(capsys, str(tmp_path / "src"), "--out", str(tmp_path / "mono"), "--channels", "mono", *common)
    info = wavinfo.WavInfoReader(str(tmp_path / "mono" / "train" / "st.wav"))
    assert [t.findtext("NAME") for t in ET.fromstring(info.ixml.source).iterfind("TRACK_LIST/TRACK")] == [""]
    assert "sTRK1=" not in info.bext.description


def test_a_segment_of_a_split_file_is_not_a_member_of_its_family(tmp_path, capsys):
    fam = {"id": "ab" * 16, "index": 2, "first_frame": 48000, "split_frames": 48000, "total": 3}
    write_take(tmp_path / "src", "fam_0002", seconds=1.0, extra={"field": {"family": fam, "started_by": "user"}})
    code, _ = export(capsys, str(tmp_path / "src"), "--out", str(tmp_path / "ds"), *CONVERT)
    assert code == 0
    side = json.loads((tmp_path / "ds" / "sidecars" / "train" / "fam_0002.json").read_text())
    assert side["metadata"]["derived_from"]["source_family"] == fam
    assert side["metadata"]["field"] == {"started_by": "user"}
    root = ET.fromstring(wavinfo.WavInfoReader(str(tmp_path / "ds" / "train" / "fam_0002.wav")).ixml.source)
    assert root.find("FILE_SET") is None and root.findtext("HISTORY/PARENT_FILENAME") == "fam_0002.wav"
