#!/usr/bin/env python3
"""Screenshot of the Export dialog: ``tools/screenshot_export.py OUT_DIR`` writes ``OUT_DIR/export.png``.

Records six short takes from the simulated source into a temporary folder (one of them then damaged: its
file cut short), opens the library (the widget of the window's Library tab) on it under Xvfb (as ``tools/screenshot_review.py`` does),
presses "Export dataset…" with no row selected (so every shown take goes), picks 16 kHz mono 1 s windows
with all features grouped by site (a seed that puts a site in each split), waits for the preview, exports, and grabs the dialog with the summary.
Settings, caches and the dataset go to the temporary folder.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshot_review import settle, shot_session  # noqa: E402 (the tools folder, put on the path above)


def main(argv: list[str]) -> int:
    with shot_session(argv) as (out, tmp):
        from tests.takes import record_take

        takes = tmp / "takes"
        for i, (place, tags, secs) in enumerate((
                ("Oak ridge", ("birds", "dawn"), 3), ("Marsh", ("frogs", "dusk"), 4), ("Beech wood", ("birds",), 3),
                ("Oak ridge", ("birds",), 2), ("Reed bed", ("birds", "wind"), 3), ("Road verge", ("traffic",), 2))):
            audio = record_take(takes / ("day2" if i >= 3 else "day1"), secs, location=place, tags=tags)
            if place == "Road verge":  # damaged after recording: the export reports it and goes on
                audio.write_bytes(audio.read_bytes()[:20000])

        from PySide6.QtWidgets import QApplication

        from fieldrec.gui.library import LibraryWidget
        from fieldrec.gui.theme import apply_dark_theme

        app = QApplication.instance() or QApplication(["fieldrec"])
        apply_dark_theme(app)
        lib = LibraryWidget([takes])
        lib.resize(1500, 900)
        lib.show()
        settle(app, 1.0)
        lib.table.clearSelection()
        lib.export_button.click()
        d = lib.export_dialog
        assert d is not None
        d.out_edit.setText(str(tmp / "datasets" / "dawn"))
        d.samplerate.setCurrentText("16000")
        d.channels.setCurrentText("mono")
        d.segment.setCurrentText("window")
        d.features.setCurrentText("all")
        d.group_by.setCurrentText("site")
        d.workers.setValue(2)
        d.quality["max_clipped"][0].setChecked(True)
        d.quality["max_clipped"][1].setValue(1000)  # the simulated knocks clip by design; a damaged take is still left out
        from dataclasses import replace

        from fieldrec.dataset.options import request_from_options
        from fieldrec.dataset.pipeline import run_export

        opts = d.options(dry_run=True)  # a seed that gives each split a site (as a user would try seeds)
        d.seed.setValue(next((seed for seed in range(200) if all(
            r["takes"] for r in run_export(request_from_options(replace(opts, seed=seed))).plan.values())), 0))
        settle(app, 1.0)
        deadline = time.monotonic() + 60
        while (d.busy() or d._preview_timer.isActive()) and time.monotonic() < deadline:
            settle(app, 0.1)
        d.export_button.click()
        deadline = time.monotonic() + 180
        while d.last_summary is None and time.monotonic() < deadline:
            settle(app, 0.1)
        settle(app, 0.5)
        d.grab().save(str(out / "export.png"))
        print(out / "export.png", "summary:", d.summary.text().splitlines()[:1])
        d.close()
        lib.close()
        return 0 if d.last_summary is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
