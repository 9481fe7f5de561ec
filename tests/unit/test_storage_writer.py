"""TakeWriter: every container/subtype round-trips bit-exact, and sox and ffprobe agree on the format."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fieldrec.storage.errors import StorageError
from fieldrec.storage.naming import reserve_take_path
from fieldrec.storage.wav_writer import TakeWriter, capture_dtype

FORMATS = [("wav", "PCM_16"), ("wav", "PCM_24"), ("wav", "PCM_32"), ("wav", "FLOAT"),
           ("flac", "PCM_16"), ("flac", "PCM_24")]


def sox_info(path: Path) -> dict:
    out = {}
    for flag, key in (("-r", "samplerate"), ("-c", "channels"), ("-s", "frames"), ("-b", "bits")):
        proc = subprocess.run(["sox", "--i", flag, str(path)], capture_output=True, text=True, check=True)
        out[key] = int(float(proc.stdout.strip()))
    return out


def ffprobe_info(path: Path) -> dict:
    proc = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                          capture_output=True, text=True, check=True)
    stream = json.loads(proc.stdout)["streams"][0]
    return {"samplerate": int(stream["sample_rate"]), "channels": int(stream["channels"]),
            "frames": int(stream["duration_ts"]), "codec": stream["codec_name"]}


def make_signal(subtype: str, frames: int, channels: int, seed: int = 1) -> np.ndarray:
    """Full-range random samples in the capture dtype, including the extremes."""
    rng = np.random.default_rng(seed)
    dtype = capture_dtype(subtype)
    if dtype == "float32":
        x = rng.uniform(-1.0, 1.0, (frames, channels)).astype(np.float32)
        x[0] = -1.0
        x[1] = 1.5  # floats beyond full scale are stored unchanged
        return x
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, (frames, channels), endpoint=True, dtype=dtype)
    x[0], x[1] = info.min, info.max
    return x


def expected_in_file(x: np.ndarray, subtype: str) -> np.ndarray:
    return x & np.int32(-256) if subtype == "PCM_24" else x  # PCM_24 keeps the top 24 bits


@pytest.mark.parametrize(("container", "subtype"), FORMATS)
def test_round_trip_bit_exact_and_independent_readers(tmp_path: Path, container: str, subtype: str) -> None:
    path = reserve_take_path(tmp_path, "take", container)
    channels, samplerate = 3, 44100
    x = make_signal(subtype, 10007, channels)
    with TakeWriter(path, samplerate, channels, container, subtype) as w:
        for start in range(0, len(x), 1000):  # many blocks, the last one short
            w.write(x[start:start + 1000])
        assert w.frames == len(x)
        assert w.bytes_on_disk() > 0
    w.close()  # idempotent
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (samplerate, channels, len(x), subtype)
    # RF64 with auto-downgrade is read back as a plain WAVE_FORMAT_EXTENSIBLE file
    assert info.format == ("WAVEX" if container == "wav" else "FLAC")
    assert path.read_bytes()[:4] == (b"RIFF" if container == "wav" else b"fLaC")
    y, _ = sf.read(path, dtype=capture_dtype(subtype), always_2d=True)
    np.testing.assert_array_equal(y, expected_in_file(x, subtype))
    assert w.bytes_on_disk() == path.stat().st_size
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32}[subtype]
    assert sox_info(path) == {"samplerate": samplerate, "channels": channels, "frames": len(x), "bits": bits}
    probe = ffprobe_info(path)
    assert (probe["samplerate"], probe["channels"], probe["frames"]) == (samplerate, channels, len(x))
    assert probe["codec"] == ("flac" if container == "flac" else
                              {"PCM_16": "pcm_s16le", "PCM_24": "pcm_s24le", "PCM_32": "pcm_s32le",
                               "FLOAT": "pcm_f32le"}[subtype])


def test_mono_accepts_1d_blocks(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    x = make_signal("PCM_16", 500, 1)[:, 0]
    with TakeWriter(path, 8000, 1, "wav", "PCM_16") as w:
        w.write(x)
    np.testing.assert_array_equal(sf.read(path, dtype="int16")[0], x)


def test_empty_take_is_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    TakeWriter(path, 48000, 2, "wav", "PCM_24").close()
    assert sf.info(path).frames == 0
    assert sox_info(path)["frames"] == 0


def test_capture_dtype() -> None:
    assert [capture_dtype(s) for s in ("PCM_16", "PCM_24", "PCM_32", "FLOAT")] == ["int16", "int32", "int32", "float32"]
    with pytest.raises(StorageError, match="unknown subtype"):
        capture_dtype("PCM_8")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"container": "flac", "subtype": "FLOAT"}, "FLAC cannot store FLOAT"),
    ({"container": "flac", "subtype": "PCM_32"}, "FLAC cannot store PCM_32"),
    ({"container": "mp3", "subtype": "PCM_16"}, "unknown container"),
    ({"container": "wav", "subtype": "DOUBLE"}, "unknown subtype"),
    ({"container": "flac", "subtype": "PCM_16", "channels": 9}, "at most 8 channels"),
    ({"container": "wav", "subtype": "PCM_16", "samplerate": 0}, "must be positive"),
])
def test_bad_settings(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"samplerate": 48000, "channels": 2} | kwargs
    with pytest.raises(StorageError, match=message):
        TakeWriter(tmp_path / "x.wav", **args)
    assert not (tmp_path / "x.wav").exists()


def test_bad_blocks_and_closed_writer(tmp_path: Path) -> None:
    w = TakeWriter(tmp_path / "x.wav", 48000, 2, "wav", "PCM_24")
    with pytest.raises(StorageError, match="dtype float64 does not match subtype PCM_24; capture as int32"):
        w.write(np.zeros((10, 2)))
    with pytest.raises(StorageError, match="does not match 2 channels"):
        w.write(np.zeros((10, 3), np.int32))
    w.write(np.zeros((0, 2), np.int32))
    w.close()
    with pytest.raises(StorageError, match="already closed"):
        w.write(np.zeros((10, 2), np.int32))
    assert w.frames == 0


def test_never_overwrites_a_non_empty_file(tmp_path: Path) -> None:
    precious = tmp_path / "old.wav"
    precious.write_bytes(b"RIFF precious")
    with pytest.raises(StorageError, match="already exists and is not empty"):
        TakeWriter(precious, 48000, 2)
    assert precious.read_bytes() == b"RIFF precious"
    with pytest.raises(StorageError, match="does not exist"):
        TakeWriter(tmp_path / "missing" / "x.wav", 48000, 2)
