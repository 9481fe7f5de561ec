#!/usr/bin/env python3
"""Screenshots of the Library and Review tabs of the main window: ``tools/screenshot_review.py OUT_DIR``.

Records five short takes from the simulated source into a fresh temporary folder (different places and tags;
one whose audio then goes missing, so the library marks it), opens the window as ``fieldrec library DIR``
does (Library tab, input not opened) under Xvfb (``:98``, ``-noreset``, when there is no DISPLAY), and walks
the recordist's path: the Library tab with a search for the take, the take reviewed with a selection, a
marker and a region, its note edited in the metadata panel, and the markers exported for Raven. Saves
``OUT_DIR/library.png`` and ``OUT_DIR/review.png`` (the whole window) and prints what it did. Settings and
caches go to the temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import screenshot  # noqa: E402 (the tools folder, put on the path above)


def ensure_display() -> subprocess.Popen | None:
    """Xvfb ``:98`` (beside ``tools/screenshot.py``'s ``:99``), 1600x1100 for the library and review shots."""
    return screenshot.ensure_display(98, "1600x1100")


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


@contextlib.contextmanager
def shot_session(argv: list[str]) -> Iterator[tuple[Path, Path]]:
    """(OUT_DIR from ``argv``, default docs/images; a fresh temporary folder that holds the cache) with a display
    (ensure_display); the folder and a display started here are gone afterwards."""
    out = Path(argv[0] if argv else "docs/images")
    out.mkdir(parents=True, exist_ok=True)
    xvfb = ensure_display()
    tmp = Path(tempfile.mkdtemp(prefix="fieldrec-shot-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    try:
        yield out, tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


def main(argv: list[str]) -> int:
    with shot_session(argv) as (out, tmp):
        from tests.takes import record_take

        takes = tmp / "takes"
        record_take(takes, 4, location="Marsh", tags=("frogs", "dusk"))
        record_take(takes, 6, location="Oak ridge", tags=("birds", "dawn"), notes="wren close by")
        record_take(takes, 5, location="Beech wood", tags=("birds", "wind"))
        chosen = record_take(takes, 8, location="Beech wood", tags=("birds",), notes="song thrush")
        gone = record_take(takes, 2, location="Stream", tags=("water",))
        gone.unlink()  # a take whose audio went missing: the library marks it

        from PySide6.QtWidgets import QApplication

        from fieldrec.gui.config import GuiConfig
        from fieldrec.gui.main_window import MainWindow
        from fieldrec.gui.theme import apply_dark_theme

        app = QApplication.instance() or QApplication(["fieldrec"])
        apply_dark_theme(app)
        cfg = GuiConfig(device="simulated", out_dir=str(takes), settings_path=tmp / "config" / "gui.json",
                        log_dir=tmp / "log")
        w = MainWindow(config=cfg)
        w.auto_answer_close = True
        w.show_library()  # as `fieldrec library DIR`: the Library tab, the input not opened
        w.resize(1600, 1060)
        w.show()
        settle(app, 1.5)
        w.library.use_dates.setChecked(True)  # the day's takes (the date range is today's: a fresh folder)
        w.library.search.setText("birds")
        w.library.select_take(str(chosen.with_suffix(".json")))
        settle(app, 0.8)
        w.grab().save(str(out / "library.png"))

        w.review_take(chosen)
        settle(app, 1.0)
        w.review.wait_idle()
        settle(app, 0.5)
        sr = w.review.samplerate
        w.review.add_marker(int(1.6 * sr), "thrush")
        w.review.add_region((int(4.1 * sr), int(5.2 * sr)), "wren song")
        w.review.rename_marker(0, "song thrush")  # fix a marker
        w.review.set_selection((int(2.0 * sr), int(3.5 * sr)))
        notes = w.review.metadata_editor.panel.editors["notes"]
        notes.setFocus()
        notes.setPlainText("song thrush; wren at 4 s")  # fix a note (saved after the panel's debounce)
        settle(app, 1.2)
        w.review.wait_idle()
        settle(app, 1.5)
        raven = tmp / "markers.selections.txt"
        w.review.export_markers_to(raven, "raven")
        w.park_focus()
        settle(app, 0.5)
        w.grab().save(str(out / "review.png"))
        print(out / "library.png", out / "review.png")
        print("metadata:", w.review.metadata_editor.message)
        print("raven table:\n" + raven.read_text())
        w.close()
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
