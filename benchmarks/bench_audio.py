"""Audio benchmarks: the cost of the capture callback and of the simulated source.

Prints one JSON line per figure: {"name", "value", "unit", "target"}. Runs in well under a minute.
  callback_*_direct_*   the function Capture installs, called directly with preallocated blocks
  callback_*_live_*     the same function timed inside a running SimulatedStream (its real thread)
  fieldsignal_render_*  FieldSignal rendering time as a fraction of the audio duration
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldrec.audio.devices import SIMULATED_DEVICE  # noqa: E402
from fieldrec.audio.simulated import FieldSignal, SimulatedStream  # noqa: E402
from fieldrec.audio.stream import Capture  # noqa: E402

BLOCK = 256
CASES = [("48k_2ch", 48000, 2, "float32", 0.05), ("192k_8ch", 192000, 8, "int32", 0.25)]


def emit(name: str, value: float, unit: str, target: str | None) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 6), "unit": unit, "target": target}), flush=True)


class _NoFlags:
    input_overflow = False


def bench_direct(tag: str, sr: int, ch: int, dtype: str, target: float, calls: int = 40000) -> None:
    cap = Capture(SIMULATED_DEVICE, sr, ch, dtype, blocksize=BLOCK)
    cb = cap.callback
    rng = np.random.default_rng(0)
    blocks = [(rng.standard_normal((BLOCK, ch)) * (1000 if dtype != "float32" else 0.1)).astype(dtype)
              for _ in range(8)]
    flags = _NoFlags()
    times = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(calls):
        b = blocks[i & 7]
        t0 = clock()
        cb(b, BLOCK, None, flags)
        times[i] = clock() - t0
    period_ns = BLOCK / sr * 1e9
    frac = times / period_ns
    emit(f"callback_{tag}_{dtype}_direct_median", np.median(frac), "fraction of block period", f"<= {target}")
    emit(f"callback_{tag}_{dtype}_direct_p99", np.percentile(frac, 99), "fraction of block period", None)
    emit(f"callback_{tag}_{dtype}_direct_median_us", np.median(times) / 1000, "us", None)
    cap.close()


def bench_live(tag: str, sr: int, ch: int, dtype: str, target: float, seconds: float = 6.0) -> None:
    cap = Capture(SIMULATED_DEVICE, sr, ch, dtype, blocksize=BLOCK)
    cb = cap.callback
    n_max = int(seconds * sr / BLOCK) + 64
    times = np.zeros(n_max, dtype=np.int64)
    lateness = np.zeros(n_max, dtype=np.float64)
    count = [0]
    clock = time.perf_counter_ns

    def timed(indata, frames, time_info, status):
        t0 = clock()
        cb(indata, frames, time_info, status)
        i = count[0]
        if i < n_max:
            times[i] = clock() - t0
            lateness[i] = time_info.currentTime - time_info.inputBufferAdcTime - frames / sr
        count[0] = i + 1

    stream = SimulatedStream(sr, ch, dtype, BLOCK, timed)
    stream.start()
    time.sleep(seconds)
    stream.stop()
    stream.close()
    n = min(count[0], n_max)
    period_ns = BLOCK / sr * 1e9
    frac = times[:n] / period_ns
    emit(f"callback_{tag}_{dtype}_live_median", np.median(frac), "fraction of block period", f"<= {target}")
    emit(f"callback_{tag}_{dtype}_live_p99", np.percentile(frac, 99), "fraction of block period", None)
    emit(f"simulated_{tag}_delivered", count[0] * BLOCK / (sr * seconds), "fraction of real time", ">= 0.98")
    emit(f"simulated_{tag}_block_delay_p99", np.percentile(lateness[:n], 99) * 1000, "ms after the block's last frame was due", None)
    cap.close()


def bench_render(sr: int = 192000, ch: int = 8, seconds: float = 10.0, block: int = 4096) -> None:
    sig = FieldSignal(sr, ch, seed=0)
    sig.render(block)  # warm up
    out = np.empty((block, ch), np.float32)
    n = int(seconds * sr / block)
    t0 = time.perf_counter()
    for _ in range(n):
        sig.render_into(out)
    dt = time.perf_counter() - t0
    emit("fieldsignal_render_192k_8ch", dt / (n * block / sr), "fraction of real time (one core)", "<= 0.5")
    t0 = time.perf_counter()
    FieldSignal(sr, ch, seed=1)
    emit("fieldsignal_init_192k_8ch", time.perf_counter() - t0, "s", None)


def bench_portaudio_rig(seconds: float = 5.0) -> None:
    """The same callback timed inside a real PortAudio stream from the private PulseAudio test device."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    try:
        from pulse_rig import PulseRig, RigError

        rig = PulseRig()
        rig.start()
    except (ImportError, RigError, OSError) as exc:
        print(f"bench_audio: no PulseAudio rig, PortAudio figures skipped ({exc})", file=sys.stderr)
        return
    import os

    os.environ.update(rig.env)
    try:
        from fieldrec.audio.devices import portaudio, resolve_device

        sd = portaudio()
        dev = resolve_device(rig.device_name)
        for tag, sr, ch, dtype, target in CASES:
            cap = Capture(dev, sr, ch, dtype, blocksize=BLOCK)
            cap.close()  # only its callback is used, inside a stream that times it
            cb = cap.callback
            n_max = int(seconds * sr / BLOCK) * 2 + 64
            times = np.zeros(n_max, dtype=np.int64)
            count = [0]
            clock = time.perf_counter_ns

            def timed(indata, frames, time_info, status, cb=cb, times=times, count=count, n_max=n_max,
                      clock=clock):
                t0 = clock()
                cb(indata, frames, time_info, status)
                i = count[0]
                if i < n_max:
                    times[i] = clock() - t0
                count[0] = i + 1

            with sd.InputStream(device=dev.index, samplerate=sr, channels=ch, dtype=dtype, blocksize=BLOCK,
                                latency="high", callback=timed):
                time.sleep(seconds)
            n = min(count[0], n_max)
            frac = times[:n] / (BLOCK / sr * 1e9)
            emit(f"callback_{tag}_{dtype}_portaudio_median", np.median(frac), "fraction of block period", f"<= {target}")
            emit(f"callback_{tag}_{dtype}_portaudio_p99", np.percentile(frac, 99), "fraction of block period", None)
            emit(f"portaudio_{tag}_input_overflows", cap.ring.event_count, "events in 5 s", "0")
    finally:
        rig.stop()


def main() -> None:
    for case in CASES:
        bench_direct(*case)
    bench_render()
    for case in CASES:
        bench_live(*case)
    bench_portaudio_rig()


if __name__ == "__main__":
    main()
