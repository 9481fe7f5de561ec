"""Meter ballistics for the level bars (display only; the numbers in the file come from analysis/).

IEC 60268-18-like peak programme meter behaviour:
* attack is instantaneous: a new block peak shows at once;
* fall-back is 20 dB in 1.7 s (about 11.8 dB/s);
* the peak-hold mark stays for ``hold_s`` (2 s) then falls back at the same rate.
"""

from __future__ import annotations

import numpy as np

FALL_DB_PER_S = 20.0 / 1.7
HOLD_S = 2.0
FLOOR_DB = -90.0


class Ballistics:
    """Per-channel displayed level with fast attack, linear (in dB) fall-back and a peak hold mark."""

    def __init__(self, channels: int, fall_db_per_s: float = FALL_DB_PER_S, hold_s: float = HOLD_S):
        self.channels = channels
        self.fall_db_per_s = fall_db_per_s
        self.hold_s = hold_s
        self.level = np.full(channels, FLOOR_DB)
        self.hold = np.full(channels, FLOOR_DB)
        self.hold_age = np.zeros(channels)

    def update(self, new_db, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Feed the newest block level (dBFS per channel, -inf allowed) after ``dt`` seconds.

        Returns (displayed level, hold mark), both in dBFS, floored at -90.
        """
        x = np.asarray(new_db, dtype=float)
        if x.shape != (self.channels,):
            x = np.resize(x, self.channels)
        x = np.where(np.isfinite(x), x, FLOOR_DB)
        x = np.maximum(x, FLOOR_DB)
        dt = max(0.0, float(dt))
        fallen = self.level - self.fall_db_per_s * dt
        self.level = np.maximum(x, np.maximum(fallen, FLOOR_DB))
        self.hold_age += dt
        rise = self.level >= self.hold
        self.hold = np.where(rise, self.level, self.hold)
        self.hold_age = np.where(rise, 0.0, self.hold_age)
        expired = self.hold_age > self.hold_s
        falling_hold = self.hold - self.fall_db_per_s * dt
        self.hold = np.where(expired, np.maximum(falling_hold, self.level), self.hold)
        return self.level.copy(), self.hold.copy()

    def reset(self) -> None:
        self.level[:] = FLOOR_DB
        self.hold[:] = FLOOR_DB
        self.hold_age[:] = 0.0
