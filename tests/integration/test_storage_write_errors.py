"""A write error that is not a full disk (file size limit, EFBIG) gives a one-line StorageError naming the
cause, and the file closes valid with exactly ``writer.frames`` frames."""

import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import resource, signal, sys
import numpy as np
from fieldrec.storage.errors import DiskFullError, StorageError
from fieldrec.storage.wav_writer import TakeWriter

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
w = TakeWriter(sys.argv[1], 48000, 2, "wav", "PCM_16")
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    for i in range(100):
        w.write(np.random.default_rng(i).integers(-30000, 30000, (4800, 2)).astype(np.int16))
    print("no error")
except DiskFullError as exc:
    print("DiskFullError", exc)
except StorageError as exc:
    print("StorageError", exc)
w.close()
w.close()
print(w.frames)
"""


def test_file_size_limit_is_a_clear_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env,
                          check=True, timeout=60)
    message, frames = proc.stdout.strip().splitlines()
    assert message.startswith("StorageError cannot write to ")
    assert "File too large" in message and "check the disk" in message
    frames_n = int(frames)
    assert 4800 * 2 < frames_n < 100_000 // 4
    assert sf.info(path).frames == frames_n  # the sidecar can report exactly what the file holds
    sox = subprocess.run(["sox", "--i", "-s", str(path)], capture_output=True, text=True, check=True)
    assert int(sox.stdout) == frames_n
