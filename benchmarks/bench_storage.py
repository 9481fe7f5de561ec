"""Storage benchmark: crash-safe TakeWriter throughput and the cost of the per-write header update.

Prints one JSON line per figure: {"name", "value", "unit", "target"}. The anchor is a plain soundfile WAV
write (no crash-safety commands) of the same blocks in the same run (note: a plain float WAV also
keeps a PEAK chunk, which costs libsndfile a max() over every sample; RF64 has none); speeds are multiples of real time
(seconds of audio written per second of wall clock). Each variant is run REPEATS times; the best is kept.
"""

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from fieldrec.storage.wav_writer import SFC_RF64_AUTO_DOWNGRADE, TakeWriter, capture_dtype, send_command

SAMPLERATE = 192000
CHANNELS = 8
BLOCK = 4096  # frames per write (~21 ms at 192 kHz): what the take's writer thread typically drains
AUDIO_SECONDS = 20.0
REPEATS = 5


def emit(name: str, value: float, unit: str, target: str) -> None:
    print(json.dumps({"name": name, "value": round(value, 3), "unit": unit, "target": target}), flush=True)


def make_block(subtype: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    if subtype == "FLOAT":
        return rng.uniform(-1, 1, (BLOCK, CHANNELS)).astype(np.float32)
    info = np.iinfo(capture_dtype(subtype))
    return rng.integers(info.min, info.max, (BLOCK, CHANNELS), dtype=capture_dtype(subtype))


def timed(folder: Path, opener: Callable[[Path], object], nblocks: int, block: np.ndarray,
          ext: str = "wav", repeats: int = REPEATS) -> tuple[float, float]:
    """Best wall times (s) over REPEATS: (writing nblocks, writing + close); the file is deleted after.

    TakeWriter.close() fsyncs the file, so "writing + close" includes pushing it to the medium.
    """
    best_write = best_total = float("inf")
    for i in range(repeats):
        path = folder / f"bench_{i}.{ext}"
        w = opener(path)
        t0 = time.perf_counter()
        for _ in range(nblocks):
            w.write(block)
        t1 = time.perf_counter()
        w.close()
        t2 = time.perf_counter()
        best_write, best_total = min(best_write, t1 - t0), min(best_total, t2 - t0)
        path.unlink()
    return best_write, best_total


def plain(subtype: str) -> Callable[[Path], object]:
    return lambda p: sf.SoundFile(p, "w", SAMPLERATE, CHANNELS, subtype, format="WAV")


def rf64_downgrade_only(subtype: str) -> Callable[[Path], object]:
    def open_(p: Path) -> sf.SoundFile:
        f = sf.SoundFile(p, "w", SAMPLERATE, CHANNELS, subtype, format="RF64")
        send_command(f, SFC_RF64_AUTO_DOWNGRADE)
        return f
    return open_


def crash_safe(subtype: str, container: str = "wav") -> Callable[[Path], object]:
    return lambda p: TakeWriter(p, SAMPLERATE, CHANNELS, container, subtype)


def header_cost(folder: Path, subtype: str, frames: int = 16, writes: int = 20000) -> float:
    """Microseconds one header rewrite adds to a write: tiny blocks so the audio data costs next to nothing."""
    block = make_block(subtype)[:frames]
    with_hdr = without = float("inf")
    for _ in range(REPEATS):
        with_hdr = min(with_hdr, timed(folder, crash_safe(subtype), writes, block, repeats=1)[0])
        without = min(without, timed(folder, rf64_downgrade_only(subtype), writes, block, repeats=1)[0])
    return (with_hdr - without) / writes * 1e6


def main() -> None:
    nblocks = int(AUDIO_SECONDS * SAMPLERATE / BLOCK)
    audio_s = nblocks * BLOCK / SAMPLERATE
    # CPU cost of the writer: files in memory (/dev/shm) so the disk's speed and writeback do not blur it
    mem = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-", dir=os.environ.get("BENCH_DIR", mem)) as tmp:
        folder = Path(tmp)
        for subtype, tag in (("PCM_24", "pcm24"), ("FLOAT", "float")):
            block = make_block(subtype)
            t_plain = t_nohdr = t_safe = float("inf")
            for _ in range(REPEATS):  # round robin, so drift in machine load hits every variant alike
                t_plain = min(t_plain, timed(folder, plain(subtype), nblocks, block, repeats=1)[0])
                t_nohdr = min(t_nohdr, timed(folder, rf64_downgrade_only(subtype), nblocks, block, repeats=1)[0])
                t_safe = min(t_safe, timed(folder, crash_safe(subtype), nblocks, block, repeats=1)[0])
            emit(f"storage_wav_{tag}_192k_8ch_crash_safe_realtime", audio_s / t_safe, "x realtime", ">= 50")
            emit(f"storage_wav_{tag}_192k_8ch_plain_soundfile_realtime", audio_s / t_plain, "x realtime", "anchor")
            emit(f"storage_wav_{tag}_crash_safe_speed_vs_plain", t_plain / t_safe, "ratio", ">= 0.5")
            emit(f"storage_wav_{tag}_block_cost_crash_safe", t_safe / nblocks * 1e6,
                 f"us per {BLOCK}-frame block", "<= 400")
            emit(f"storage_wav_{tag}_block_cost_without_header_update", t_nohdr / nblocks * 1e6,
                 f"us per {BLOCK}-frame block", "reference")
            emit(f"storage_wav_{tag}_header_update_cost_per_write", header_cost(folder, subtype),
                 "us per write", "<= 50")
        block = make_block("PCM_24")
        flac_blocks = nblocks // 4
        t_flac, _ = timed(folder, crash_safe("PCM_24", "flac"), flac_blocks, block, "flac")
        emit("storage_flac_pcm24_192k_8ch_realtime", flac_blocks * BLOCK / SAMPLERATE / t_flac, "x realtime", ">= 2")
    # the same crash-safe write to the real disk, including close() with its fsync
    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-", dir=os.environ.get("BENCH_DISK_DIR")) as tmp:
        block = make_block("PCM_24")
        _, t_disk = timed(Path(tmp), crash_safe("PCM_24"), nblocks, block)
        emit("storage_wav_pcm24_192k_8ch_to_disk_with_fsync_realtime", audio_s / t_disk, "x realtime", ">= 10")


if __name__ == "__main__":
    main()
