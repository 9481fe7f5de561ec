"""Library benchmark: index 1,000 takes from their sidecars (target: under a second), and fill the Qt table.

A real take is recorded once from the simulated source (1 s); its sidecar and audio are copied to 1,000 takes
with their own names, start times and tags in 10 folders. Figures: ``scan`` (sidecars + the cheap checks:
stat of each audio file and its header's frame count), the Qt ``LibraryWidget`` built on the same folders
(scan + model + proxy sort), and the anchor: ``json.loads`` of the same 1,000 sidecar files (the least any
sidecar-based index must do), all best of 3, in the same run. The OS page cache is warm (files just written).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import best, emit  # noqa: E402 (benchmarks/ is on sys.path when run as a script)

TAKES = 1000



def make_library(root: Path) -> list[Path]:
    from tests.takes import record_take

    seed_dir = root / "seed"
    audio = record_take(seed_dir, 1.0, location="seed", tags=("birds",))
    side = json.loads(audio.with_suffix(".json").read_text())
    sidecars = []
    for i in range(TAKES):
        folder = root / f"day{i % 10:02d}"
        folder.mkdir(exist_ok=True)
        stem = f"2026-11-{1 + i % 28:02d}_{i:06d}_take"
        shutil.copyfile(audio, folder / f"{stem}.wav")
        d = json.loads(json.dumps(side))
        d["file"]["name"] = f"{stem}.wav"
        d["recording"]["start_local"] = f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00"
        d["metadata"]["tags"] = ["birds", f"site{i % 7}"]
        d["metadata"]["location"]["name"] = f"Site {i % 7}"
        path = folder / f"{stem}.json"
        path.write_text(json.dumps(d, indent=2))
        sidecars.append(path)
    shutil.rmtree(seed_dir)
    return sidecars



def main() -> int:
    from fieldrec.library.index import scan

    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-library-") as tmp:
        root = Path(tmp)
        sidecars = make_library(root)
        folders = sorted(p for p in root.iterdir() if p.is_dir())

        anchor = best(lambda: [json.loads(p.read_bytes()) for p in sidecars])
        records = scan(folders)
        assert len(records) == TAKES and not any(r.problems for r in records), records[0].problems
        t_scan = best(lambda: scan(folders))

        from PySide6.QtWidgets import QApplication

        from fieldrec.gui.library import LibraryWidget

        app = QApplication.instance() or QApplication([])

        def widget() -> None:
            w = LibraryWidget(folders, poll_ms=0)
            assert w.proxy.rowCount() == TAKES
            w.deleteLater()
            app.processEvents()

        t_widget = best(widget)
    emit("library.json_loads_1000_sidecars_anchor", anchor, "s", None)
    emit("library.scan_1000_takes", t_scan, "s", "< 1 s")
    emit("library.scan_1000_takes_ratio_to_json_anchor", t_scan / anchor, "x", None)
    emit("library.widget_1000_takes", t_widget, "s", "< 1 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
