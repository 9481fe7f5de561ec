"""Segment: the spans of a take that become outputs, in output frames, and the cutter that fills them.

Rules (``SegmentParams.mode``):

* ``whole``: the whole take.
* ``window``: windows of ``length_s`` every ``hop_s``; the last partial window is dropped, padded with
  zeros to full length, or kept shorter (``last``); only the first partial window counts as "the last".
* ``markers``: the regions between consecutive markers of the sidecar (the first from the first marker,
  labelled with the marker's label), or, when a label file sits beside the take, its regions: an Audacity
  label track ``<stem>.txt`` (start, end, label in seconds, tab-separated) or a Raven selection table
  ``<stem>*.selections.txt`` (columns ``Begin Time (s)``, ``End Time (s)``, the label from
  ``Annotation``, ``Species`` or ``Label`` when present).
* ``events``: an energy detector: mean-square energy of the source's channel mean in ``event_frame_s``
  frames; frames louder than the take's noise floor (10th percentile) by ``event_threshold_db`` are
  events, padded by ``event_pad_s`` on both sides, merged when they touch, dropped below ``event_min_s``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fieldrec.dataset.params import SegmentParams
from fieldrec.dataset.records import TakeRecord
from fieldrec.storage.reader import iter_blocks


class SegmentError(Exception):
    """A label file that cannot be read; one line."""


@dataclass(frozen=True)
class Span:
    """Planned span in output frames; ``end`` None = to the end of the take."""

    start: int
    end: int | None
    label: str = ""


def window_spans(rate: int, p: SegmentParams) -> Iterator[Span]:
    length = max(1, int(round(p.length_s * rate)))
    hop = max(1, int(round(p.hop_s * rate)))
    k = 0
    while True:
        yield Span(k * hop, k * hop + length)
        k += 1


def _label_regions(take: TakeRecord) -> list[tuple[float, float, str]] | None:
    audio = Path(take.audio_path)
    audacity = audio.with_suffix(".txt")
    raven = sorted(audio.parent.glob(f"{audio.stem}*.selections.txt"))
    try:
        if raven:
            with open(raven[0], newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh, delimiter="\t"))
            out = []
            for row in rows:
                label = row.get("Annotation") or row.get("Species") or row.get("Label") or ""
                out.append((float(row["Begin Time (s)"]), float(row["End Time (s)"]), label.strip()))
            return out
        if audacity.exists():
            out = []
            for line in audacity.read_text(encoding="utf-8").splitlines():
                if not line.strip() or line.startswith("\\"):  # "\" lines hold Audacity's spectral bounds
                    continue
                parts = line.split("\t")
                out.append((float(parts[0]), float(parts[1]), parts[2].strip() if len(parts) > 2 else ""))
            return out
    except (OSError, UnicodeDecodeError, KeyError, ValueError, IndexError) as err:
        name = raven[0].name if raven else audacity.name
        raise SegmentError(f"label file {name} cannot be read ({type(err).__name__}: {err})") from None
    return None


def marker_spans(take: TakeRecord, rate: int) -> list[Span]:
    r = rate / take.samplerate
    regions = _label_regions(take)
    if regions is not None:
        return [Span(int(round(a * rate)), int(round(b * rate)), label) for a, b, label in regions if b > a]
    marks = sorted(take.markers, key=lambda m: int(m.get("frame", 0)))
    spans = []
    for i, m in enumerate(marks):
        start = int(round(int(m["frame"]) * r))
        end = int(round(int(marks[i + 1]["frame"]) * r)) if i + 1 < len(marks) else None
        if end is None or end > start:
            spans.append(Span(start, end, str(m.get("label") or "")))
    return spans


def event_spans(take: TakeRecord, rate: int, p: SegmentParams, block_frames: int = 65536) -> list[Span]:
    """Energy events (see the module docstring), read in blocks (bounded memory)."""
    frame = max(1, int(round(p.event_frame_s * take.samplerate)))
    energies: list[np.ndarray] = []
    rest = np.zeros(0, dtype=np.float64)
    _, blocks = iter_blocks(take.audio_path, block_frames)
    for block in blocks:
        x = np.concatenate([rest, block.mean(axis=1, dtype=np.float64)])
        n = len(x) // frame
        energies.append((x[: n * frame].reshape(n, frame) ** 2).mean(axis=1))
        rest = x[n * frame :]
    e = np.concatenate(energies) if energies else np.zeros(0)
    if e.size == 0:
        return []
    db = 10 * np.log10(np.maximum(e, 1e-20))
    threshold = float(np.percentile(db, 10)) + p.event_threshold_db
    active = db > threshold
    pad = int(round(p.event_pad_s * take.samplerate))
    minimum = int(round(p.event_min_s * take.samplerate))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    spans: list[list[int]] = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        start, end = max(0, a * frame - pad), min(take.frames, b * frame + pad)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    r = rate / take.samplerate
    return [Span(int(round(a * r)), int(round(b * r))) for a, b in spans if b - a >= minimum]


def plan(take: TakeRecord, rate: int, p: SegmentParams) -> Iterator[Span]:
    """The spans of ``take`` in output frames at ``rate``, sorted by start (windows are generated lazily)."""
    if p.mode == "whole":
        return iter([Span(0, None)])
    if p.mode == "window":
        return window_spans(rate, p)
    if p.mode == "markers":
        return iter(sorted(marker_spans(take, rate), key=lambda s: s.start))
    if p.mode == "events":
        return iter(event_spans(take, rate, p))
    raise ValueError(f"unknown segment mode {p.mode!r}")


def source_frames(take: TakeRecord, rate: int, out_start: int, out_frames: int) -> tuple[int, int]:
    """(first, last) source frame (inclusive) covered by output frames [out_start, out_start+out_frames)."""
    r = take.samplerate / rate
    first = min(take.frames - 1, int(math.floor(out_start * r)))
    last = min(take.frames - 1, max(first, int(math.ceil((out_start + out_frames) * r)) - 1))
    return first, last
