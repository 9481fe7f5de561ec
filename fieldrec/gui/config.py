"""Settings of the window, remembered between runs in a small versioned JSON file.

The file lives in ``platformdirs.user_config_dir("fieldrec")/gui.json`` unless a path is given
(tests always give one). Unknown keys are ignored and missing keys take defaults, so an old or
hand-edited file never stops the app from starting.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from fieldrec.metadata import empty_metadata

log = logging.getLogger(__name__)

CONFIG_VERSION = 1


def default_settings_path() -> Path:
    return Path(platformdirs.user_config_dir("fieldrec")) / "gui.json"


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir("fieldrec"))


@dataclass
class GuiConfig:
    """Everything the window remembers. ``settings_path``/``log_dir`` are where, not what (not saved)."""

    device: str | None = None  # device name; None = system default input (or the simulated source)
    samplerate: int = 48000
    channels: int = 2
    format_name: str = "WAV 24-bit"
    out_dir: str = str(Path.home() / "fieldrec-recordings")
    name_template: str = "{date}_{time}_{location}"
    metadata: dict[str, Any] = field(default_factory=empty_metadata)
    geometry: str = ""  # hex of QMainWindow.saveGeometry()
    window_state: str = ""  # hex of QMainWindow.saveState() (dock positions)
    fft_size: int = 4096
    fft_window: str = "hann"
    fft_averaging: int = 4
    waveform_zoom: float = 1.0
    arm_on_start: bool = True
    fps: int = 30
    output_device: str | None = None  # playback in the review view; None = the system's default output
    library_folders: list[str] = field(default_factory=list)  # listed in the Library tab beside out_dir
    field_panel: dict[str, Any] = field(default_factory=dict)  # the Field dock's values (its switches start off)
    version: int = CONFIG_VERSION
    settings_path: Path | None = field(default=None, metadata={"persist": False})
    log_dir: Path | None = field(default=None, metadata={"persist": False})

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("persist", True):
                out[f.name] = getattr(self, f.name)
        return out


def load_config(path: Path | None = None) -> GuiConfig:
    """Read the settings file; a missing or unreadable file gives defaults (and a log line)."""
    path = Path(path) if path is not None else default_settings_path()
    cfg = GuiConfig(settings_path=path)
    if not path.exists():
        return cfg
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
    except (OSError, ValueError) as exc:
        log.warning("settings file %s unreadable (%s); using defaults", path, exc)
        return cfg
    known = {f.name: f for f in dataclasses.fields(GuiConfig) if f.metadata.get("persist", True)}
    for key, value in data.items():
        if key not in known or key == "version":
            continue
        default = getattr(cfg, key)
        if default is not None and value is not None and not isinstance(value, type(default)):
            if not (isinstance(default, float) and isinstance(value, int)):
                log.warning("settings: ignoring %s=%r (expected %s)", key, value, type(default).__name__)
                continue
        setattr(cfg, key, value)
    md = empty_metadata()
    if isinstance(cfg.metadata, dict):
        for k, v in cfg.metadata.items():
            if k in md and isinstance(md[k], dict) and isinstance(v, dict):
                md[k].update({kk: vv for kk, vv in v.items() if kk in md[k]})
            elif k in md:
                md[k] = v
    cfg.metadata = md
    return cfg


def save_config(cfg: GuiConfig, path: Path | None = None) -> Path:
    """Write the settings atomically (temp file + rename)."""
    path = Path(path or cfg.settings_path or default_settings_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gui-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(cfg.to_json_dict(), fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
