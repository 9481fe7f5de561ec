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
  bandwidth, rolloff, flatness, rms, zcr and scipy's Welch spectrum per window, saved with ``np.savez``) on
  the first ``FIELDREC_BENCH_DATASET_ANCHOR`` takes (default 20), one process, by CPU time, in two
  flavours: each feature called on the waveform (``y=``, as librosa's documentation does; every spectral
  feature makes its own STFT) and one STFT shared by all (``S=``, the fastest way to use librosa). Both run
  with BLAS limited to one thread (threadpoolctl): librosa's mel product is a BLAS call, and OpenBLAS's
  thread pool on a busy 2-core machine costs more CPU than the product itself (about 3x the whole anchor),
  which would flatter fieldrec (it uses no BLAS). librosa's imports and first calls are warmed up outside
  the timing. Compared with a one-worker fieldrec export of the same takes with all 17 features (librosa
  has no ecoacoustic indices, so that export does more) and with the features librosa computes
  (power_spectrum, log_mel, centroid, bandwidth, rolloff, flatness, rms, zcr), each run in the same
  process, imports and first calls warmed up as for librosa;
* the feature step alone on the same windows (fieldrec ``compute_features`` vs the librosa calls above);
* agreement: fieldrec's saved features against librosa (float64) and scipy's Welch computed on the very
  samples fieldrec wrote (its output WAVs), as the largest difference over every window of the anchor takes.
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


def run_export(src: list[Path], out: Path, workers: int) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the export process and every process under it, the wall seconds it
    would take on free cores).

    The pool's workers are children of multiprocessing's fork server, which the export never waits for,
    so getrusage cannot see them: every process's user + system time is read with psutil every 50 ms and
    the last reading kept (up to 50 ms per process is missed at its end). The free-core estimate takes the
    export process and its own children (the fork server, which imports fieldrec before any worker starts,
    and the resource tracker) as serial and spreads the workers' CPU over ``workers`` cores."""
    import psutil

    cmd = [sys.executable, "-m", "fieldrec", "export", *map(str, src), "--out", str(out), "--samplerate", "16000",
           "--channels", "mono", "--format", "wav16", "--segment", "window:1s", "--features", "all",
           "--workers", str(workers), "--json"]
    seen: dict[int, float] = {}
    serial: set[int] = set()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    top = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            family = [top, *top.children(recursive=True)]
            serial.update([top.pid, *(c.pid for c in top.children())])
        except psutil.NoSuchProcess:
            break
        for p in family:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            seen[p.pid] = t.user + t.system
        time.sleep(0.05)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"export failed: {stderr.strip()[-300:]}")
    summary = json.loads(stdout)
    assert summary["outputs"] == N * SECONDS, summary["outputs"]
    serial_cpu = sum(c for pid, c in seen.items() if pid in serial)
    return wall, sum(seen.values()), serial_cpu + (sum(seen.values()) - serial_cpu) / workers


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


def librosa_features(w: np.ndarray, sr: int, shared: bool) -> dict[str, np.ndarray]:
    """The anchor's features of one window: each from the waveform, or all spectral ones from one STFT."""
    import librosa
    from scipy import signal

    lf = librosa.feature
    kw = {"n_fft": 1024, "hop_length": 512}
    if shared:
        mag = np.abs(librosa.stft(w, **kw))
        power = mag**2
        spectral = {
            "log_mel": librosa.power_to_db(lf.melspectrogram(S=power, sr=sr, n_fft=1024, n_mels=64), ref=1.0),
            "centroid": lf.spectral_centroid(S=mag, sr=sr, n_fft=1024),
            "bandwidth": lf.spectral_bandwidth(S=mag, sr=sr, n_fft=1024),
            "rolloff": lf.spectral_rolloff(S=mag, sr=sr, n_fft=1024),
            "flatness": lf.spectral_flatness(S=mag),
        }
    else:
        spectral = {
            "log_mel": librosa.power_to_db(lf.melspectrogram(y=w, sr=sr, n_mels=64, **kw), ref=1.0),
            "centroid": lf.spectral_centroid(y=w, sr=sr, **kw),
            "bandwidth": lf.spectral_bandwidth(y=w, sr=sr, **kw),
            "rolloff": lf.spectral_rolloff(y=w, sr=sr, **kw),
            "flatness": lf.spectral_flatness(y=w, **kw),
        }
    return {
        **spectral,
        "rms": lf.rms(y=w, frame_length=1024, hop_length=512),
        "zcr": lf.zero_crossing_rate(w, frame_length=1024, hop_length=512),
        "welch": signal.welch(w, sr, nperseg=1024, noverlap=512)[1],
    }


