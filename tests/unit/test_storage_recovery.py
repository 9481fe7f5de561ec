"""recover_take on intact and unreadable files (the kill -9 FLAC case is in tests/integration)."""

from pathlib import Path

import numpy as np
import pytest

from fieldrec.storage.errors import StorageError
from fieldrec.storage.recovery import RecoveredTake, recover_take
from fieldrec.storage.wav_writer import TakeWriter


def test_intact_files_are_left_alone(tmp_path: Path) -> None:
    for ext in ("wav", "flac"):
        path = tmp_path / f"take.{ext}"
        with TakeWriter(path, 48000, 2, ext, "PCM_16") as w:
            w.write(np.ones((1234, 2), np.int16))
        before = path.read_bytes()
        assert recover_take(path) == RecoveredTake(1234, False, f"take.{ext} is intact: 1234 frames")
        assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"not audio at all", b"RIFF\x00\x00"])
def test_unreadable_files_give_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "take.wav"
    path.write_bytes(content)
    with pytest.raises(StorageError, match="cannot be read as audio") as info:
        recover_take(path)
    assert "\n" not in str(info.value)
    with pytest.raises(StorageError, match="cannot be read as audio"):
        recover_take(tmp_path / "missing.wav")
