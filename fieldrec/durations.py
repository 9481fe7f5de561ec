"""Times typed by people: ``parse_duration`` ("90", "1m30s", "2h", "HH:MM:SS") and ``parse_time`` (also
"500ms"), in seconds. Import-light and Qt-free: the command line, the export and the window share them.
Bad words raise ``ValueError`` with a one-line message."""

from __future__ import annotations

import math
import re


def parse_duration(text: str) -> float:
    """Seconds from "90", "90s", "1.5m", "2h", "1h30m", "1m30s" or "HH:MM:SS"/"MM:SS"."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        value = float(raw)
    elif re.fullmatch(r"(\d+:)?\d{1,2}:\d{1,2}(\.\d+)?", raw):
        value = 0.0
        for part in raw.split(":"):
            value = value * 60 + float(part)
    else:
        m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?:in)?)?(?:(\d+(?:\.\d+)?)s)?", raw)
        if not raw or not m or not any(m.groups()):
            raise ValueError(f"cannot read the duration {text!r}: use seconds (90), 1m30s, 2h or HH:MM:SS")
        h, mi, se = (float(g) if g else 0.0 for g in m.groups())
        value = h * 3600 + mi * 60 + se
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"the duration must be more than zero, got {text!r}")
    return value


def parse_time(word: str) -> float:
    """Seconds from a duration (``parse_duration``) or milliseconds ("500ms")."""
    w = word.strip().lower()
    if w.endswith("ms"):
        try:
            value = float(w[:-2]) / 1000
        except ValueError:
            raise ValueError(f"cannot read the time {word!r}: use 1s, 500ms or 1m") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"the time must be more than zero, got {word!r}")
        return value
    return parse_duration(w)
