"""The recording window as ``fieldrec gui`` starts it, on a real X display, for the key-and-focus tests.

``python tests/gui/display_app.py SETTINGS.json [fieldrec gui flags…]`` opens the window exactly as
``fieldrec.gui.app.run`` does (same config loading, start values, theme and window) and, once the first
frame is painted, prints a JSON line with the window's X id and the global centre of the widgets a test
clicks, so that ``xdotool`` can click them, and a new line whenever the layout moves them. Nothing else is reported: the test reads the state from the
window title and the take's files, as a user would see it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

WIDGETS = ("markerLabel", "md_location_name", "spectrumView", "markerList", "deviceCombo", "fieldButton",
           "preRollSpin")


def main(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QWidget

    from fieldrec.cli import _gui_start_values, build_parser
    from fieldrec.gui.app import apply_start_values, create_window, setup_logging
    from fieldrec.gui.config import load_config
    from fieldrec.gui.theme import apply_dark_theme

    settings = Path(argv[0])
    args = build_parser().parse_args(["gui", *argv[1:]])
    config = apply_start_values(load_config(settings), _gui_start_values(args))
    config.log_dir = settings.parent / "log"
    setup_logging(config.log_dir)
    app = QApplication(["fieldrec"])
    apply_dark_theme(app)
    window = create_window(config)
    window.show()

    last: list[str] = [""]

    def report(_work: float) -> None:
        out: dict[str, object] = {"winid": int(window.winId())}
        for name in WIDGETS:
            # the one on screen (the Review tab has a metadata form of its own, with the same field names)
            found = window.findChildren(QWidget, name)
            w = next((c for c in found if c.isVisible()), found[0])
            centre = w.mapToGlobal(w.rect().center())
            out[name] = [centre.x(), centre.y()]
        line = json.dumps(out)
        if line != last[0]:
            last[0] = line
            print(line, flush=True)

    window.frameDone.connect(report)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
