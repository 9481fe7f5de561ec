"""Field figures: how fast the trigger detector runs (times real time) and what a channel subset costs the
callback (FrameRing.push_columns against push, same run). One JSON line per figure."""

from __future__ import annotations

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


if __name__ == "__main__":
    trigger_figures()
    subset_figures()
