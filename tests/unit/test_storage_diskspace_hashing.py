"""Disk-space arithmetic and SHA-256, checked against the file system and the sha256sum tool."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fieldrec.storage.diskspace import LOW_SPACE_SECONDS, bytes_per_second, free_bytes, seconds_left
from fieldrec.storage.errors import StorageError
from fieldrec.storage.hashing import sha256_file


@pytest.mark.parametrize(("subtype", "expected"), [("PCM_16", 192000), ("PCM_24", 288000),
                                                    ("PCM_32", 384000), ("FLOAT", 384000)])
def test_bytes_per_second(subtype: str, expected: int) -> None:
    assert bytes_per_second(48000, 2, subtype) == expected


def test_bytes_per_second_unknown_subtype() -> None:
    with pytest.raises(StorageError, match="unknown subtype 'MP3'"):
        bytes_per_second(48000, 2, "MP3")


def test_free_bytes_matches_statvfs_and_shutil(tmp_path: Path) -> None:
    st = os.statvfs(tmp_path)  # other processes write meanwhile: compare within 64 MiB
    assert abs(free_bytes(tmp_path) - st.f_bavail * st.f_frsize) < 64 * 1024 * 1024
    assert abs(free_bytes(tmp_path) - shutil.disk_usage(tmp_path).free) < 64 * 1024 * 1024
    left = seconds_left(tmp_path, 288000)
    assert left == pytest.approx(free_bytes(tmp_path) / 288000, rel=0.01)
    assert left > 0
    assert LOW_SPACE_SECONDS == 15 * 60  # the 15 minutes, one threshold for CLI and window
    with pytest.raises(StorageError, match="must be positive"):
        seconds_left(tmp_path, 0)
    with pytest.raises(StorageError, match="choose an existing folder"):
        free_bytes(tmp_path / "missing")


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024, 3 * 1024 * 1024 + 17])
def test_sha256_matches_sha256sum(tmp_path: Path, size: int) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(size))
    tool = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]
    assert sha256_file(path) == tool
    assert sha256_file(path, chunk=4096) == tool
