"""Past 4 GiB: the header turns into RF64 (ds64 sizes), stays current while writing and survives kill -9.
Written to /dev/shm when it has room, so the test is memory-speed."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
RATE, CHANNELS = 192000, 8
BLOCK_BYTES = RATE * CHANNELS * 4  # one second of 8 ch FLOAT
SECONDS = (4 * 2**30) // BLOCK_BYTES + 3  # just past 4 GiB

CHILD = """
import sys
import numpy as np
from fieldrec.storage.wav_writer import TakeWriter

rate, channels, seconds = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
w = TakeWriter(sys.argv[1], rate, channels, "wav", "FLOAT")
block = np.empty((rate, channels), np.float32)
for i in range(seconds):
    block[:] = np.float32(i) / 1024  # every second has its own value
    w.write(block)
print(w.frames, flush=True)
sys.stdin.read()  # wait to be killed
"""


@pytest.fixture
def roomy(tmp_path: Path):
    base = Path("/dev/shm")
    if not (base.is_dir() and shutil.disk_usage(base).free > 2 * SECONDS * BLOCK_BYTES):
        base = tmp_path
    folder = base / f"fieldrec-rf64-{os.getpid()}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder)


@pytest.mark.slow
def test_past_4gib_is_rf64_and_survives_kill9(roomy: Path) -> None:
    path = roomy / "long.wav"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(RATE), str(CHANNELS), str(SECONDS)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdin is not None
    reported = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stdin.close()
    frames = SECONDS * RATE
    assert reported == frames
    assert path.stat().st_size > 2**32
    with open(path, "rb") as fh:
        assert fh.read(4) == b"RF64"
    info = sf.info(path)
    assert (info.format, info.frames, info.channels) == ("RF64", frames, CHANNELS)
    sox = subprocess.run(["sox", "--i", "-s", str(path)], capture_output=True, text=True, check=True)
    assert int(sox.stdout) == frames
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                           capture_output=True, text=True, check=True)
    assert int(json.loads(probe.stdout)["streams"][0]["duration_ts"]) == frames
    with sf.SoundFile(path) as f:  # the last second, past 4 GiB, holds its value
        f.seek(frames - RATE)
        tail = f.read(RATE, dtype="float32")
    assert np.all(tail == np.float32(SECONDS - 1) / 1024)
    assert sf.info(path).frames == frames
