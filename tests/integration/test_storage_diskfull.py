"""Disk full and unwritable folders, on real small tmpfs mounts (the tests run as root in CI and here).

libsndfile reports a full disk as a bare "System error.", so TakeWriter watches free space itself and
refuses a block that would not fit; the file stays valid and closes with every frame written so far.
"""

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fieldrec.storage.diskspace import bytes_per_second, free_bytes, seconds_left
from fieldrec.storage.errors import DiskFullError, SidecarError, StorageError
from fieldrec.storage.naming import reserve_take_path
from fieldrec.storage.sidecar import read_sidecar, sidecar_path, write_sidecar
from fieldrec.storage.wav_writer import TakeWriter, capture_dtype
from tests.filesystems import mounted_tmpfs


def fill_disk(path: Path) -> None:
    """Write zeros to ``path`` until the file system says ENOSPC."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB file system."""
    with mounted_tmpfs(tmp_path / "disk", "size=2m,mode=0755") as disk:
        yield disk


@pytest.fixture
def readonly_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        yield ro


def det_signal(start: int, frames: int, channels: int, dtype: str) -> np.ndarray:
    rng = np.random.default_rng(start)  # noise: FLAC cannot compress it away
    if dtype == "float32":
        return rng.uniform(-1, 1, (frames, channels)).astype(np.float32)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, (frames, channels), dtype=dtype)
    return x & np.int32(-256) if dtype == "int32" else x


def sox_frames(path: Path) -> int:
    return int(subprocess.run(["sox", "--i", "-s", str(path)], capture_output=True, text=True, check=True).stdout)


def ffprobe_frames(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return int(json.loads(out)["streams"][0]["duration_ts"])


@pytest.mark.parametrize(("container", "subtype"), [("wav", "PCM_24"), ("flac", "PCM_16"), ("wav", "FLOAT")])
def test_write_until_disk_full_then_file_is_complete(small_disk: Path, container: str, subtype: str) -> None:
    rate, channels = 48000, 2
    path = reserve_take_path(small_disk, "take", container)
    dtype = capture_dtype(subtype)
    written: list[np.ndarray] = []
    w = TakeWriter(path, rate, channels, container, subtype)
    with pytest.raises(DiskFullError) as info:
        for i in range(1000):
            block = det_signal(i, rate // 10, channels, dtype)
            w.write(block)
            written.append(block)
    message = str(info.value)
    assert message.startswith("disk full: ") and "\n" not in message and "free space" in message
    assert w.frames == sum(len(b) for b in written) > rate  # more than a second fitted into 2 MiB
    with pytest.raises(DiskFullError):  # still refused, still no damage
        w.write(det_signal(0, rate // 10, channels, dtype))
    # the writer leaves room for the sidecar that records why the take stopped
    write_sidecar(sidecar_path(path), {"schema_version": 1, "recording": {"stop_reason": "disk_full"}})
    w.close()
    expected = np.concatenate(written)
    data, sr = sf.read(path, dtype=dtype, always_2d=True)
    assert sr == rate
    np.testing.assert_array_equal(data, expected)
    assert sox_frames(path) == len(expected)
    assert ffprobe_frames(path) == len(expected)
    assert read_sidecar(sidecar_path(path))["recording"]["stop_reason"] == "disk_full"


def test_sidecar_write_on_a_full_disk_keeps_the_old_one(small_disk: Path) -> None:
    side = small_disk / "take.json"
    write_sidecar(side, {"schema_version": 1, "notes": "first"})
    fill_disk(small_disk / "filler.bin")
    with pytest.raises(SidecarError, match="free space"):
        write_sidecar(side, {"schema_version": 1, "notes": "x" * 200_000})
    assert read_sidecar(side)["notes"] == "first"
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler.bin", "take.json"]


def test_diskspace_figures(small_disk: Path) -> None:
    assert 1_500_000 < free_bytes(small_disk) <= 2 * 1024 * 1024
    bps = bytes_per_second(48000, 2, "PCM_24")
    assert bps == 288000
    assert seconds_left(small_disk, bps) == pytest.approx(free_bytes(small_disk) / bps)
    with pytest.raises(StorageError, match="cannot check free space"):
        free_bytes(small_disk / "missing")


def test_readonly_folder_gives_clear_errors(readonly_disk: Path) -> None:
    with pytest.raises(StorageError, match="cannot create .*choose a writable recording folder"):
        reserve_take_path(readonly_disk, "take", "wav")
    with pytest.raises(StorageError, match="not writable"):
        TakeWriter(readonly_disk / "take.wav", 48000, 2)
    with pytest.raises(SidecarError, match="writable"):
        write_sidecar(readonly_disk / "take.json", {"schema_version": 1})
    assert os.listdir(readonly_disk) == []


def test_close_on_a_completely_full_disk_keeps_the_audio(small_disk: Path) -> None:
    path = reserve_take_path(small_disk, "take", "wav")
    w = TakeWriter(path, 48000, 2, "wav", "PCM_16")
    block = det_signal(0, 4800, 2, "int16")
    with pytest.raises(DiskFullError):
        while True:
            w.write(block)
    fill_disk(small_disk / "filler.bin")  # someone else takes the margin
    w.close()
    data, _ = sf.read(path, dtype="int16", always_2d=True)
    assert len(data) == w.frames and w.frames % 4800 == 0
    np.testing.assert_array_equal(data[:4800], block)
    assert sox_frames(path) == ffprobe_frames(path) == w.frames
