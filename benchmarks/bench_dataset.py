"""Benchmark of `fieldrec export`: one JSON line per figure on stdout.

The issue's workload: N takes (default 200; ``FIELDREC_BENCH_DATASET_TAKES`` for a quick run) of 30 s,
48 kHz stereo 24-bit WAV, exported to 16 kHz mono 16-bit 1 s windows with all features
(``--segment window:1s --features all``, TPDF dither, soxr VHQ), run as the real command in a subprocess:

* throughput as a multiple of real time (audio seconds / wall seconds) with 1 and 2 workers, and their ratio;
* peak memory (max RSS) of the one-worker export, which streams every take in 64k-frame blocks;
* the anchor, in the same run: the same work with librosa (``librosa.load(sr=16000)`` (soxr_hq), 1 s
  windows written as 16-bit WAV with soundfile, ``librosa.feature`` melspectrogram/power_to_db, centroid,
  bandwidth, rolloff, flatness, rms, zcr and scipy's Welch spectrum per window) on the first
  ``FIELDREC_BENCH_DATASET_ANCHOR`` takes (default 20), one process; reported as real-time multiple and as
  the ratio fieldrec-1-worker / librosa.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
N = int(os.environ.get("FIELDREC_BENCH_DATASET_TAKES", "200"))
N_ANCHOR = min(N, int(os.environ.get("FIELDREC_BENCH_DATASET_ANCHOR", "20")))
SECONDS, RATE = 30, 48000


def emit(name: str, value: float, unit: str, target: str | None) -> None:
    print(json.dumps({"name": name, "value": float(f"{float(value):.6g}"), "unit": unit, "target": target}),
          flush=True)


def make_takes(folder: Path) -> list[Path]:
    """N distinct takes: a 30 s noise-and-chirps base, rolled and scaled per take (distinct bytes)."""
    rng = np.random.default_rng(0)
    n = SECONDS * RATE
    t = np.arange(n) / RATE
    base = rng.normal(0, 0.02, (n, 2))
    for k in range(12):
        f0 = 2000 + 400 * k
        env = np.exp(-((t - 2.4 * k - 1) ** 2) / 0.02)
        base += (0.3 * env * np.sin(2 * np.pi * (f0 * t + 800 * t**2)))[:, None]
    paths = []
    for i in range(N):
        p = folder / f"take{i:03d}.wav"
        sf.write(p, np.roll(base, i * 4801, axis=0) * (0.5 + 0.4 * (i % 7) / 7), RATE, subtype="PCM_24")
        paths.append(p)
    return paths


def run_export(src: Path, out: Path, workers: int) -> float:
    cmd = [sys.executable, "-m", "fieldrec", "export", str(src), "--out", str(out), "--samplerate", "16000",
           "--channels", "mono", "--format", "wav16", "--segment", "window:1s", "--features", "all",
           "--workers", str(workers), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"export failed: {proc.stderr.strip()[-300:]}")
    summary = json.loads(proc.stdout)
    assert summary["outputs"] == N * SECONDS, summary["outputs"]
    return wall


def librosa_anchor(paths: list[Path], out: Path) -> float:
    import librosa
    from scipy import signal

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for p in paths:
        y, sr = librosa.load(p, sr=16000, mono=True)
        for k in range(len(y) // sr):
            w = y[k * sr : (k + 1) * sr]
            sf.write(out / f"{p.stem}_{k:04d}.wav", w, sr, subtype="PCM_16")
            feats = {
                "log_mel": librosa.power_to_db(librosa.feature.melspectrogram(y=w, sr=sr, n_fft=1024, hop_length=512,
                                                                              n_mels=64), ref=1.0),
                "centroid": librosa.feature.spectral_centroid(y=w, sr=sr, n_fft=1024, hop_length=512),
                "bandwidth": librosa.feature.spectral_bandwidth(y=w, sr=sr, n_fft=1024, hop_length=512),
                "rolloff": librosa.feature.spectral_rolloff(y=w, sr=sr, n_fft=1024, hop_length=512),
                "flatness": librosa.feature.spectral_flatness(y=w, n_fft=1024, hop_length=512),
                "rms": librosa.feature.rms(y=w, frame_length=1024, hop_length=512),
                "zcr": librosa.feature.zero_crossing_rate(w, frame_length=1024, hop_length=512),
                "welch": signal.welch(w, sr, nperseg=1024, noverlap=512)[1],
            }
            np.savez(out / f"{p.stem}_{k:04d}.npz", **feats)
    return time.perf_counter() - t0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-dataset-") as tmp:
        tmp = Path(tmp)
        src = tmp / "src"
        src.mkdir()
        paths = make_takes(src)
        audio_s = N * SECONDS
        one = run_export(src, tmp / "out1", 1)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        two = run_export(src, tmp / "out2", 2)
        anchor = librosa_anchor(paths[:N_ANCHOR], tmp / "librosa")
        anchor_rt = N_ANCHOR * SECONDS / anchor
        emit("dataset.export_takes", N, "takes of 30 s 48 kHz/2ch/24-bit", None)
        emit("dataset.export_1_worker_x_realtime", audio_s / one, "x real time", None)
        emit("dataset.export_2_workers_x_realtime", audio_s / two, "x real time", ">= 100")
        emit("dataset.export_2_vs_1_workers", one / two, "ratio", ">= 1.6")
        emit("dataset.export_peak_rss_1_worker", peak_mb, "MB", None)
        emit("dataset.librosa_same_work_x_realtime", anchor_rt, "x real time", None)
        emit("dataset.export_1_worker_vs_librosa", (audio_s / one) / anchor_rt, "ratio", ">= 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
