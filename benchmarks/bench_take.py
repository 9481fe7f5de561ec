"""Blocks lost in a long 192 kHz / 8 ch / 24-bit take from the simulated source while a second process keeps
the other core busy (target: 0), through the real take: callback → ring → writer thread → crash-safe WAV,
meter thread → MeterBank.

FIELDREC_BENCH_TAKE_S sets the take length (default 600 s, the issue's ten minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from fieldrec.recorder import Recorder, TakeSettings

BUSY = "import time\nend = time.monotonic() + {s}\nx = 0\nwhile time.monotonic() < end:\n    x += 1\n"


def main() -> None:
    seconds = float(os.environ.get("FIELDREC_BENCH_TAKE_S", "600"))
    with tempfile.TemporaryDirectory() as tmp:
        busy = subprocess.Popen([sys.executable, "-c", BUSY.format(s=seconds + 30)])
        try:
            rec = Recorder(TakeSettings(device="simulated", samplerate=192000, channels=8, subtype="PCM_24",
                                        duration_s=seconds, out_dir=Path(tmp)))
            with rec:
                start = time.monotonic()
                paths = rec.record({})
                result = rec.wait(seconds + 120)
                wall = time.monotonic() - start
            assert result is not None, "the take did not end"
            frames = sf.info(str(paths.audio)).frames
        finally:
            busy.kill()
    lost = [e for e in result.overflows if e.kind in ("input_overflow", "ring_overrun")]
    frames_lost = sum(e.frames_lost for e in lost)
    figures = [
        ("take_192k_8ch.seconds", seconds, "s", None),
        ("take_192k_8ch.lost_events_busy_core", len(lost), "events", 0),
        ("take_192k_8ch.lost_frames_busy_core", frames_lost, "frames", 0),
        ("take_192k_8ch.file_frames_vs_expected", frames / (seconds * 192000), "ratio", 1.0),
        ("take_192k_8ch.wall_time_ratio", wall / seconds, "x real time", 1.0),
    ]
    for name, value, unit, target in figures:
        print(json.dumps({"name": name, "value": value, "unit": unit, "target": target}), flush=True)


if __name__ == "__main__":
    main()
