"""Entry point of the window: ``run(argv, settings_path)`` creates the QApplication, the window, and runs it."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fieldrec.gui.config import GuiConfig, default_log_dir, load_config
from fieldrec.malloc_tuning import keep_freed_memory

log = logging.getLogger("fieldrec.gui")

LOG_FILE = "fieldrec-gui.log"


def setup_logging(log_dir: Path | None = None) -> Path | None:
    """Rotating log (1 MB × 5) in ``platformdirs.user_log_dir("fieldrec")`` (or ``log_dir``)."""
    log_dir = Path(log_dir) if log_dir is not None else default_log_dir()
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / LOG_FILE
        root = logging.getLogger("fieldrec")
        for h in root.handlers:
            if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path.resolve():
                return path
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        return path
    except OSError as err:
        print(f"fieldrec: cannot write the log in {log_dir}: {err}", file=sys.stderr)
        return None


def create_window(config: GuiConfig, recorder_factory=None):
    from fieldrec.gui.main_window import MainWindow
    from fieldrec.recorder import Recorder

    return MainWindow(recorder_factory=recorder_factory or Recorder, config=config)


def app_icon_path(size: int = 256) -> Path:
    """The application icon shipped in ``fieldrec/resources`` (PNG of ``size`` px, one of 16…256)."""
    from importlib.resources import files

    return Path(str(files("fieldrec") / "resources" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "fieldrec.png"))


def apply_start_values(config: GuiConfig, start: dict[str, Any]) -> GuiConfig:
    """Put ``fieldrec gui`` flags into the remembered settings (they stay remembered, as if chosen in the window).

    ``start`` keys: device (name), samplerate (Hz), channels, container + subtype, out_dir."""
    if "device" in start:
        config.device = start["device"]
    if "samplerate" in start:
        config.samplerate = int(start["samplerate"])
    if "channels" in start:
        config.channels = int(start["channels"])
    if "container" in start:
        from fieldrec.recorder import SUPPORTED_FORMATS

        wanted = (start["container"], start["subtype"])
        config.format_name = next(label for label, cs in SUPPORTED_FORMATS.items() if cs == wanted)
    if "out_dir" in start:
        config.out_dir = str(start["out_dir"])
    return config


def preload_before_qt() -> None:
    """Import the audio and analysis stack the first frame needs (numpy, scipy.fft, sounddevice, soundfile)
    before PySide6.

    PySide6 installs an import hook that reads the source of every module imported after it
    (``shibokensupport.feature._mod_uses_pyside`` calls ``inspect.getsource``), so what the window needs anyway
    is imported first. ``scipy.signal`` is not (a second of CPU: scipy 1.17 imports scipy.stats, optimize and
    ndimage with it): nothing before the first frame needs it; the meter thread imports it for the loudness
    filter when it measures its first batch, after the window is on screen (docs/benchmarks.md)."""
    import scipy.fft  # noqa: F401 (the live spectra)

    import fieldrec.recorder  # noqa: F401 (sounddevice, soundfile, numpy, the analysis package)


def run(argv: list[str] | None = None, settings_path: Path | None = None,
        start: dict[str, Any] | None = None, library: Sequence[Path] | None = None) -> int:
    """Open the recording window (``start``: see ``apply_start_values``); returns the Qt event loop's exit code.

    ``library``: open on the Library tab listing these folders too, without opening the input
    (``fieldrec library DIR``)."""
    if "PySide6" not in sys.modules:
        preload_before_qt()
    from PySide6.QtWidgets import QApplication

    from fieldrec.gui.theme import apply_dark_theme

    keep_freed_memory()  # the window's process streams audio through numpy: reuse freed blocks (malloc_tuning)
    config = apply_start_values(load_config(settings_path), start or {})
    if config.log_dir is None and settings_path is not None:
        config.log_dir = Path(settings_path).parent / "log"
    setup_logging(config.log_dir)
    app = QApplication.instance() or QApplication(["fieldrec", *(argv or [])])
    app.setApplicationName("fieldrec")
    app.setOrganizationName("fieldrec")
    app.setDesktopFileName("org.fieldrec.fieldrec")  # Wayland: the menu entry and icon the window belongs to
    from PySide6.QtGui import QIcon

    app.setWindowIcon(QIcon(str(app_icon_path())))
    apply_dark_theme(app)
    window = create_window(config)
    if library is not None:
        window.show_library(library)
    window.show()
    log.info("window shown at %.3f (unix time; settings %s)", time.time(), config.settings_path)
    return int(app.exec())
