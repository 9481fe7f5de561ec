#!/usr/bin/env python3
"""Screenshots of the library and the review view: ``tools/screenshot_review.py OUT_DIR``.

Records four short takes from the simulated source into a temporary folder (different places and tags, one
with markers), opens ``fieldrec library`` on it under Xvfb (``:98``, started with ``-noreset`` when there is
no DISPLAY), selects a take, reviews it with a selection, a marker and a region, and saves
``OUT_DIR/library.png`` and ``OUT_DIR/review.png``. Settings and caches go to the temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ensure_display() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return None
    proc = subprocess.Popen(["Xvfb", ":98", "-screen", "0", "1600x1100x24", "-noreset"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path("/tmp/.X11-unix/X98").exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = ":98"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/images")
    out.mkdir(parents=True, exist_ok=True)
    xvfb = ensure_display()
    tmp = Path(tempfile.mkdtemp(prefix="fieldrec-shot-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    try:
        from tests.takes import record_take

        takes = tmp / "takes"
        record_take(takes, 4, location="Marsh", tags=("frogs", "dusk"))
        record_take(takes, 6, location="Oak ridge", tags=("birds", "dawn"), notes="wren close by")
        record_take(takes / "day2", 5, location="Beech wood", tags=("birds", "wind"))
        chosen = record_take(takes / "day2", 8, location="Beech wood", tags=("birds",), notes="song thrush")
        gone = record_take(takes / "day2", 2, location="Stream", tags=("water",))
        gone.unlink()  # a take whose audio went missing: the library marks it

        from PySide6.QtWidgets import QApplication

        from fieldrec.gui.config import GuiConfig
        from fieldrec.gui.library_window import LibraryWindow
        from fieldrec.gui.theme import apply_dark_theme

        app = QApplication.instance() or QApplication(["fieldrec"])
        apply_dark_theme(app)
        w = LibraryWindow([takes], GuiConfig(settings_path=tmp / "config" / "gui.json"))
        w.resize(1600, 1060)
        w.show()
        settle(app, 1.0)
        key = str(chosen.with_suffix(".json"))
        w.library.select_take(key)
        w.open_take(chosen)
        settle(app, 1.0)
        w.review.wait_idle()
        settle(app, 0.5)
        sr = w.review.samplerate
        w.review.add_marker(int(1.6 * sr), "thrush")
        w.review.add_region((int(4.1 * sr), int(5.2 * sr)), "wren song")
        w.review.set_selection((int(2.0 * sr), int(3.5 * sr)))
        settle(app, 1.0)
        w.review.wait_idle()
        settle(app, 1.5)
        w.library.rescan()
        w.library.select_take(key)
        settle(app, 0.5)
        w.grab().save(str(out / "library.png"))
        w.review.grab().save(str(out / "review.png"))
        print(out / "library.png", out / "review.png")
        w.close()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
