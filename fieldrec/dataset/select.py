"""Select: which takes go into the dataset, and for every one left out, why (the reject ledger).

``Filters`` holds the command line's filters; ``select(takes, filters)`` returns the kept takes and
``Reject`` rows. A quality filter on a take without an analysis rejects it (nothing to judge by).
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fieldrec.dataset.keys import key_value
from fieldrec.dataset.records import TakeRecord


@dataclass(frozen=True)
class Reject:
    """A source left out: its path and one line saying why."""

    source: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "reason": self.reason}


_OPS: dict[str, Any] = {"==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge,
                        "<": operator.lt, ">": operator.gt, "~": lambda a, b: str(b).lower() in str(a).lower()}
_WHERE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|!=|<=|>=|<|>|~|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Where:
    """One ``--where`` expression: ``KEY OP VALUE`` with OP in == (or =), !=, <, <=, >, >=, ~ (contains,
    case-insensitive). Numbers compare as numbers, anything else as text; a list matches if any item does."""

    key: str
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Where:
        m = _WHERE.match(text)
        if not m:
            raise ValueError(f"--where must be KEY OP VALUE (ops == != < <= > >= ~), got {text!r}")
        key, op, value = m.groups()
        return cls(key, "==" if op == "=" else op, value.strip().strip("'\""))

    def matches(self, take: TakeRecord) -> bool:
        value = key_value(take, self.key)
        items = value if isinstance(value, list) else [value]
        return any(self._one(v) for v in items)

    def _one(self, value: Any) -> bool:
        if value is None:
            return self.op == "!="
        want: Any = self.value
        if isinstance(value, bool):
            want = want.lower() in ("1", "true", "yes")
        elif isinstance(value, int | float) and self.op != "~":
            try:
                want = float(want)
            except ValueError:
                return self.op == "!="
        elif self.op != "~":
            value, want = str(value), str(want)
        return bool(_OPS[self.op](value, want))

    def __str__(self) -> str:
        return f"{self.key} {self.op} {self.value}"


@dataclass(frozen=True)
class Filters:
    """All filters; None/empty = no filter. Levels in dBFS, ``min_snr`` in dB, durations in seconds,
    ``bbox`` (south, west, north, east) in decimal degrees, dates inclusive (local date of the take)."""

    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    label_by: str = "tag"
    location: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    max_clipped: int | None = None
    min_snr: float | None = None
    max_noise_floor: float | None = None
    max_true_peak: float | None = None
    where: tuple[Where, ...] = field(default_factory=tuple)
    include_incomplete: bool = False

    @property
    def needs_analysis(self) -> bool:
        return any(v is not None for v in (self.max_clipped, self.min_snr, self.max_noise_floor, self.max_true_peak))

    def to_dict(self) -> dict[str, Any]:
        return {
            "tags": list(self.tags), "labels": list(self.labels), "location": self.location,
            "bbox": list(self.bbox) if self.bbox else None,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "min_duration_s": self.min_duration, "max_duration_s": self.max_duration,
            "max_clipped": self.max_clipped, "min_snr_db": self.min_snr,
            "max_noise_floor_dbfs": self.max_noise_floor, "max_true_peak_dbtp": self.max_true_peak,
            "where": [str(w) for w in self.where], "include_incomplete": self.include_incomplete,
        }


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def why_rejected(take: TakeRecord, f: Filters) -> str | None:
    """The first reason ``take`` fails the filters, or None when it passes."""
    state = take.recording.get("state")
    if state not in (None, "complete") and not f.include_incomplete:
        return f"take is not complete (state {state}); it was interrupted"
    meta = take.metadata
    tags = meta.get("tags") or []
    for tag in f.tags:
        if tag not in tags:
            return f"tag {tag!r} missing (tags: {', '.join(tags) or 'none'})"
    if f.labels:
        label = key_value(take, f.label_by)
        if label not in f.labels:
            return f"label {label!r} not in {', '.join(f.labels)}"
    loc = meta.get("location") or {}
    if f.location is not None and f.location.lower() not in str(loc.get("name") or "").lower():
        return f"location {loc.get('name')!r} does not contain {f.location!r}"
    if f.bbox is not None:
        lat, lon = _num(loc.get("latitude")), _num(loc.get("longitude"))
        s, w, n, e = f.bbox
        if lat is None or lon is None:
            return "no coordinates (a --bbox filter is set)"
        if not (s <= lat <= n and w <= lon <= e):
            return f"position {lat:.5f}, {lon:.5f} outside the box {s:g},{w:g},{n:g},{e:g}"
    if f.date_from or f.date_to:
        day = key_value(take, "day")
        if day is None:
            return "no recording date (a --from/--to filter is set)"
        d = date.fromisoformat(day)
        if f.date_from and d < f.date_from:
            return f"recorded {day}, before {f.date_from.isoformat()}"
        if f.date_to and d > f.date_to:
            return f"recorded {day}, after {f.date_to.isoformat()}"
    if f.min_duration is not None and take.duration_s < f.min_duration:
        return f"duration {take.duration_s:.3f} s shorter than {f.min_duration:g} s"
    if f.max_duration is not None and take.duration_s > f.max_duration:
        return f"duration {take.duration_s:.3f} s longer than {f.max_duration:g} s"
    if f.needs_analysis:
        a = take.analysis
        if not a:
            return "no analysis in the sidecar (a quality filter is set)"
        clipped = _num(a.get("clipped_samples"))
        if f.max_clipped is not None and (clipped is None or clipped > f.max_clipped):
            return f"{clipped:g} clipped samples, more than {f.max_clipped}" if clipped is not None \
                else "clipping unknown"
        snr = _num(a.get("snr_db"))
        if f.min_snr is not None and (snr is None or snr < f.min_snr):
            return f"SNR {snr:.1f} dB below {f.min_snr:g} dB" if snr is not None else "SNR unknown"
        floor = _num(a.get("noise_floor_dbfs"))
        if f.max_noise_floor is not None and (floor is None or floor > f.max_noise_floor):
            return (f"noise floor {floor:.1f} dBFS above {f.max_noise_floor:g} dBFS" if floor is not None
                    else "noise floor unknown")
        tp = _num(a.get("true_peak_dbtp"))
        if f.max_true_peak is not None and (tp is None or tp > f.max_true_peak):
            return f"true peak {tp:.1f} dBTP above {f.max_true_peak:g} dBTP" if tp is not None else "true peak unknown"
    for w in f.where:
        if not w.matches(take):
            return f"--where {w} is false (value {key_value(take, w.key)!r})"
    return None


def select(takes: list[TakeRecord], filters: Filters) -> tuple[list[TakeRecord], list[Reject]]:
    """Split ``takes`` into (kept, rejected) by ``filters``; order kept."""
    kept: list[TakeRecord] = []
    rejected: list[Reject] = []
    for take in takes:
        reason = why_rejected(take, filters)
        if reason is None:
            kept.append(take)
        else:
            rejected.append(Reject(take.audio_path, reason))
    return kept, rejected
