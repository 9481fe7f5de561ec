"""Markers as cue/labl chunks: read back by wavinfo, audio untouched for soundfile, sox and ffprobe."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wavinfo import WavInfoReader

from fieldrec.storage.cue_chunks import MAX_CUE_FRAME, append_cue_markers
from fieldrec.storage.errors import StorageError
from fieldrec.storage.wav_writer import TakeWriter


def cues(path: Path) -> list[tuple[int, str | None]]:
    reader = WavInfoReader(str(path), info_encoding="utf-8")
    assert reader.cues is not None
    return [(frame, reader.cues.label_and_note(ident)[0]) for ident, frame in reader.cues.each_cue()]


def frames_by_tools(path: Path) -> tuple[int, int, int]:
    sox = int(subprocess.run(["sox", "--i", "-s", str(path)], capture_output=True, text=True, check=True).stdout)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                           capture_output=True, text=True, check=True).stdout
    return sf.info(path).frames, sox, int(json.loads(probe)["streams"][0]["duration_ts"])


@pytest.mark.parametrize(("channels", "subtype", "frames"), [(1, "PCM_24", 1001), (2, "PCM_16", 1000),
                                                             (3, "FLOAT", 777)])
def test_markers_at_close(tmp_path: Path, channels: int, subtype: str, frames: int) -> None:
    path = tmp_path / "take.wav"
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (frames, channels)).astype(np.float32)
    if subtype != "FLOAT":
        x = (x * 30000).astype(np.int16) if subtype == "PCM_16" else (x * 2**30).astype(np.int32) & np.int32(-256)
    with TakeWriter(path, 48000, channels, "wav", subtype) as w:
        w.write(x[:300])
        w.add_marker(500, "woodpecker über dem Tal")
        w.add_marker(100)  # unlabelled
        w.set_info(title="Oak ridge")
        w.write(x[300:])
        w.add_marker(frames - 1, "owl")
    assert cues(path) == [(100, None), (500, "woodpecker über dem Tal"), (frames - 1, "owl")]
    assert frames_by_tools(path) == (frames, frames, frames)
    y, _ = sf.read(path, dtype=x.dtype, always_2d=True)
    np.testing.assert_array_equal(y, x)
    assert WavInfoReader(str(path)).info.title == "Oak ridge"


def test_flac_ignores_markers(tmp_path: Path) -> None:
    path = tmp_path / "take.flac"
    with TakeWriter(path, 48000, 1, "flac", "PCM_16") as w:
        w.write(np.zeros(100, np.int16))
        w.add_marker(10, "x")
    assert sf.info(path).frames == 100


def test_append_to_rf64_updates_ds64(tmp_path: Path) -> None:
    path = tmp_path / "big.wav"
    with sf.SoundFile(path, "w", 48000, 2, "PCM_16", format="RF64") as f:  # RF64 header, no downgrade
        f.write(np.zeros((1000, 2), np.int16))
    assert path.read_bytes()[:4] == b"RF64"
    assert append_cue_markers(path, [(10, "a"), (20, "b"), (MAX_CUE_FRAME + 1, "too late")]) == 2
    assert cues(path) == [(10, "a"), (20, "b")]
    assert frames_by_tools(path) == (1000, 1000, 1000)


def test_append_refuses_what_it_cannot_do_safely(tmp_path: Path) -> None:
    not_wav = tmp_path / "x.wav"
    not_wav.write_bytes(b"ID3 this is an mp3")
    with pytest.raises(StorageError, match="not a WAV file"):
        append_cue_markers(not_wav, [(1, "a")])
    wav = tmp_path / "take.wav"
    with sf.SoundFile(wav, "w", 8000, 1, "PCM_16") as f:
        f.write(np.zeros(10, np.int16))
    before = wav.read_bytes()
    assert append_cue_markers(wav, []) == 0
    assert wav.read_bytes() == before
    with open(wav, "ab") as fh:
        fh.write(b"trailing junk")
    with pytest.raises(StorageError, match="does not match the file"):
        append_cue_markers(wav, [(1, "a")])
    with pytest.raises(StorageError, match="cannot open"):
        append_cue_markers(tmp_path / "missing.wav", [(1, "a")])
