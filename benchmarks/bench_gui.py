#!/usr/bin/env python3
"""GUI benchmarks (offscreen Qt, real Recorder, simulated source). One JSON line per figure:
{"name", "value", "unit", "target"}.

* frame rate and frame work with every view updating, recording, at 48 kHz/2 ch and 192 kHz/8 ch
  (target >= 30 fps; work < 30 % of the frame period). "work" is the GUI thread's CPU time per frame
  (thread_time: pulling data, FFTs, setData/setImage, layout and painting), "update" the timer slot alone;
* launch to first painted frame (a fresh process; target < 2 s);
* blocks lost in 60 s at 192 kHz/8 ch with the GUI running (target 0).

``--quick`` shortens the runs (10 s of loss test) for a smoke check.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def emit(name: str, value, unit: str, target) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, "target": target}), flush=True)


_FIRST_FRAME_CHILD = r"""
import sys, time, json
sys.path.insert(0, %r)
from pathlib import Path
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
app = QApplication(["fieldrec"])
from fieldrec.gui.theme import apply_dark_theme
from fieldrec.gui.app import create_window
from fieldrec.gui.config import GuiConfig
apply_dark_theme(app)
tmp = Path(%r)
w = create_window(GuiConfig(device="simulated", out_dir=str(tmp / "takes"), settings_path=tmp / "gui.json"))
w.show()
def first(_work):
    w.frameDone.disconnect(first)
    w.repaint()  # the data of the first frame on screen
    print(json.dumps({"painted": time.time()}), flush=True)
    w.close(); app.quit()
w.frameDone.connect(first)
app.exec()
"""


def launch_to_first_frame(tmp: Path) -> float:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", _FIRST_FRAME_CHILD % (str(ROOT), str(tmp))],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)["painted"] - t0
    raise RuntimeError(f"child failed: {out.stderr[-2000:]}")


def run_window(samplerate: int, channels: int, seconds: float, tmp: Path, record: bool = True) -> dict:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from fieldrec.gui.app import create_window
    from fieldrec.gui.config import GuiConfig
    from fieldrec.gui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(["fieldrec"])
    apply_dark_theme(app)
    cfg = GuiConfig(device="simulated", samplerate=samplerate, channels=channels, format_name="WAV 24-bit",
                    out_dir=str(tmp / f"takes-{samplerate}-{channels}"), settings_path=tmp / "gui.json")
    w = create_window(cfg)
    w.resize(1600, 1000)
    w.show()
    works: list[float] = []
    w.frameDone.connect(works.append)
    res: dict = {}
    warm = 1.0

    def start():
        if record:
            w.record()
        res["t0"] = time.perf_counter()
        res["cpu0"] = time.thread_time()
        res["f0"] = w.frame_count
        res["n0"] = len(works)

    def finish():
        res["t1"] = time.perf_counter()
        res["cpu1"] = time.thread_time()
        res["f1"] = w.frame_count
        res["work"] = works[res["n0"]:]
        st = w.recorder.status()
        res["elapsed_s"] = st.elapsed_s
        result = w.stop() if record else None
        res["overflows"] = list(result.overflows) if result else list(st.overflows)
        w.auto_answer_close = True
        w.close()
        app.quit()

    QTimer.singleShot(int(warm * 1000), start)
    QTimer.singleShot(int((warm + seconds) * 1000), finish)
    app.exec()
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    loss_seconds = 10.0 if args.quick else 60.0
    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-gui-") as d:
        tmp = Path(d)
        emit("gui.launch_to_first_frame", round(launch_to_first_frame(tmp), 3), "s", "< 2")
        for sr, ch in ((48000, 2), (192000, 8)):
            r = run_window(sr, ch, 10.0, tmp)
            span = r["t1"] - r["t0"]
            frames = r["f1"] - r["f0"]
            fps = frames / span
            cpu_per_frame = (r["cpu1"] - r["cpu0"]) / max(1, frames)
            upd = sorted(r["work"])
            tag = f"{sr // 1000}k_{ch}ch"
            emit(f"gui.fps.{tag}", round(fps, 1), "frames/s", ">= 30")
            emit(f"gui.frame_work.{tag}", round(1000 * cpu_per_frame, 2), "ms GUI-thread CPU per frame", "< 10 (30% of 33 ms)")
            emit(f"gui.frame_work_fraction.{tag}", round(cpu_per_frame * 30.0, 3), "fraction of a 30 fps frame", "< 0.3")
            emit(f"gui.update_slot_median.{tag}", round(1000 * upd[len(upd) // 2], 2), "ms", "< 10")
            emit(f"gui.update_slot_p95.{tag}", round(1000 * upd[int(0.95 * (len(upd) - 1))], 2), "ms", "< 10")
            emit(f"gui.blocks_lost_10s.{tag}", len(r["overflows"]), "events", 0)
        r = run_window(192000, 8, loss_seconds, tmp)
        lost = sum(e.frames_lost for e in r["overflows"])
        emit(f"gui.blocks_lost_{int(loss_seconds)}s.192k_8ch", len(r["overflows"]), "events", 0)
        emit(f"gui.frames_lost_{int(loss_seconds)}s.192k_8ch", lost, "frames", 0)
        emit(f"gui.fps_during_{int(loss_seconds)}s.192k_8ch", round((r["f1"] - r["f0"]) / (r["t1"] - r["t0"]), 1),
             "frames/s", ">= 30")
    emit("machine.nproc", os.cpu_count(), "cpus", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
