"""Field figures: how fast the trigger detector runs (times real time) and what a channel subset costs the
callback (FrameRing.push_columns against push, same run). One JSON line per figure."""

from __future__ import annotations

import time

import numpy as np
from common import best, emit

from fieldrec.analysis.trigger import TriggerDetector, parse_trigger
from fieldrec.audio.ring import FrameRing

SR = 48000




def trigger_figures() -> None:
    seconds = 60.0
    rng = np.random.default_rng(1)
    x = (0.01 * rng.standard_normal((int(seconds * SR), 2))).astype(np.float32)
    block = 2400  # the session reads 50 ms batches

    def anchor() -> None:  # one plain numpy pass over the same blocks (mean square per block)
        for i in range(0, len(x), block):
            np.mean(x[i:i + block] * x[i:i + block], axis=0)

    t_anchor = best(anchor)
    for text in ("level:-30dBFS", "level:rms:-30dBFS", "band:2k-8k:-45dBFS"):
        spec = parse_trigger(text)

        def run(spec=spec) -> None:
            det = TriggerDetector(spec, SR, 2)
            for i in range(0, len(x), block):
                det.process(x[i:i + block])

        t = best(run)
        kind = text.split(":")[0] + ("_rms" if ":rms:" in text else "")
        emit(f"trigger_{kind}_x_realtime_48k_2ch", seconds / t, "x", 50.0)
        emit(f"trigger_{kind}_vs_numpy_pass", t / t_anchor, "ratio")


def subset_figures() -> None:
    n, ch = 512, 8
    blk = np.random.default_rng(2).standard_normal((n, ch)).astype(np.float32)
    full = FrameRing(SR * 10, ch, "float32")
    sub = FrameRing(SR * 10, 3, "float32")
    cols = np.array([0, 1, 4], np.intp)
    calls = 20000

    def push_all() -> None:
        for _ in range(calls):
            full.push(blk)

    def push_sub() -> None:
        for _ in range(calls):
            sub.push_columns(blk, cols)

    t_full = best(push_all)
    t_sub = best(push_sub)
    emit("ring_push_512x8_us", t_full / calls * 1e6, "us")
    emit("ring_push_columns_512x8_keep3_us", t_sub / calls * 1e6, "us")
    emit("ring_push_columns_vs_push", t_sub / t_full, "ratio", 3.0)
    period_us = n / 192000 * 1e6
    emit("ring_push_columns_share_of_512_frame_period_at_192k", t_sub / calls * 1e6 / period_us * 100, "%", 1.0)


def session_overhead_figures(seconds: float = 8.0) -> None:
    """What the session layer adds to a take (the window records every take through a FieldSession): process
    CPU per second of audio, a plain Recorder take of the simulated source (the anchor) against the same take
    through a FieldSession with nothing set and with a 10 s pre-roll, in the same run, alternated."""
    import os
    import resource
    import tempfile
    from pathlib import Path

    from fieldrec.recorder import Recorder, TakeSettings
    from fieldrec.session import FieldOptions, FieldSession

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def one(kind: str, folder: Path) -> float:
        rec = Recorder(TakeSettings(device="simulated", samplerate=SR, channels=2, container="wav",
                                    subtype="PCM_24", out_dir=folder))
        ses = None
        if kind == "plain":
            rec.arm()
        else:
            ses = FieldSession(rec, FieldOptions(pre_roll_s=10.0 if kind == "preroll" else 0.0))
            ses.start()
        time.sleep(1.0)  # the stream settles; start-up is not counted
        c0 = cpu()
        take = ses.record() if ses is not None else rec.record()
        while take.frames < seconds * SR:
            time.sleep(0.05)
        used, audio = cpu() - c0, take.frames / SR
        if ses is not None:
            ses.close()
        else:
            rec.stop()
            rec.wait(30)
            rec.disarm()
        return used / audio

    runs: dict[str, list[float]] = {"plain": [], "session": [], "preroll": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(2):
            for kind in runs:
                runs[kind].append(one(kind, Path(tmp) / f"{kind}{k}"))
    plain = min(runs["plain"])
    emit("take_cpu_s_per_s_plain_recorder_48k_2ch", plain, "s/s")
    emit("take_cpu_session_vs_plain", min(runs["session"]) / plain, "ratio", 1.2)
    emit("take_cpu_session_preroll10s_vs_plain", min(runs["preroll"]) / plain, "ratio", 1.2)
    emit("load_average_1min", os.getloadavg()[0], "")


if __name__ == "__main__":
    trigger_figures()
    subset_figures()
    session_overhead_figures()
