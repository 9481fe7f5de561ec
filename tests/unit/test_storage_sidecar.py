"""Sidecar: atomic write, faithful read, one-line errors, and a schema that accepts real sidecars only."""

import copy
import json
import math
from pathlib import Path

import jsonschema
import pytest

from fieldrec.storage.errors import SidecarError
from fieldrec.storage.sidecar import (
    SCHEMA_VERSION,
    load_schema,
    migrate,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

REPO = Path(__file__).resolve().parents[2]


def realistic_v1() -> dict:
    return {
        "schema_version": 1,
        "file": {"name": "2026-11-25_101500_Oak-ridge.wav", "bytes": 34560132, "sha256": "ab" * 32},
        "audio": {"samplerate": 48000, "channels": 2, "container": "wav", "subtype": "PCM_24",
                  "frames": 5760000, "duration_s": 120.0},
        "recording": {
            "state": "complete",
            "start_utc": "2026-11-25T10:15:00.123456Z", "start_local": "2026-11-25T11:15:00.123456+01:00",
            "end_utc": "2026-11-25T10:17:00.123456Z", "end_local": "2026-11-25T11:17:00.123456+01:00",
            "device": {"name": "Zoom F3", "hostapi": "ALSA"}, "blocksize": 0, "latency_s": 0.085,
            "overflows": [{"kind": "input_overflow", "frame": 96000, "time_s": 2.0, "frames_lost": 0},
                          {"kind": "ring_overrun", "frame": 480000, "time_s": 10.0, "frames_lost": 1024}],
            "stop_reason": "user", "stop_detail": None},
        "metadata": {"location": {"name": "Waldrand Süd 🐦", "latitude": 47.3769, "longitude": 8.5417},
                     "equipment": {"recorder": "Zoom F3", "microphone": "2× Clippy EM272"},
                     "notes": "Dawn chorus, light wind.\nRobin close left.", "tags": ["dawn", "robin"],
                     "habitat": "deciduous forest edge"},
        "markers": [{"frame": 240000, "time_s": 5.0, "label": "woodpecker"}],
        "analysis": {"samplerate": 48000, "channels": 2, "duration_s": 120.0, "sample_peak_dbfs": -3.2,
                     "true_peak_dbtp": -3.0, "rms_dbfs": -30.5, "integrated_lufs": -32.1,
                     "momentary_max_lufs": -20.0, "short_term_max_lufs": -25.0, "loudness_range_lu": 8.5,
                     "clipped_samples": 0, "clip_events": 0, "dc_offset": [0.0001, -0.0002],
                     "noise_floor_dbfs": -70.0, "snr_db": None, "spectral_centroid_hz": 2500.0,
                     "peaks": [{"hz": 4000.0, "dbfs": -40.0}],
                     "per_channel": [{"sample_peak_dbfs": -3.2}, {"sample_peak_dbfs": -4.0}]},
        "software": {"name": "fieldrec", "version": "0.1.0"},
    }


def realistic_sidecar() -> dict:
    d = migrate(realistic_v1())
    d["file"]["audio_sha256"] = "cd" * 32
    d["recording"]["uid"] = "0123456789ABCDEF0123456789ABCDEF"
    return d


def recording_sidecar() -> dict:
    d = realistic_sidecar()
    d["file"].update(bytes=0, sha256=None)
    d["audio"].update(frames=0, duration_s=0.0)
    d["recording"].update(state="recording", end_utc=None, end_local=None, stop_reason=None, overflows=[])
    d["analysis"] = None
    d["markers"] = []
    return d


def validator() -> jsonschema.Draft202012Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_copy_in_docs_is_identical() -> None:
    packaged = (REPO / "fieldrec" / "schemas" / "sidecar.schema.json").read_bytes()
    assert (REPO / "docs" / "sidecar.schema.json").read_bytes() == packaged
    assert json.loads(packaged) == load_schema()


def test_schema_accepts_realistic_sidecars() -> None:
    v = validator()
    v.validate(realistic_sidecar())
    v.validate(recording_sidecar())


def _set(d: dict, path: str, value: object) -> dict:
    d = copy.deepcopy(d)
    *parents, last = path.split(".")
    node = d
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return d


@pytest.mark.parametrize(("path", "value"), [
    ("metadata.location.latitude", 91.0),
    ("metadata.location.latitude", "47.3"),
    ("metadata.location.longitude", -180.5),
    ("audio.samplerate", "48000"),
    ("audio.samplerate", 48000.5),
    ("audio.channels", 0),
    ("audio.container", "mp3"),
    ("audio.subtype", "PCM_8"),
    ("audio.frames", -1),
    ("file.sha256", "XYZ"),
    ("file.name", "../x.wav"),
    ("recording.state", "paused"),
    ("recording.start_utc", "yesterday"),
    ("recording.stop_reason", "boredom"),
    ("recording.overflows.0.kind", "hiccup"),
    ("recording.overflows.0.frame", 1.5),
    ("markers", {"frame": 1}),
    ("metadata.tags", "dawn"),
    ("metadata.notes", None),
    ("analysis.integrated_lufs", "loud"),
    ("schema_version", 3),
    ("software.name", "other"),
    ("metadata.take", 0),
    ("metadata.location.source", "dowsing"),
    ("audio", KeyError),
])
def test_schema_rejects_garbage(path: str, value: object) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(_set(realistic_sidecar(), path, value))


def test_write_read_round_trip_and_atomic(tmp_path: Path) -> None:
    audio = tmp_path / "2026-11-25_101500_Süd.wav"
    side = sidecar_path(audio)
    assert side == tmp_path / "2026-11-25_101500_Süd.json"
    data = realistic_sidecar()
    write_sidecar(side, data)
    text = side.read_text(encoding="utf-8")
    assert "Waldrand Süd 🐦" in text and text.startswith("{\n  ")  # readable UTF-8, indented
    assert read_sidecar(side) == data
    data2 = _set(data, "metadata.notes", "second version")
    write_sidecar(side, data2)
    assert read_sidecar(side) == data2
    assert sorted(p.name for p in tmp_path.iterdir()) == [side.name]  # no temp files left


def test_failed_write_keeps_previous_sidecar(tmp_path: Path) -> None:
    side = tmp_path / "take.json"
    write_sidecar(side, realistic_sidecar())
    before = side.read_bytes()
    with pytest.raises(SidecarError, match="null"):
        write_sidecar(side, _set(realistic_sidecar(), "analysis.snr_db", math.nan))
    with pytest.raises(SidecarError, match="cannot be saved as JSON"):
        write_sidecar(side, _set(realistic_sidecar(), "metadata.notes", object()))
    assert side.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["take.json"]
    with pytest.raises(SidecarError, match="writable"):
        write_sidecar(tmp_path / "missing" / "take.json", realistic_sidecar())


@pytest.mark.parametrize(("content", "message"), [
    (None, "not found"),
    (b'{"schema_version": 1, "file": ', "corrupt JSON"),
    (b"", "corrupt JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[1, 2, 3]", "not an object"),
    (b'{"file": {}}', "no integer schema_version"),
    (b'{"schema_version": "1"}', "no integer schema_version"),
    (b'{"schema_version": 7}', "newer than this fieldrec"),
    (b'{"schema_version": 0}', "cannot be upgraded"),
])
def test_read_errors_are_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    side = tmp_path / "take.json"
    if content is not None:
        side.write_bytes(content)
    with pytest.raises(SidecarError, match=message) as info:
        read_sidecar(side)
    assert "\n" not in str(info.value) and str(side) in str(info.value)


def test_migrate_current_version_is_a_copy() -> None:
    data = realistic_sidecar()
    out = migrate(data)
    assert out == data and out is not data
    assert SCHEMA_VERSION == 2


def test_schema_keeps_unknown_keys_of_newer_versions() -> None:
    validator().validate(_set(realistic_sidecar(), "surprise", {"from": "fieldrec 9"}))
    validator().validate(_set(realistic_sidecar(), "metadata.equipment.cable", "XLR 5 m"))
