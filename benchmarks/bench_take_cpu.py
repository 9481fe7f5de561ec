"""What a take costs the laptop: CPU of the whole `fieldrec record` process per second of audio, against
`arecord` recording the same virtual input at the same time (the anchor, same run), with meters on.

Both record from the private PulseAudio device of tests/pulse_rig.py while a known signal is fed into it.
Start-up is not counted: the window opens once both have written FIELDREC_BENCH_CPU_WARMUP_S of audio and
lasts FIELDREC_BENCH_CPU_S seconds (default 20). CPU is each thread's run time from
/proc/<pid>/task/<tid>/schedstat (nanoseconds; utime + stime in 10 ms ticks where the kernel has no schedstat),
summed over the threads; the per-thread split uses the native thread names (see fieldrec/threads.py).

Targets (issue 11): at most 5x arecord at 48 kHz / 2 ch, at most 0.25 of a core at 192 kHz / 8 ch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

TICK = os.sysconf("SC_CLK_TCK")


def emit(name: str, value: float, unit: str, target: object) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 5), "unit": unit, "target": target}), flush=True)


def _task_seconds(task: Path) -> float:
    """CPU seconds of one thread: the scheduler's exact run time (schedstat, ns) where the kernel has it, else
    utime + stime in clock ticks (10 ms: arecord's few ms per second would be a handful of ticks)."""
    try:
        return int((task / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK


def thread_seconds(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (native names, fieldrec/threads.py). The main thread is "main"; PortAudio's
    callback thread (and idle library threads) keep the interpreter's name "python"."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = "main" if task.name == str(pid) else (task / "comm").read_text().strip()
            seconds = _task_seconds(task)
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + seconds
    return out


def cpu_seconds(pid: int) -> float:
    """CPU seconds of the whole process so far (its live threads; none ends while a window is measured)."""
    return sum(thread_seconds(pid).values())


def wav_seconds(path: Path, rate: int, channels: int, width: int) -> float:
    try:
        return max(0, path.stat().st_size - 100) / (rate * channels * width)
    except OSError:
        return 0.0


def measure(rig, rate: int, channels: int, seconds: float, warmup: float) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="fieldrec-bench-cpu-"))
    total = warmup + seconds + 6
    fed = (0.1 * np.random.default_rng(1).standard_normal((int((total + 4) * 48000), 2))).astype(np.float32)
    feeder = rig.feed(fed)
    env = dict(os.environ, XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"))
    fr = subprocess.Popen([sys.executable, "-m", "fieldrec", "record", "-d", rig.device_name, "-r", str(rate),
                           "-c", str(channels), "-f", "wav24", "-t", str(total), "-o", str(tmp / "fr"), "-q"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ar_path = tmp / "arecord.wav"
    ar = subprocess.Popen(["arecord", "-q", "-D", rig.device_name, "-f", "S24_3LE", "-r", str(rate), "-c",
                           str(channels), "-d", str(int(total)), str(ar_path)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            takes = list((tmp / "fr").glob("*.wav"))
            if takes and wav_seconds(takes[0], rate, channels, 3) >= warmup and \
                    wav_seconds(ar_path, rate, channels, 3) >= warmup:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the recorders did not start: " + (fr.stderr.read(300).decode() if fr.poll() else ""))
        t0 = time.monotonic()
        f0, a0, th0 = cpu_seconds(fr.pid), cpu_seconds(ar.pid), thread_seconds(fr.pid)
        time.sleep(seconds)
        f1, a1, th1 = cpu_seconds(fr.pid), cpu_seconds(ar.pid), thread_seconds(fr.pid)
        wall = time.monotonic() - t0
        fr.wait(timeout=total + 60)
        ar.wait(timeout=total + 60)
    finally:
        for p in (fr, ar):
            if p.poll() is None:
                p.kill()
        feeder.kill()
    out = {"fieldrec": (f1 - f0) / wall, "arecord": (a1 - a0) / wall}
    for name, value in th1.items():
        out[f"thread:{name}"] = (value - th0.get(name, 0.0)) / wall
    return out


def main() -> None:
    from pulse_rig import PulseRig

    seconds = float(os.environ.get("FIELDREC_BENCH_CPU_S", "20"))
    warmup = float(os.environ.get("FIELDREC_BENCH_CPU_WARMUP_S", "2"))
    rig = PulseRig()
    rig.start()
    os.environ.update(rig.env)
    try:
        for rate, channels, tag in ((48000, 2, "48k_2ch"), (192000, 8, "192k_8ch")):
            r = measure(rig, rate, channels, seconds, warmup)
            emit(f"take_cpu_{tag}.fieldrec", r["fieldrec"], "s CPU per s of audio", "<= 0.25" if channels == 8 else None)
            emit(f"take_cpu_{tag}.arecord", r["arecord"], "s CPU per s of audio (anchor, same run)", None)
            emit(f"take_cpu_{tag}.ratio_to_arecord", r["fieldrec"] / max(r["arecord"], 1e-3), "x arecord",
                 "<= 5" if channels == 2 else None)
            for key, value in sorted(r.items()):
                if key.startswith("thread:") and value >= 0.001:
                    emit(f"take_cpu_{tag}.{key}", value, "s CPU per s of audio", None)
    finally:
        rig.stop()


if __name__ == "__main__":
    main()
