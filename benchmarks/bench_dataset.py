"""Benchmark of `fieldrec export`: one JSON line per figure on stdout.

The issue's workload: N takes (default 200; ``FIELDREC_BENCH_DATASET_TAKES`` for a quick run) of 30 s,
48 kHz stereo 24-bit WAV, exported to 16 kHz mono 16-bit 1 s windows with all features
(``--segment window:1s --features all``, TPDF dither, soxr VHQ), run as the real command in a subprocess:

* throughput as a multiple of real time (audio seconds / wall seconds) with 1 and 2 workers, and their ratio;
  on a shared machine the wall clock follows the other load, so the one-worker figure is also given per
  CPU second (user + system time of the export process);
* peak memory (max RSS) of the one-worker export, which streams every take in 64k-frame blocks;
* the anchor, in the same run: the same work with librosa (``librosa.load(sr=16000)`` (soxr_hq), 1 s
  windows written as 16-bit WAV with soundfile, ``librosa.feature`` melspectrogram/power_to_db, centroid,
  bandwidth, rolloff, flatness, rms, zcr and scipy's Welch spectrum per window) on the first
  ``FIELDREC_BENCH_DATASET_ANCHOR`` takes (default 20), one process, by CPU time; compared with a one-worker
  fieldrec export of the same takes with all features (librosa has no ecoacoustic indices, so that export
  does more) and with the features librosa computes (power_spectrum, log_mel, centroid, bandwidth, rolloff,
  flatness, rms, zcr), each run right after the anchor in the same process, imports warmed up as for librosa.
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


LIBROSA_SET = "power_spectrum,log_mel,centroid,bandwidth,rolloff,flatness,rms,zcr"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_export(src: list[Path], out: Path, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the export process and the children it waited for)."""
    cmd = [sys.executable, "-m", "fieldrec", "export", *map(str, src), "--out", str(out), "--samplerate", "16000",
           "--channels", "mono", "--format", "wav16", "--segment", "window:1s", "--features", "all",
           "--workers", str(workers), "--json"]
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"export failed: {proc.stderr.strip()[-300:]}")
    summary = json.loads(proc.stdout)
    assert summary["outputs"] == N * SECONDS, summary["outputs"]
    return wall, cpu


def export_in_process(paths: list[Path], out: Path, features: str) -> float:
    """CPU seconds of a one-worker export in this process (imports and first calls warmed up outside)."""
    from fieldrec.cli import main as fieldrec_main

    args = ["--samplerate", "16000", "--channels", "mono", "--format", "wav16", "--segment", "window:1s",
            "--features", features, "--workers", "1", "--json"]
    warm = out.with_name(out.name + "-warm")
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            fieldrec_main(["export", str(paths[0]), "--out", str(warm), *args])
            t0 = time.process_time()
            code = fieldrec_main(["export", *map(str, paths), "--out", str(out), *args])
            cpu = time.process_time() - t0
        finally:
            sys.stdout = stdout
    if code != 0:
        raise SystemExit(f"export failed with exit code {code}")
    return cpu


def librosa_anchor(paths: list[Path], out: Path) -> float:
    import librosa
    from scipy import signal

    out.mkdir(parents=True, exist_ok=True)
    librosa.load(paths[0], sr=16000, mono=True)  # imports and first-call set-up outside the timing
    t0 = time.process_time()
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
    return time.process_time() - t0


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-dataset-") as tmp:
        tmp = Path(tmp)
        src = tmp / "src"
        src.mkdir()
        paths = make_takes(src)
        audio_s = N * SECONDS
        anchor_s = N_ANCHOR * SECONDS
        anchor = librosa_anchor(paths[:N_ANCHOR], tmp / "librosa")
        same_cpu = export_in_process(paths[:N_ANCHOR], tmp / "same", LIBROSA_SET)
        all_cpu = export_in_process(paths[:N_ANCHOR], tmp / "all", "all")
        one, one_cpu = run_export([src], tmp / "out1", 1)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        two, _ = run_export([src], tmp / "out2", 2)
        emit("dataset.export_takes", N, "takes of 30 s 48 kHz/2ch/24-bit", None)
        emit("dataset.export_1_worker_x_realtime", audio_s / one, "x real time (wall)", None)
        emit("dataset.export_1_worker_x_realtime_per_cpu_s", audio_s / one_cpu, "x real time per CPU second", None)
        emit("dataset.export_2_workers_x_realtime", audio_s / two, "x real time (wall)", ">= 100")
        emit("dataset.export_2_vs_1_workers", one / two, "ratio (wall)", ">= 1.6")
        emit("dataset.export_peak_rss_1_worker", peak_mb, "MB", None)
        emit("dataset.librosa_same_work_x_realtime_per_cpu_s", anchor_s / anchor, "x real time per CPU second", None)
        emit("dataset.export_all_features_vs_librosa", anchor / all_cpu, "ratio (CPU time)", ">= 2")
        emit("dataset.export_librosa_features_vs_librosa", anchor / same_cpu, "ratio (CPU time)", ">= 2")
        emit("dataset.load_average_1min_at_end", os.getloadavg()[0], "processes", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
