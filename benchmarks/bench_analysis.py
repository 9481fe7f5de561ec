"""Benchmarks for fieldrec.analysis: one JSON line per figure on stdout.

* live meter cost per ~20 ms block as a percentage of the block period (48 kHz/2 ch, 192 kHz/8 ch),
  measured as the feeding thread's CPU time (time.thread_time), so other load does not inflate it;
* spectral centroid, power spectrogram and peaks on a 60 s 48 kHz stereo signal vs librosa: speed ratio
  (librosa time / our time) and max relative difference with the same frame/window parameters;
* analyze_file throughput as a multiple of real time, and relative to just decoding the same file;
* fieldrec analyze against ffmpeg's ebur128=peak=true on a 10-minute file, in process and as a command.

Times are the median of several repeats (the machine is shared and noisy).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldrec.analysis.features import spectral_centroid, spectral_peaks  # noqa: E402
from fieldrec.analysis.meters import MeterBank  # noqa: E402
from fieldrec.analysis.spectrum import stft_magnitude, stft_power  # noqa: E402
from fieldrec.analyze import analyze_file, default_threads  # noqa: E402


def emit(name: str, value: float, unit: str, target: str | None) -> None:
    print(
        json.dumps({"name": name, "value": float(f"{float(value):.6g}"), "unit": unit, "target": target}),
        flush=True,
    )


def median_time(fn, repeats: int = 5, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def field_signal(seconds: float, fs: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    noise = signal.lfilter([1.0], [1.0, -0.97], rng.normal(0, 0.01, (n, channels)), axis=0)
    chirp = 0.2 * signal.chirp(t % 1.3, 2000, 1.3, 7000) * (np.sin(np.pi * t / 2.6) ** 6)
    return (noise + chirp[:, None]).astype(np.float32)


def bench_meters(fs: int, channels: int, seconds: float = 6.0) -> None:
    x = field_signal(seconds, fs, channels)
    block = fs // 50  # 20 ms
    blocks = [x[i : i + block] for i in range(0, x.shape[0] - block + 1, block)]

    def run() -> None:
        bank = MeterBank(fs, channels)
        for b in blocks:
            bank.process(b)
            bank.snapshot()

    # CPU time of this (the meter) thread: "% of one core" independent of other load on the machine
    per_block = median_time(run, 5, clock=time.thread_time) / len(blocks)
    emit(
        f"meters_cost_{fs // 1000}k_{channels}ch",
        100.0 * per_block / 0.020,
        "% of one core (per 20 ms block, all meters + snapshot)",
        "< 10" if fs >= 192000 else None,
    )


def bench_librosa() -> None:
    import librosa

    fs, nfft, hop = 48000, 2048, 512
    x = field_signal(60.0, fs, 2, seed=1).astype(np.float64)
    freqs = np.fft.rfftfreq(nfft, 1 / fs)

    def ours_centroid() -> np.ndarray:
        return np.stack(
            [spectral_centroid(freqs, stft_magnitude(x[:, c], nfft, hop, "hann")) for c in range(2)]
        )

    def librosa_centroid() -> np.ndarray:
        return librosa.feature.spectral_centroid(
            y=x.T, sr=fs, n_fft=nfft, hop_length=hop, window="hann", center=False
        )[:, 0, :]

    def ours_power() -> np.ndarray:
        return np.stack([stft_power(x[:, c], nfft, hop, "hann") for c in range(2)])

    def librosa_power() -> np.ndarray:
        return np.abs(librosa.stft(x.T, n_fft=nfft, hop_length=hop, window="hann", center=False)) ** 2

    def ours_peaks() -> list:
        p = ours_power().mean(axis=(0, 2))
        return spectral_peaks(freqs, p)

    def librosa_peaks() -> list:
        p = librosa_power().mean(axis=(0, 2))
        return spectral_peaks(freqs, p)  # same peak picking on librosa's spectrum

    for name, ours, theirs in (
        ("centroid", ours_centroid, librosa_centroid),
        ("power_spectrogram", ours_power, librosa_power),
        ("peaks", ours_peaks, librosa_peaks),
    ):
        a, b = ours(), theirs()  # warm-up (numba/FFT plans) and values
        t_ours, t_lib = median_time(ours, 3), median_time(theirs, 3)
        emit(f"librosa_{name}_speed_ratio", t_lib / t_ours, "x faster than librosa", ">= 2")
        if name == "peaks":  # same peaks: frequency and power agree to a relative difference
            if len(a) != len(b):
                diff = float("inf")
            else:
                diff = max(
                    max(abs(p["hz"] / q["hz"] - 1), abs(10 ** ((p["dbfs"] - q["dbfs"]) / 10) - 1))
                    for p, q in zip(a, b, strict=True)
                )
        elif name == "centroid":
            diff = float(np.max(np.abs(a - b) / np.abs(b)))
        else:  # relative to each frame's largest bin (near-empty bins have no meaningful relative error)
            diff = float(np.max(np.abs(a - b) / b.max(axis=1, keepdims=True)))
        emit(f"librosa_{name}_max_rel_diff", diff, "relative", "<= 1e-6")


def bench_analyze_file() -> None:
    fs = 48000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "take.wav"
        sf.write(path, field_signal(60.0, fs, 2, seed=2), fs, subtype="PCM_24")
        analyze_file(path)  # warm-up
        t = median_time(lambda: analyze_file(path), 3)

        def decode() -> None:
            with sf.SoundFile(path) as f:
                for _ in f.blocks(65536, dtype="float32"):
                    pass

        t_read = median_time(decode, 3)
    emit("analyze_file_realtime_multiple", 60.0 / t, "x real time (60 s 48 kHz stereo PCM_24)", None)
    emit("analyze_file_vs_decode", t / t_read, "x the time to only decode the file", None)


def _timed(fn) -> tuple[float, float]:
    """(wall s, CPU s of this process and its children) of fn()."""
    r0s, r0c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    r1s, r1c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in ((r0s, r1s), (r0c, r1c)))
    return wall, cpu


def bench_analyze_vs_ffmpeg() -> None:
    """fieldrec analyze and ffmpeg ebur128=peak=true on the same 48 kHz stereo PCM_24 file, interleaved, in this run.

    Three ways of ours, each against the ffmpeg run next to it: ``analyze_file`` in this process on two
    threads, the same on one thread, and the command ``fieldrec analyze --json`` as a new process (its
    start-up and imports count, as ffmpeg's do; it takes ``default_threads()``: 1 on a busy machine). Best of FIELDREC_BENCH_REPEATS (3) each; wall
    and CPU time (user + system, all threads).
    """
    seconds = float(os.environ.get("FIELDREC_BENCH_ANALYZE_S", "600"))
    repeats = int(os.environ.get("FIELDREC_BENCH_REPEATS", "3"))
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg not found: the anchor for analyze speed is missing")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "take.wav"
        sf.write(path, field_signal(seconds, 48000, 2, seed=2), 48000, subtype="PCM_24")
        analyze_file(path)  # warm: imports, FFT plans, the file in the page cache, as for ffmpeg below

        def ffmpeg() -> None:
            subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af",
                            "ebur128=peak=true", "-f", "null", "-"], check=True, capture_output=True)

        def cli() -> None:
            subprocess.run([sys.executable, "-m", "fieldrec", "analyze", "--json", str(path)], check=True,
                           capture_output=True, env=env, cwd=tmp)

        ways = {"": lambda: analyze_file(path, threads=2), "1thread_": lambda: analyze_file(path, threads=1),
                "cli_": cli}
        runs: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in ways}
        for _ in range(repeats):
            for key, fn in ways.items():
                runs[key].append(_timed(fn) + _timed(ffmpeg))
    for key, rs in runs.items():
        wall_o, cpu_o = min(r[0] for r in rs), min(r[1] for r in rs)
        wall_f, cpu_f = min(r[2] for r in rs), min(r[3] for r in rs)
        what = {"": "analyze_file, 2 threads", "1thread_": "analyze_file, 1 thread", "cli_": "fieldrec analyze"}[key]
        emit(f"{key}analyze_realtime_multiple", seconds / wall_o, f"x real time ({what}, {seconds:.0f} s 48 kHz "
             "stereo PCM_24)", None)
        emit(f"{key}ffmpeg_ebur128_realtime_multiple", seconds / wall_f, "x real time (same file, same run)", None)
        emit(f"{key}analyze_vs_ffmpeg_speed_ratio", wall_f / wall_o, f"ffmpeg wall time / ours ({what})",
             ">= 1 (goal 2)")
        emit(f"{key}analyze_vs_ffmpeg_cpu_ratio", cpu_f / cpu_o, f"ffmpeg CPU time / ours ({what})", ">= 1")
    emit("analyze_default_threads", default_threads(), "threads the command chose at the end (1 when busy)", None)
    emit("load_average_1min", os.getloadavg()[0], f"after the analyze figures ({os.cpu_count()} cores)", None)


def bench_meters_live(fs: int, channels: int, seconds: float = 6.0) -> None:
    """MeterBank fed 100 ms blocks with snapshot() 30 times a second: CPU share of one core."""
    x = field_signal(seconds, fs, channels)
    block = fs // 10
    blocks = [x[i : i + block] for i in range(0, x.shape[0] - block + 1, block)]

    def run() -> None:
        bank = MeterBank(fs, channels)
        for b in blocks:
            bank.process(b)
            for _ in range(3):  # 30 snapshots per second of audio
                bank.snapshot()

    cpu = median_time(run, 3, clock=time.thread_time)
    emit(f"meters_live_cost_{fs // 1000}k_{channels}ch", 100.0 * cpu / (len(blocks) * 0.1),
         "% of one core (100 ms blocks, snapshot 30/s)", None)


if __name__ == "__main__":
    bench_meters(48000, 2)
    bench_meters(192000, 8)
    bench_meters_live(48000, 2)
    bench_meters_live(192000, 8)
    bench_analyze_vs_ffmpeg()
    bench_analyze_file()
    bench_librosa()
