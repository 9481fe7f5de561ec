"""Defaults shared by the command line, the take and the window (import-light: no audio, no Qt)."""

from pathlib import Path

#: File name template of a take; fields: {date} {time} {location} {device} {samplerate} {channels}.
DEFAULT_TEMPLATE = "{date}_{time}_{location}"


def default_out_dir() -> Path:
    """Where takes go unless told otherwise."""
    return Path.home() / "fieldrec-recordings"
