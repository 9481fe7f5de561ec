"""What a take costs the laptop: CPU of the whole `fieldrec record` process per second of audio, against
`arecord` recording the same virtual input at the same time (the anchor, same run), with meters on.

Both record from the private PulseAudio device of tests/pulse_rig.py while a known signal is fed into it.
Start-up is not counted: the window opens once both have written FIELDREC_BENCH_CPU_WARMUP_S of audio and
lasts FIELDREC_BENCH_CPU_S seconds (default 20). CPU is each thread's run time from
/proc/<pid>/task/<tid>/schedstat (nanoseconds; utime + stime in 10 ms ticks where the kernel has no schedstat),
summed over the threads; the per-thread split uses the native thread names (see fieldrec/threads.py).

Three windows: 48 kHz / 2 ch with fieldrec on a terminal (a pty: it draws its status line, reading the meters
4 times a second, as a person at a terminal sees it) beside arecord on a terminal drawing its own level meter
(``-V``); the same with ``-q`` and no terminal for both (nobody reads fieldrec's meters; the take's analysis
is still measured); and 192 kHz / 8 ch on a terminal.

Targets (issue 11): at most 5x arecord at 48 kHz / 2 ch, at most 0.25 of a core at 192 kHz / 8 ch.

The anchor runs at the same time as fieldrec, so both see the machine in the same state. PulseAudio hands both
clients their audio in the smaller client's pieces (arecord's 0.125 s periods since `fieldrec record` asks for
0.34 s blocks; fieldrec's 2048-frame blocks before, which the window still uses), so for context the run also
measures arecord alone on the device, at its own period (a quarter of its 0.5 s buffer) and at 2048-frame
periods (``arecord_alone``, ``arecord_alone_2048``), with the ratios to them.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from common import task_cpu_seconds  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def emit(name: str, value: float, unit: str, target: object) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 5), "unit": unit, "target": target}), flush=True)


def task_seconds(pid: int) -> dict[str, tuple[str, float]]:
    """CPU seconds so far of each live thread of ``pid``: tid -> (name, seconds). The main thread is named
    "main"; PortAudio's callback thread (and idle library threads) keep the interpreter's name "python"."""
    out: dict[str, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = "main" if task.name == str(pid) else (task / "comm").read_text().strip()
            out[task.name] = (name, task_cpu_seconds(task))
        except OSError:
            continue
    return out


def per_thread(before: dict[str, tuple[str, float]], after: dict[str, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds spent between two ``task_seconds`` readings, summed per thread name (a thread that ended in
    between is not counted, one that started counts from zero)."""
    out: dict[str, float] = {}
    for tid, (name, seconds) in after.items():
        out[name] = out.get(name, 0.0) + seconds - before.get(tid, (name, 0.0))[1]
    return out


def wav_seconds(path: Path, rate: int, channels: int, width: int) -> float:
    try:
        return max(0, path.stat().st_size - 100) / (rate * channels * width)
    except OSError:
        return 0.0


