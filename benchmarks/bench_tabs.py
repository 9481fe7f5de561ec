"""The live view behind another tab: GUI-thread CPU per frame and process CPU while recording 48 kHz / 2 ch
from the simulated source, with the Live tab in front (the anchor) and with the Library tab in front (the
live view is not drawn: ``MainWindow.set_live_shown(False)``), alternating twice, offscreen Qt.

GUI-thread CPU is ``time.thread_time()`` of the main thread over the frames (everything the GUI thread does:
the frame timer, painting, the event loop), per window frame; process CPU is ``getrusage`` user+system per
second of wall time (the take's own threads included).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SECONDS = 8.0


def emit(name: str, value: float, unit: str, target: str | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "target": target}), flush=True)


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from fieldrec.gui.config import GuiConfig
    from fieldrec.gui.main_window import MainWindow
    from fieldrec.gui.tabs import LIBRARY, LIVE
    from fieldrec.gui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(["fieldrec"])
    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="fieldrec-bench-tabs-"))
    cfg = GuiConfig(device="simulated", out_dir=str(tmp / "takes"), settings_path=tmp / "c" / "gui.json",
                    log_dir=tmp / "log")
    w = MainWindow(config=cfg)
    w.auto_answer_close = True
    w.resize(1560, 960)
    w.show()

    def spin(s: float) -> None:
        end = time.monotonic() + s
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.002)

    spin(3)
    w.record()
    spin(2)
    sums = {LIVE: [0.0, 0.0, 0, 0.0], LIBRARY: [0.0, 0.0, 0, 0.0]}  # thread s, process s, frames, wall s
    for tab in (LIVE, LIBRARY, LIVE, LIBRARY):
        w.tabs.setCurrentIndex(tab)
        spin(1)
        f0, t0, c0 = w.frame_count, time.thread_time(), time.monotonic()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        spin(SECONDS)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        s = sums[tab]
        s[0] += time.thread_time() - t0
        s[1] += (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        s[2] += w.frame_count - f0
        s[3] += time.monotonic() - c0
    w.stop().wait(30)
    w.close()
    live, lib = sums[LIVE], sums[LIBRARY]
    live_ms, lib_ms = 1000 * live[0] / live[2], 1000 * lib[0] / lib[2]
    emit("tabs.gui_thread_cpu_per_frame.live_tab", live_ms, "ms", None)
    emit("tabs.gui_thread_cpu_per_frame.library_tab", lib_ms, "ms", None)
    emit("tabs.gui_thread_cpu.library_over_live", lib_ms / live_ms, "ratio", "the live view costs nothing hidden")
    emit("tabs.process_cpu.live_tab", live[1] / live[3], "cores", None)
    emit("tabs.process_cpu.library_tab", lib[1] / lib[3], "cores", None)
    emit("tabs.fps.library_tab", lib[2] / lib[3], "fps", None)
    emit("load_average_1min", os.getloadavg()[0], "", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
