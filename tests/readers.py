"""Independent readers for the files fieldrec writes: sox, ffprobe, wavinfo (chunks) and the sidecar JSON Schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[1]


def sox_info(path: Path) -> dict:
    """Sample rate, channels and frames as sox reads them (raises if sox cannot open the file)."""
    out = {}
    for flag, key in (("-r", "samplerate"), ("-c", "channels"), ("-s", "frames")):
        proc = subprocess.run(["sox", "--i", flag, str(path)], capture_output=True, text=True, check=True)
        out[key] = int(float(proc.stdout.strip()))
    return out


def ffprobe_info(path: Path) -> dict:
    """Sample rate, channels and frames of the first audio stream as ffprobe reads them."""
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    data = json.loads(proc.stdout)
    stream = data["streams"][0]
    rate = int(stream["sample_rate"])
    if stream.get("duration_ts") not in (None, "N/A"):
        frames = int(stream["duration_ts"])
    else:
        frames = round(float(data["format"]["duration"]) * rate)
    return {"samplerate": rate, "channels": int(stream["channels"]), "frames": frames,
            "codec": stream["codec_name"]}


def wav_metadata(path: Path) -> dict:
    """What other tools read from a WAV's metadata chunks (wavinfo; the iXML parsed by the standard XML
    parser): ``ixml_location``, ``ixml_note``, ``ixml_scene``, ``bext_description``, ``info_comment``."""
    import xml.etree.ElementTree as ET

    import wavinfo

    info = wavinfo.WavInfoReader(str(path), info_encoding="utf-8")
    root = ET.fromstring(info.ixml.source)
    return {"ixml_location": root.findtext("LOCATION/LOCATION_NAME"), "ixml_note": root.findtext("NOTE"),
            "ixml_scene": root.findtext("SCENE"), "bext_description": info.bext.description,
            "info_comment": info.info.comment if info.info is not None else None}


def sidecar_schema() -> dict:
    return json.loads((ROOT / "docs" / "sidecar.schema.json").read_text())


def validate_sidecar(data: dict) -> None:
    jsonschema.validate(data, sidecar_schema(), cls=jsonschema.Draft202012Validator)


def fieldrec_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "fieldrec", *args]


def isolated_env(tmp_path: Path, extra: dict | None = None) -> dict:
    """The environment for a fieldrec subprocess: its own config and log folders."""
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(extra or {})
    return env
