"""The outputs a take will give, without writing them: what a dry run (and the window's preview) counts.

``planned_outputs(take, convert, segment)`` returns the length in seconds of every output file the take's
export (``fieldrec.dataset.unit.export_take``) writes, by the same rules: the spans of
``fieldrec.dataset.segment.plan`` on the converted stream, whose length at the output rate is the source's
frames times the rate ratio, rounded half up (what ``soxr.ResampleStream`` delivers); spans starting at or
after the end are not written; the last partial window is dropped, padded or kept per ``--last-window``;
``--channels split`` gives one file per channel. Only ``events`` reads the audio (the energy detector).
Raises ``SegmentError`` (a label file that cannot be read) or ``AudioFileError`` (events on a bad file).
"""

from __future__ import annotations

from fieldrec.dataset import convert as cv
from fieldrec.dataset import segment as sg
from fieldrec.dataset.params import ConvertParams, SegmentParams
from fieldrec.dataset.records import TakeRecord


def output_frames(take: TakeRecord, rate: int) -> int:
    """Frames of the converted stream at ``rate``."""
    if rate == take.samplerate:
        return take.frames
    return (2 * take.frames * rate + take.samplerate) // (2 * take.samplerate)


def planned_outputs(take: TakeRecord, convert: ConvertParams, segment: SegmentParams) -> list[float]:
    """Seconds of each output file of ``take`` (see the module docstring)."""
    rate = cv.output_rate(take, convert)
    total = output_frames(take, rate)
    files = take.channels if convert.channels == "split" else 1
    lengths: list[int] = []
    if segment.mode == "window":
        spans = sg.window_spans(rate, segment)
        first, second = next(spans), next(spans)
        length, hop = first.end - first.start, second.start - first.start  # type: ignore[operator]
        full = (total - length) // hop + 1 if total >= length else 0
        lengths = [length] * full
        if full * hop < total and segment.last in ("pad", "keep"):
            lengths.append(length if segment.last == "pad" else total - full * hop)
    else:
        for span in sg.plan(take, rate, segment):
            if span.start >= total or (span.end is not None and span.end <= span.start):
                continue
            end = total if span.end is None else min(span.end, total)
            lengths.append(end - span.start)
    return [n / rate for n in lengths for _ in range(files)]