def librosa_anchor(paths: list[Path], out: Path, shared: bool) -> float:
    import librosa

    out.mkdir(parents=True, exist_ok=True)
    y, sr = librosa.load(paths[0], sr=16000, mono=True)  # imports and first-call set-up outside the timing
    librosa_features(y[:sr], sr, shared)
    t0 = time.process_time()
    for p in paths:
        y, sr = librosa.load(p, sr=16000, mono=True)
        for k in range(len(y) // sr):
            w = y[k * sr : (k + 1) * sr]
            sf.write(out / f"{p.stem}_{k:04d}.wav", w, sr, subtype="PCM_16")
            np.savez(out / f"{p.stem}_{k:04d}.npz", **librosa_features(w, sr, shared))
    return time.process_time() - t0


def windows_of(out: Path) -> list[tuple[Path, Path]]:
    """(output WAV, its features .npz) of every window a fieldrec export wrote to ``out``."""
    pairs = []
    for npz in sorted((out / "features").rglob("*.npz")):
        wav = out / npz.parent.name / (npz.stem + ".wav")
        pairs.append((wav, npz))
    return pairs


def feature_step(pairs: list[tuple[Path, Path]]) -> dict[str, float]:
    """CPU seconds of the feature step alone on the same windows: fieldrec (all, librosa's set) and librosa."""
    from fieldrec.analysis.frame_features import compute_features

    windows = [sf.read(wav, dtype="float32")[0] for wav, _ in pairs]  # as the export and librosa.load hold them
    runs = {
        "fieldrec_all": lambda w: compute_features(w, 16000),
        "fieldrec_librosa_set": lambda w: compute_features(w, 16000, LIBROSA_SET.split(",")),
        "librosa_y": lambda w: librosa_features(w, 16000, False),
        "librosa_S": lambda w: librosa_features(w, 16000, True),
    }
    cpu = {}
    for name, fn in runs.items():
        fn(windows[0])
        t0 = time.process_time()
        for w in windows:
            fn(w)
        cpu[name] = time.process_time() - t0
    return cpu


def agreement(pairs: list[tuple[Path, Path]]) -> dict[str, float]:
    """Largest differences between fieldrec's saved features and librosa / scipy on the same samples."""
    import librosa
    from scipy import signal

    lf = librosa.feature
    worst = {"log_mel_db_abs": 0.0, "frame_features_rel": 0.0, "welch_rel": 0.0}
    for wav, npz in pairs:
        y, sr = sf.read(wav, dtype="float64")
        f = np.load(npz)
        kw = {"y": y, "n_fft": 1024, "hop_length": 512}
        ref_mel = librosa.power_to_db(lf.melspectrogram(sr=sr, n_mels=64, dtype=np.float64, **kw), ref=1.0)
        worst["log_mel_db_abs"] = max(worst["log_mel_db_abs"], float(np.max(np.abs(f["log_mel"] - ref_mel))))
        refs = {
            "centroid_hz": lf.spectral_centroid(sr=sr, **kw)[0], "bandwidth_hz": lf.spectral_bandwidth(sr=sr, **kw)[0],
            "rolloff_hz": lf.spectral_rolloff(sr=sr, **kw)[0], "flatness": lf.spectral_flatness(**kw)[0],
            "rms": lf.rms(y=y, frame_length=1024, hop_length=512, dtype=np.float64)[0],
            "zcr": lf.zero_crossing_rate(y, frame_length=1024, hop_length=512)[0],
        }
        for key, ref in refs.items():
            rel = np.abs(f[key] - ref) / np.maximum(np.abs(ref), 1e-300)
            worst["frame_features_rel"] = max(worst["frame_features_rel"], float(np.max(rel)))
        # scipy's one-sided "spectrum" is RMS^2 per bin: ours reads A^2 for a sine, twice that (DC, Nyquist aside)
        ref_w = 2 * signal.welch(y, sr, nperseg=1024, noverlap=512, detrend=False, scaling="spectrum")[1]
        rel = np.abs(f["power_spectrum"][1:-1] - ref_w[1:-1]) / ref_w[1:-1]
        worst["welch_rel"] = max(worst["welch_rel"], float(np.max(rel)))
    return worst


def main() -> int:
    from threadpoolctl import threadpool_limits

    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-dataset-") as tmp:
        tmp = Path(tmp)
        src = tmp / "src"
        src.mkdir()
        paths = make_takes(src)
        audio_s = N * SECONDS
        anchor_s = N_ANCHOR * SECONDS
        with threadpool_limits(1):  # the same for both sides; see the module docstring
            anchor_y = librosa_anchor(paths[:N_ANCHOR], tmp / "librosa-y", shared=False)
            anchor_s_cpu = librosa_anchor(paths[:N_ANCHOR], tmp / "librosa-S", shared=True)
            same_cpu = export_in_process(paths[:N_ANCHOR], tmp / "same", LIBROSA_SET)
            all_cpu = export_in_process(paths[:N_ANCHOR], tmp / "all", "all")
            pairs = windows_of(tmp / "all")
            step = feature_step(pairs)
            agree = agreement(pairs)
        one, one_cpu, _ = run_export([src], tmp / "out1", 1)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the one-worker export: in-process
        two, two_cpu, two_free = run_export([src], tmp / "out2", 2)
        emit("dataset.export_takes", N, "takes of 30 s 48 kHz/2ch/24-bit", None)
        emit("dataset.export_1_worker_x_realtime", audio_s / one, "x real time (wall)", None)
        emit("dataset.export_1_worker_x_realtime_per_cpu_s", audio_s / one_cpu, "x real time per CPU second", None)
        emit("dataset.export_2_workers_x_realtime", audio_s / two, "x real time (wall)", ">= 100")
        emit("dataset.export_2_vs_1_workers", one / two, "ratio (wall)", ">= 1.6")
        emit("dataset.export_2_workers_x_realtime_per_cpu_s", audio_s / two_cpu, "x real time per CPU second", None)
        # what two free cores would give (see run_export); one worker on a free core takes its CPU time
        emit("dataset.export_2_workers_x_realtime_if_2_free_cores", audio_s / two_free, "x real time (estimate)",
             ">= 100")
        emit("dataset.export_2_vs_1_workers_if_2_free_cores", one_cpu / two_free, "ratio (estimate)", ">= 1.6")
        emit("dataset.export_peak_rss_1_worker", peak_mb, "MB", None)
        emit("dataset.librosa_y_x_realtime_per_cpu_s", anchor_s / anchor_y, "x real time per CPU second", None)
        emit("dataset.librosa_S_x_realtime_per_cpu_s", anchor_s / anchor_s_cpu, "x real time per CPU second", None)
        emit("dataset.export_all_features_vs_librosa_y", anchor_y / all_cpu, "ratio (CPU time)", ">= 2")
        emit("dataset.export_librosa_features_vs_librosa_y", anchor_y / same_cpu, "ratio (CPU time)", ">= 2")
        emit("dataset.export_all_features_vs_librosa_S", anchor_s_cpu / all_cpu, "ratio (CPU time)", ">= 2")
        emit("dataset.export_librosa_features_vs_librosa_S", anchor_s_cpu / same_cpu, "ratio (CPU time)", ">= 2")
        n_win = len(pairs)
        for name, cpu in step.items():
            emit(f"dataset.feature_step_{name}_ms_per_window", 1e3 * cpu / n_win, "ms CPU per 1 s window", None)
        emit("dataset.feature_step_all_vs_librosa_y", step["librosa_y"] / step["fieldrec_all"], "ratio (CPU time)", ">= 2")
        emit("dataset.feature_step_all_vs_librosa_S", step["librosa_S"] / step["fieldrec_all"], "ratio (CPU time)", ">= 2")
        emit("dataset.feature_step_librosa_set_vs_librosa_S", step["librosa_S"] / step["fieldrec_librosa_set"],
             "ratio (CPU time)", ">= 2")
        emit("dataset.agreement_log_mel_max_abs_db", agree["log_mel_db_abs"], "dB", "<= 1e-5")
        emit("dataset.agreement_frame_features_max_rel", agree["frame_features_rel"], "relative", "<= 1e-5")
        emit("dataset.agreement_welch_max_rel", agree["welch_rel"], "relative", "<= 1e-5")
        emit("dataset.load_average_1min_at_end", os.getloadavg()[0], "processes", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
