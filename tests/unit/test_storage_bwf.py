"""Broadcast WAVE bext chunk and text tags, read back by ffprobe; the audio stays bit-exact."""

import json
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wavinfo import WavInfoReader

from fieldrec.storage.bwf import BroadcastInfo, ascii_text
from fieldrec.storage.errors import StorageError
from fieldrec.storage.wav_writer import TakeWriter

START = datetime(2026, 11, 25, 10, 15, 0, 500000)


def ffprobe_tags(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["format"].get("tags", {})


def test_for_take_time_reference_and_history() -> None:
    b = BroadcastInfo.for_take(START, 48000, 2, "PCM_24", "Oak ridge")
    assert b.time_reference == round(36900.5 * 48000)
    assert b.coding_history == "A=PCM,F=48000,W=24,M=stereo,T=fieldrec"
    assert BroadcastInfo.for_take(START, 96000, 8, "FLOAT").coding_history == "A=PCM,F=96000,W=32,M=8ch,T=fieldrec"
    big = BroadcastInfo("d", "o", "r", START, 2**33 + 5).to_bytes()
    assert len(big) == 864  # sizeof(SF_BROADCAST_INFO) with a 256-byte coding history


def test_bext_and_tags_in_wav(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    bext = BroadcastInfo.for_take(START, 48000, 2, "PCM_24", "Waldrand Süd, dawn chorus",
                                  originator_reference="2026-11-25_101500")
    x = (np.arange(2000, dtype=np.int32).reshape(1000, 2) - 1000) << 8
    with TakeWriter(path, 48000, 2, "wav", "PCM_24", bext=bext) as w:
        w.set_info(title="Waldrand Süd")
        w.write(x[:500])
        w.set_info(artist="A. Recordist")  # after audio: written behind the data at close
        w.write(x[500:])
    tags = ffprobe_tags(path)
    assert tags["comment"] == "Waldrand Sud, dawn chorus"  # bext description, ASCII as EBU 3285 requires
    assert tags["encoded_by"] == "fieldrec"
    assert tags["originator_reference"] == "2026-11-25_101500"
    assert (tags["date"], tags["creation_time"]) == ("2026-11-25", "10:15:00")
    assert int(tags["time_reference"]) == bext.time_reference
    assert tags["coding_history"].startswith("A=PCM,F=48000,W=24,M=stereo,T=fieldrec\r\n")
    assert (tags["title"], tags["artist"]) == ("Waldrand Süd", "A. Recordist")
    y, _ = sf.read(path, dtype="int32")
    np.testing.assert_array_equal(y, x)
    assert int(subprocess.run(["sox", "--i", "-s", str(path)], capture_output=True, text=True,
                              check=True).stdout) == 1000


def test_bext_text_is_ascii_and_cut_to_field_size(tmp_path: Path) -> None:
    assert ascii_text("Waldrand Süd 🐦\tÅngström\x00 ") == "Waldrand Sud Angstrom"
    path = tmp_path / "take.wav"
    bext = BroadcastInfo("ü" * 300, "🐦 fieldrec", "x" * 100, START, 2**33 + 5, "A=PCM,T=" + "y" * 300)
    with TakeWriter(path, 8000, 1, "wav", "PCM_16", bext=bext) as w:
        w.write(np.zeros(10, np.int16))
    tags = ffprobe_tags(path)
    assert tags["comment"] == "u" * 255
    assert tags["encoded_by"] == "fieldrec"
    assert tags["originator_reference"] == "x" * 31
    assert int(tags["time_reference"]) == 2**33 + 5
    # wavinfo decodes bext strictly as ASCII (it raises on UTF-8), so it is an independent check
    read = WavInfoReader(str(path)).bext
    assert (read.description, read.originator, read.time_reference) == ("u" * 255, "fieldrec", 2**33 + 5)
    assert read.coding_history.startswith("A=PCM,T=yyy")


def test_flac_tags_only_before_audio(tmp_path: Path) -> None:
    path = tmp_path / "take.flac"
    with TakeWriter(path, 48000, 2, "flac", "PCM_16") as w:
        w.set_info(title="Oak ridge", comment="dawn")
        w.write(np.zeros((100, 2), np.int16))
        with pytest.raises(StorageError, match="before the first block"):
            w.set_info(title="late")
        with pytest.raises(StorageError, match="unknown tag"):
            w.set_info(colour="red")
    tags = ffprobe_tags(path)
    assert (tags["title"], tags["comment"]) == ("Oak ridge", "dawn")
    with pytest.raises(StorageError, match="already closed"):
        w.set_info(title="x")
