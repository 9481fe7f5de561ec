"""Analyse an audio file: levels, loudness, clipping, noise floor and spectrum in one bounded-memory pass.

``analyze_file(path)`` reads the file in blocks (``storage.reader.iter_blocks``), feeds the same
``analysis.meters.MeterBank`` the live meters use, and returns a JSON-safe dict (plain floats, ints,
None where a level is undefined, e.g. the loudness of silence). The keys are documented in
docs/analysis.md.
"""

from __future__ import annotations

import os
from typing import Any

from fieldrec.analysis.meters import MeterBank
from fieldrec.formats import clip_level_for_subtype
from fieldrec.storage.reader import AudioFileError, iter_blocks

__all__ = ["AudioFileError", "analyze_file", "clip_level_for_subtype"]



def analyze_file(path: str | os.PathLike[str], block_frames: int = 65536) -> dict[str, Any]:
    """Measure a whole file; raises AudioFileError (one-line reason) for non-audio, empty or truncated files."""
    info, blocks = iter_blocks(path, block_frames)
    try:
        bank = MeterBank(info.samplerate, info.channels, clip_level=clip_level_for_subtype(info.subtype))
    except ValueError as e:
        raise AudioFileError(f"{info.path.name}: cannot be measured: {e}") from None
    for block in blocks:
        bank.process(block)
    result: dict[str, Any] = {"file": str(path), "container": info.format.lower(), "subtype": info.subtype}
    result.update(bank.result())
    return result
