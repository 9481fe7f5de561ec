"""Meters of a selection of a take: the same ``MeterBank`` and the same blocks as ``fieldrec analyze``.

``selection_meters(path, start, stop)`` reads frames [start, stop) in 65536-frame float32 blocks (as
``fieldrec.analyze.analyze_file`` reads a file), with the clip level of the file's subtype, and returns the
keys of ``fieldrec analyze --json`` (sample peak dBFS, true peak dBTP, RMS dBFS, integrated LUFS, clips,
``per_channel``…). So the meters of a selection equal ``fieldrec analyze`` of a file holding just those
frames.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fieldrec.analysis.meters import MeterBank
from fieldrec.formats import clip_level_for_subtype
from fieldrec.review.frames import TakeReader

BLOCK_FRAMES = 65536


class SelectionCancelled(Exception):
    """The measurement was cancelled (a newer selection replaced it)."""


def selection_meters(path: str | os.PathLike[str], start: int, stop: int,
                     cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Analysis of frames [start, stop) of ``path`` (clipped to the file); raises ValueError if empty."""
    with TakeReader(path) as reader:
        start, stop = max(0, int(start)), min(reader.frames, int(stop))
        if stop <= start:
            raise ValueError("the selection is empty")
        bank = MeterBank(reader.samplerate, reader.channels, clip_level=clip_level_for_subtype(reader.subtype))
        for block in reader.blocks(start, stop, BLOCK_FRAMES):
            if cancelled is not None and cancelled():
                raise SelectionCancelled()
            bank.process(block)
    result = bank.result()
    result.update(start_frame=start, stop_frame=stop)
    return result
