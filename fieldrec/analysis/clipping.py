"""Clip counting: samples at or beyond the clip level, and clip events (runs of them) per channel."""

from __future__ import annotations

import numpy as np

from fieldrec.formats import pcm_clip_level

__all__ = ["ClipCounter", "pcm_clip_level"]


class ClipCounter:
    """Counts clipped samples (|x| >= clip_level) and clip events per channel.

    A run of consecutive clipped samples is one event, also when it continues across block
    boundaries. ``latched`` is set on any clip and cleared only by ``reset_latch()``.
    """

    def __init__(self, channels: int, clip_level: float = 1.0) -> None:
        self.channels = int(channels)
        self.clip_level = float(clip_level)
        self.reset()

    def reset(self) -> None:
        self.samples = np.zeros(self.channels, dtype=np.int64)
        self.events = np.zeros(self.channels, dtype=np.int64)
        self.latched = np.zeros(self.channels, dtype=bool)
        self._last = np.zeros(self.channels, dtype=bool)

    def reset_latch(self) -> None:
        self.latched[:] = False

    def process(self, abs_block: np.ndarray) -> None:
        """Feed |x| of a block, shape (frames, channels)."""
        self.process_t(np.ascontiguousarray(np.asarray(abs_block).T))

    def process_unclipped(self) -> None:
        """Feed a block known to hold no clipped sample (its peak is below the clip level)."""
        self._last[:] = False

    def process_t(self, abs_xt: np.ndarray) -> None:
        """Channel-major feed: |x| as (channels, frames)."""
        if abs_xt.shape[1] == 0:
            return
        c = abs_xt >= self.clip_level
        counts = c.sum(axis=1)
        if not counts.any():
            self._last[:] = False
            return
        starts = c[:, 0] & ~self._last
        run_starts = starts.astype(np.int64) + (c[:, 1:] & ~c[:, :-1]).sum(axis=1)
        self.samples += counts
        self.events += run_starts
        self.latched |= counts > 0
        self._last = c[:, -1].copy()