def _drain(fd: int) -> None:
    """Read (and forget) what the recorder draws on its terminal until it closes it."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass


def measure(rig, rate: int, channels: int, seconds: float, warmup: float, terminal: bool) -> dict[str, float]:
    """One window of ``seconds``. ``terminal``: fieldrec's stderr is a terminal (a pty), so it draws its status
    line (4 times a second, reading the meters) as for a person at a terminal; else ``-q`` with no terminal,
    so nobody reads the meters while the take's analysis is measured."""
    tmp = Path(tempfile.mkdtemp(prefix="fieldrec-bench-cpu-"))
    total = warmup + seconds + 6
    fed = (0.1 * np.random.default_rng(1).standard_normal((int((total + 4) * 48000), 2))).astype(np.float32)
    feeder = rig.feed(fed)
    env = dict(os.environ, XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"))
    master, slave = pty.openpty() if terminal else (-1, -1)
    ar_master, ar_slave = pty.openpty() if terminal else (-1, -1)
    fr = subprocess.Popen([sys.executable, "-m", "fieldrec", "record", "-d", rig.device_name, "-r", str(rate),
                           "-c", str(channels), "-f", "wav24", "-t", str(total), "-o", str(tmp / "fr"),
                           *(() if terminal else ("-q",))],
                          env=env, stdout=subprocess.DEVNULL, stderr=slave if terminal else subprocess.PIPE)
    ar_path = tmp / "arecord.wav"
    # on a terminal arecord draws its own level meter (-V: a peak bar per channel, redrawn every period), so
    # both sides show levels; without one it is -q, like fieldrec
    meter = ("-V", "stereo" if channels >= 2 else "mono") if terminal else ("-q",)
    ar = subprocess.Popen(["arecord", *meter, "-D", rig.device_name, "-f", "S24_3LE", "-r", str(rate), "-c",
                           str(channels), "-d", str(int(total)), str(ar_path)], env=env,
                          stdout=subprocess.DEVNULL, stderr=ar_slave if terminal else subprocess.PIPE)
    if terminal:
        os.close(slave)
        os.close(ar_slave)
        threading.Thread(target=_drain, args=(master,), daemon=True).start()
        threading.Thread(target=_drain, args=(ar_master,), daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            takes = list((tmp / "fr").glob("*.wav"))
            if takes and wav_seconds(takes[0], rate, channels, 3) >= warmup and \
                    wav_seconds(ar_path, rate, channels, 3) >= warmup:
                break
            time.sleep(0.05)
        else:
            said = fr.stderr.read(300).decode() if fr.poll() is not None and fr.stderr else ""
            raise RuntimeError("the recorders did not start: " + said)
        t0 = time.monotonic()
        f0, a0 = task_seconds(fr.pid), task_seconds(ar.pid)
        time.sleep(seconds)
        f1, a1 = task_seconds(fr.pid), task_seconds(ar.pid)
        wall = time.monotonic() - t0
        fr.wait(timeout=total + 60)
        ar.wait(timeout=total + 60)
    finally:
        for p in (fr, ar):
            if p.poll() is None:
                p.kill()
        feeder.kill()
        if terminal:
            os.close(master)
            os.close(ar_master)
    threads = per_thread(f0, f1)
    out = {"fieldrec": sum(threads.values()) / wall, "arecord": sum(per_thread(a0, a1).values()) / wall}
    for name, value in threads.items():
        out[f"thread:{name}"] = value / wall
    return out


def arecord_alone(rig, rate: int, channels: int, seconds: float, warmup: float, period: int | None) -> float:
    """CPU per second of audio of arecord recording the rig alone (``period``: frames per period, else its own)."""
    tmp = Path(tempfile.mkdtemp(prefix="fieldrec-bench-arecord-"))
    total = warmup + seconds + 2
    fed = (0.1 * np.random.default_rng(1).standard_normal((int((total + 4) * 48000), 2))).astype(np.float32)
    feeder = rig.feed(fed)
    periods = () if period is None else (f"--period-size={period}",)
    ar = subprocess.Popen(["arecord", "-q", "-D", rig.device_name, "-f", "S24_3LE", "-r", str(rate), "-c",
                           str(channels), *periods, "-d", str(int(total)), str(tmp / "arecord.wav")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(warmup)
        t0 = time.monotonic()
        a0 = task_seconds(ar.pid)
        time.sleep(seconds)
        a1 = task_seconds(ar.pid)
        wall = time.monotonic() - t0
    finally:
        ar.kill()
        ar.wait()
        feeder.kill()
    return sum(per_thread(a0, a1).values()) / wall


def main() -> None:
    from pulse_rig import PulseRig

    seconds = float(os.environ.get("FIELDREC_BENCH_CPU_S", "20"))
    warmup = float(os.environ.get("FIELDREC_BENCH_CPU_WARMUP_S", "2"))
    rig = PulseRig()
    rig.start()
    os.environ.update(rig.env)
    try:
        for rate, channels, terminal, tag in ((48000, 2, True, "48k_2ch"), (48000, 2, False, "48k_2ch_quiet"),
                                              (192000, 8, True, "192k_8ch")):
            r = measure(rig, rate, channels, seconds, warmup, terminal)
            emit(f"take_cpu_{tag}.fieldrec", r["fieldrec"], "s CPU per s of audio", "<= 0.25" if channels == 8 else None)
            emit(f"take_cpu_{tag}.arecord", r["arecord"], "s CPU per s of audio (anchor, same run)", None)
            emit(f"take_cpu_{tag}.ratio_to_arecord", r["fieldrec"] / max(r["arecord"], 1e-3), "x arecord",
                 "<= 5" if channels == 2 else None)
            for key, value in sorted(r.items()):
                if key.startswith("thread:") and value >= 0.001:
                    emit(f"take_cpu_{tag}.{key}", value, "s CPU per s of audio", None)
            if tag == "48k_2ch_quiet":  # context for the anchor (module docstring), right after it
                for period, suffix in ((None, ""), (2048, "_2048")):
                    alone = arecord_alone(rig, rate, channels, seconds, warmup + 1, period)
                    emit(f"take_cpu_{tag}.arecord_alone{suffix}", alone, "s CPU per s of audio (arecord alone, "
                         + ("its own period" if period is None else f"{period}-frame periods") + ")", None)
                    emit(f"take_cpu_{tag}.ratio_to_arecord_alone{suffix}", r["fieldrec"] / max(alone, 1e-4),
                         "x arecord alone", None)
    finally:
        rig.stop()


if __name__ == "__main__":
    main()
