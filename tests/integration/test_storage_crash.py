"""Crash safety: a writer killed with SIGKILL mid-take leaves a file every reader opens, with the audio.

The child process is this file run as a script; it writes a deterministic signal in 0.1 s blocks and
prints the frame count after each write. The parent kills it after ~2 s and reads the file back with
soundfile, sox and ffprobe. The contrast test shows what a plain soundfile writer leaves behind.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 2.0


def det_signal(start: int, frames: int, channels: int, dtype: str) -> np.ndarray:
    """Deterministic full-range samples for frames [start, start+frames); exact in the file's format."""
    n = np.arange(start, start + frames, dtype=np.uint64)[:, None]
    c = np.arange(channels, dtype=np.uint64)[None, :]
    h = ((n * np.uint64(7919) + c * np.uint64(104729) + np.uint64(1)) * np.uint64(2654435761)) % np.uint64(2**32)
    if dtype == "float32":
        return ((h >> np.uint64(8)).astype(np.int64) - 2**23).astype(np.float32) / np.float32(2**23)
    if dtype == "int16":
        return ((h >> np.uint64(16)).astype(np.int64) - 2**15).astype(np.int16)
    return (h.astype(np.int64) - 2**31).astype(np.int32) & np.int32(-256)  # 24 significant bits


def child(path: str, samplerate: int, channels: int, container: str, subtype: str, mode: str) -> None:
    """Write forever at about 10x real time; print frames written after every block."""
    from fieldrec.storage.wav_writer import TakeWriter, capture_dtype

    dtype = capture_dtype(subtype)
    block = samplerate // 10
    if mode == "takewriter":
        w = TakeWriter(path, samplerate, channels, container, subtype)
    else:  # plain soundfile, no crash-safety commands: the contrast
        w = sf.SoundFile(path, "w", samplerate, channels, subtype, format=mode)
    frames = 0
    while True:
        w.write(det_signal(frames, block, channels, dtype))
        frames += block
        print(frames, flush=True)
        time.sleep(0.01)


def run_and_kill(path: Path, samplerate: int, channels: int, container: str, subtype: str,
                 mode: str = "takewriter") -> int:
    """Start the child, SIGKILL it after RUN_SECONDS of writing; return the last frame count it reported."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, __file__, str(path), str(samplerate), str(channels), container,
                             subtype, mode], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    reported = 0
    first = proc.stdout.readline()  # the first block is written: start the clock
    assert first, "child writer died before writing"
    reported = int(first)
    t0 = time.monotonic()
    while time.monotonic() - t0 < RUN_SECONDS:
        line = proc.stdout.readline()
        assert line, "child writer died"
        reported = int(line)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return reported


def sox_frames(path: Path) -> int:
    proc = subprocess.run(["sox", "--i", "-s", str(path)], capture_output=True, text=True, check=True)
    return int(proc.stdout.strip())


def ffprobe_stream(path: Path) -> dict:
    proc = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)["streams"][0]


@pytest.mark.slow
@pytest.mark.parametrize(("samplerate", "channels", "subtype", "mode"),
                         [(48000, 2, "PCM_24", "takewriter"), (48000, 8, "FLOAT", "takewriter")])
def test_kill9_leaves_a_readable_complete_wav(tmp_path: Path, samplerate: int, channels: int, subtype: str,
                                              mode: str) -> None:
    path = tmp_path / "take.wav"
    reported = run_and_kill(path, samplerate, channels, "wav", subtype, mode)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (samplerate, channels, subtype)
    # the header is rewritten after every write, so nothing reported as written is missing
    assert info.frames >= reported
    assert info.frames >= samplerate  # more than a second of audio got through
    assert sox_frames(path) == info.frames
    stream = ffprobe_stream(path)
    assert (int(stream["sample_rate"]), int(stream["channels"]), int(stream["duration_ts"])) == (
        samplerate, channels, info.frames)
    dtype = "float32" if subtype == "FLOAT" else "int32"
    data, _ = sf.read(path, dtype=dtype, always_2d=True)
    np.testing.assert_array_equal(data, det_signal(0, info.frames, channels, dtype))


@pytest.mark.slow
def test_contrast_plain_soundfile_wav_is_not_safe(tmp_path: Path) -> None:
    """Without the two commands the header still says 0 frames after a kill: sox sees an empty file.

    (libsndfile and ffprobe guess the length from the file size for plain WAV; a plain RF64 file is empty to
    all of soundfile, sox; measured in docs/file-formats.md.)
    """
    wav = tmp_path / "plain.wav"
    reported = run_and_kill(wav, 48000, 2, "wav", "PCM_24", mode="WAV")
    assert reported > 48000
    assert wav.stat().st_size > reported * 6  # the audio is on disk ...
    assert sox_frames(wav) == 0  # ... but the header says there is none
    rf64 = tmp_path / "plain_rf64.wav"
    run_and_kill(rf64, 48000, 2, "wav", "PCM_24", mode="RF64")
    assert sf.info(rf64).frames == 0
    assert sox_frames(rf64) == 0


@pytest.mark.slow
def test_kill9_flac_is_recovered(tmp_path: Path) -> None:
    """FLAC keeps its length in STREAMINFO, written at close: after a kill the length is unknown until
    recover_take re-encodes the intact part; then every reader agrees and the samples are exact."""
    from fieldrec.storage.recovery import recover_take

    path = tmp_path / "take.flac"
    reported = run_and_kill(path, 48000, 2, "flac", "PCM_24")
    assert sf.info(path).frames > 2**62  # "unknown"
    assert sox_frames(path) == 0
    result = recover_take(path)
    assert result.repaired and "interrupted" in result.detail
    assert reported - 3 * 4096 <= result.frames <= reported
    assert sf.info(path).frames == sox_frames(path) == int(ffprobe_stream(path)["duration_ts"]) == result.frames
    data, _ = sf.read(path, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(data, det_signal(0, result.frames, 2, "int32"))
    assert recover_take(path) == type(result)(result.frames, False, f"take.flac is intact: {result.frames} frames")
    assert [p.name for p in tmp_path.iterdir()] == ["take.flac"]


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
