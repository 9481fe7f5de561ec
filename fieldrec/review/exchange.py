"""Marker exchange with Audacity (label track) and Raven (selection table).

Audacity label track: one label per line, ``start<TAB>end<TAB>label``, times in seconds (Audacity writes six
decimals); a point label has start == end. Lines starting with ``\\`` carry a spectral selection's
frequencies (``\\<TAB>low<TAB>high``) and are skipped on import.

Raven selection table: tab-separated with a header ``Selection  View  Channel  Begin Time (s)  End Time (s)
Low Freq (Hz)  High Freq (Hz)`` and then the label column (``Annotation`` here; on import the first column
after the standard ones, or one named Annotation/Label). Raven lists each selection once per view
(Waveform, Spectrogram); on import rows with the same Selection number are one marker.

Times are written with nine decimals, so a round trip is exact to the frame; on import a time becomes
``round(seconds * samplerate)``. A bad line raises ``ExchangeError`` naming the line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fieldrec.review.markers import TakeMarker, clean_label

FORMATS = ("audacity", "raven")
RAVEN_COLUMNS = ("Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
                 "High Freq (Hz)")
RAVEN_LABEL = "Annotation"


class ExchangeError(ValueError):
    """A marker file that cannot be read; one line naming the line and what is wrong."""


def _secs(frame: int, samplerate: int) -> str:
    return f"{frame / samplerate:.9f}"


def export_audacity(markers: Sequence[TakeMarker], samplerate: int) -> str:
    """An Audacity label track for ``markers`` (``start\\tend\\tlabel`` lines, seconds)."""
    return "".join(f"{_secs(m.frame, samplerate)}\t{_secs(m.end, samplerate)}\t{clean_label(m.label)}\n"
                   for m in sorted(markers))


def export_raven(markers: Sequence[TakeMarker], samplerate: int, channel: int = 1) -> str:
    """A Raven selection table for ``markers``: one Spectrogram row per marker, 0 Hz to Nyquist."""
    lines = ["\t".join((*RAVEN_COLUMNS, RAVEN_LABEL))]
    high = f"{samplerate / 2:.1f}"
    for i, m in enumerate(sorted(markers), 1):
        lines.append("\t".join((str(i), "Spectrogram 1", str(channel), _secs(m.frame, samplerate),
                                _secs(m.end, samplerate), "0.0", high, clean_label(m.label))))
    return "\n".join(lines) + "\n"


def export_markers(markers: Sequence[TakeMarker], samplerate: int, fmt: str) -> str:
    if fmt == "audacity":
        return export_audacity(markers, samplerate)
    if fmt == "raven":
        return export_raven(markers, samplerate)
    raise ExchangeError(f"unknown marker format {fmt!r}; use audacity or raven")


def _time(text: str, where: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ExchangeError(f"{where}: {text.strip()[:30]!r} is not a time in seconds") from None
    if not math.isfinite(value) or value < 0:
        raise ExchangeError(f"{where}: time {text.strip()[:30]!r} must be zero or more seconds")
    return value


def _marker(begin: float, end: float, label: str, samplerate: int, where: str) -> TakeMarker:
    if end < begin:
        raise ExchangeError(f"{where}: the end ({end:g} s) is before the start ({begin:g} s)")
    a, b = round(begin * samplerate), round(end * samplerate)
    return TakeMarker(a, b - a, clean_label(label))


def import_audacity(text: str, samplerate: int) -> list[TakeMarker]:
    """Markers from an Audacity label track."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("\\"):
            continue
        parts = line.split("\t")
        where = f"line {n}"
        if len(parts) < 2:
            raise ExchangeError(f"{where}: expected start<TAB>end<TAB>label, got {line[:40]!r}")
        label = "\t".join(parts[2:]) if len(parts) > 2 else ""
        out.append(_marker(_time(parts[0], where), _time(parts[1], where), label, samplerate, where))
    return sorted(out)


def import_raven(text: str, samplerate: int) -> list[TakeMarker]:
    """Markers from a Raven selection table (one per Selection number)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    header = [h.strip() for h in lines[0].split("\t")]
    try:
        col = {name: header.index(name) for name in ("Begin Time (s)", "End Time (s)")}
    except ValueError:
        raise ExchangeError("line 1: not a Raven selection table (no 'Begin Time (s)' and 'End Time (s)' "
                            "columns)") from None
    label_col = None
    for name in (RAVEN_LABEL, "Label", "label", "annotation"):
        if name in header:
            label_col = header.index(name)
            break
    if label_col is None:
        extra = [i for i, h in enumerate(header) if h not in RAVEN_COLUMNS]
        label_col = extra[0] if extra else None
    sel_col = header.index("Selection") if "Selection" in header else None
    seen: set[str] = set()
    out = []
    for n, line in enumerate(lines[1:], 2):
        parts = line.split("\t")
        where = f"line {n}"
        if len(parts) <= max(col.values()):
            raise ExchangeError(f"{where}: has {len(parts)} columns, the header has {len(header)}")
        if sel_col is not None:
            key = parts[sel_col].strip()
            if key in seen:
                continue  # the same selection in another view
            seen.add(key)
        label = parts[label_col] if label_col is not None and label_col < len(parts) else ""
        out.append(_marker(_time(parts[col["Begin Time (s)"]], where), _time(parts[col["End Time (s)"]], where),
                           label, samplerate, where))
    return sorted(out)


def detect_format(text: str) -> str:
    """"raven" when the first line is a Raven header, else "audacity"."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return "raven" if "Begin Time (s)" in first.split("\t") or first.startswith("Selection\t") else "audacity"


def import_markers(text: str, samplerate: int, fmt: str | None = None) -> list[TakeMarker]:
    """Markers from Audacity or Raven text (``fmt`` None: detected from the first line)."""
    text = text.lstrip("\ufeff")
    fmt = fmt or detect_format(text)
    if fmt == "raven":
        return import_raven(text, samplerate)
    if fmt == "audacity":
        return import_audacity(text, samplerate)
    raise ExchangeError(f"unknown marker format {fmt!r}; use audacity or raven")


def merge_markers(existing: Sequence[TakeMarker], new: Sequence[TakeMarker]) -> list[TakeMarker]:
    """``existing`` plus the ``new`` markers it does not already hold (same position, length and label)."""
    have = set(existing)
    return sorted([*existing, *(m for m in new if m not in have)])
