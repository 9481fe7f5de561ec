"""Level and band triggers: a pure state machine over float blocks that says when a take starts and stops.

The detector is fed the capture tap (blocks of float samples, full scale = 1.0) in stream order, never from
the audio callback, and returns :class:`TriggerEvent` records whose frame positions count from the first
frame it was fed (plus ``start_frame``). It opens no files and knows nothing of takes: the take layer turns
the events into takes, with pre-roll counted back from :attr:`TriggerEvent.frame`.

Level per detection window (``window_s``, default 20 ms, windows back to back):

* ``peak``  -- 20 log10(max |x|) over the window and all channels (a full-scale sine reads 0 dBFS).
* ``rms``   -- 20 log10(sqrt(mean x^2)) over the window, loudest channel; no +3 dB correction, as in
  :mod:`fieldrec.analysis.levels` (a full-scale sine reads -3.01 dBFS).
* ``band``  -- the ``rms`` level of the signal after a 6th-order Butterworth band-pass (``band_hz``,
  filter state carried across blocks), so only energy inside the band counts.

States (``IDLE`` -> ``PENDING`` -> ``RECORDING`` <-> ``POST_ROLL`` -> ``IDLE``):

* The level reaching the **threshold** makes a crossing *pending*; the crossing frame is the first sample
  at or above the threshold for ``peak``, the start of the window for ``rms``/``band``.
* If the level stays at or above the threshold for ``min_trigger_s`` (measured from the crossing frame),
  a ``start`` event is emitted at the crossing frame with the highest level seen while pending. A window
  below the threshold before then cancels the pending crossing (a click does not start a take).
* While recording, a window below the **de-trigger** level (default: :data:`DEFAULT_DETRIGGER_DB` = 6 dB
  below the threshold) starts the post-roll; a window at or above the *threshold* during the post-roll
  cancels it (a new trigger); a level between the two lets the post-roll run on. When ``post_roll_s`` has
  passed since the first quiet window began, a ``stop`` event is emitted at that frame (exclusive end).
* ``max_take_s`` stops a take at ``start + max_take`` (reason ``max_take``); a level still above the
  threshold then starts a new event once ``min_gap_s`` has passed after the stop. No crossing earlier than
  ``stop + min_gap_s`` is accepted.

All times are rounded to whole frames at the detector's sample rate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from .db import amp_to_db, power_to_db
from .lazy_scipy import scipy_signal

#: The de-trigger level when none is given: this many dB below the trigger threshold.
DEFAULT_DETRIGGER_DB = 6.0
DEFAULT_WINDOW_S = 0.020
BAND_FILTER_ORDER = 6

Measure = Literal["peak", "rms", "band"]


class TriggerSpecError(ValueError):
    """A trigger description that cannot be used (one-line message)."""


@dataclass(frozen=True)
class TriggerSpec:
    """What starts and stops a triggered take. Levels in dBFS, times in seconds, band edges in Hz."""

    measure: Measure
    threshold_db: float
    detrigger_db: float | None = None  # None: threshold - DEFAULT_DETRIGGER_DB
    band_hz: tuple[float, float] | None = None
    window_s: float = DEFAULT_WINDOW_S
    min_trigger_s: float = 0.1
    post_roll_s: float = 2.0
    max_take_s: float | None = None
    min_gap_s: float = 0.0

    @property
    def detrigger(self) -> float:
        """The de-trigger level in dBFS (given, or 6 dB below the threshold)."""
        return self.threshold_db - DEFAULT_DETRIGGER_DB if self.detrigger_db is None else self.detrigger_db

    def validate(self, samplerate: float | None = None) -> TriggerSpec:
        """Return self, or raise :class:`TriggerSpecError` saying what is wrong."""
        if not (math.isfinite(self.threshold_db) and self.threshold_db <= 0):
            raise TriggerSpecError(f"trigger level {self.threshold_db} dBFS must be a number at or below 0 dBFS")
        if self.detrigger > self.threshold_db:
            raise TriggerSpecError(f"de-trigger level {self.detrigger} dBFS is above the trigger level "
                                   f"{self.threshold_db} dBFS; it must be at or below it")
        for name in ("window_s", "min_trigger_s", "post_roll_s", "min_gap_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise TriggerSpecError(f"trigger {name.removesuffix('_s').replace('_', ' ')} must be >= 0 s, got {v}")
        if self.window_s <= 0:
            raise TriggerSpecError("trigger window must be longer than 0 s")
        if self.max_take_s is not None and not self.max_take_s > 0:
            raise TriggerSpecError(f"maximum take length must be longer than 0 s, got {self.max_take_s}")
        if self.measure == "band":
            if self.band_hz is None:
                raise TriggerSpecError("a band trigger needs a band, e.g. band:2k-8k:-45dBFS")
            lo, hi = self.band_hz
            if not 0 < lo < hi:
                raise TriggerSpecError(f"trigger band {lo:g}-{hi:g} Hz must have 0 < low < high")
            if samplerate is not None and hi >= samplerate / 2:
                raise TriggerSpecError(f"trigger band top {hi:g} Hz is not below half the sample rate "
                                       f"({samplerate / 2:g} Hz)")
        return self

    def as_dict(self) -> dict[str, object]:
        """The parameters as plain JSON values (for a sidecar)."""
        return {"measure": self.measure, "threshold_dbfs": self.threshold_db, "detrigger_dbfs": self.detrigger,
                "band_hz": list(self.band_hz) if self.band_hz else None, "window_s": self.window_s,
                "min_trigger_s": self.min_trigger_s, "post_roll_s": self.post_roll_s,
                "max_take_s": self.max_take_s, "min_gap_s": self.min_gap_s}


_LEVEL_RE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:dbfs|db)?\s*$", re.IGNORECASE)
_FREQ_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(k|khz|hz)?\s*$", re.IGNORECASE)


def parse_level(text: str) -> float:
    """``-30dBFS``, ``-30 dB`` or ``-30`` -> -30.0 (dBFS); raises :class:`TriggerSpecError`."""
    m = _LEVEL_RE.match(text)
    if not m:
        raise TriggerSpecError(f"'{text}' is not a level; write it like -30dBFS")
    return float(m.group(1))


def parse_frequency(text: str) -> float:
    """``2k``, ``2kHz``, ``2000``, ``2000Hz`` -> Hz; raises :class:`TriggerSpecError`."""
    m = _FREQ_RE.match(text)
    if not m:
        raise TriggerSpecError(f"'{text}' is not a frequency; write it like 2k or 2000Hz")
    unit = (m.group(2) or "").lower()
    return float(m.group(1)) * (1000.0 if unit.startswith("k") else 1.0)


def parse_trigger(text: str, **options: float | None) -> TriggerSpec:
    """Parse ``level:-30dBFS``, ``level:rms:-30dBFS``, ``level:peak:-30dBFS`` or ``band:2k-8k:-45dBFS``.

    ``options`` are further :class:`TriggerSpec` fields (``detrigger_db``, ``min_trigger_s``, ...). Raises
    :class:`TriggerSpecError` with a one-line message.
    """
    parts = [p.strip() for p in text.split(":")]
    kind = parts[0].lower()
    if kind == "level" and len(parts) == 2:
        spec = TriggerSpec("peak", parse_level(parts[1]))
    elif kind == "level" and len(parts) == 3 and parts[1].lower() in ("peak", "rms"):
        spec = TriggerSpec(parts[1].lower(), parse_level(parts[2]))  # type: ignore[arg-type]
    elif kind == "band" and len(parts) == 3:
        edges = parts[1].split("-")
        if len(edges) != 2:
            raise TriggerSpecError(f"'{parts[1]}' is not a band; write it like 2k-8k")
        spec = TriggerSpec("band", parse_level(parts[2]),
                           band_hz=(parse_frequency(edges[0]), parse_frequency(edges[1])))
    else:
        raise TriggerSpecError(f"'{text}' is not a trigger; write level:-30dBFS, level:rms:-30dBFS "
                               "or band:2k-8k:-45dBFS")
    return replace(spec, **{k: v for k, v in options.items() if v is not None}).validate()


@dataclass(frozen=True)
class TriggerEvent:
    """``start``: a take begins at ``frame`` (the first crossing), confirmed at ``confirmed_frame``,
    ``level_db`` the highest level (dBFS) while it was confirmed. ``stop``: the take ends before ``frame``
    (exclusive), ``reason`` ``post_roll`` or ``max_take``; ``confirmed_frame`` is when the detector knew."""

    kind: Literal["start", "stop"]
    frame: int
    confirmed_frame: int
    level_db: float | None = None
    reason: str | None = None


class TriggerDetector:
    """The state machine. Feed blocks (frames, channels) or (frames,) with :meth:`process`, in order."""

    IDLE, PENDING, RECORDING, POST_ROLL = "idle", "pending", "recording", "post_roll"

    def __init__(self, spec: TriggerSpec, samplerate: float, channels: int, start_frame: int = 0) -> None:
        self.spec = spec.validate(samplerate)
        self.samplerate = float(samplerate)
        self.channels = int(channels)
        fr = self.samplerate
        self.window = max(1, int(round(spec.window_s * fr)))
        self.min_trigger = int(round(spec.min_trigger_s * fr))
        self.post_roll = int(round(spec.post_roll_s * fr))
        self.max_take = None if spec.max_take_s is None else max(1, int(round(spec.max_take_s * fr)))
        self.min_gap = int(round(spec.min_gap_s * fr))
        self._thr_amp = 10.0 ** (spec.threshold_db / 20.0)
        self._sos = None
        self._zi = None
        if spec.measure == "band":
            assert spec.band_hz is not None
            sig = scipy_signal()
            self._sos = sig.butter(BAND_FILTER_ORDER, spec.band_hz, btype="bandpass", fs=fr, output="sos")
            self._zi = np.zeros((self._sos.shape[0], 2, self.channels))
        self._pending_buf = np.zeros((self.window, self.channels), np.float64)
        self._pending_n = 0
        self.frame = int(start_frame)  # next frame to be fed
        self._window_start = int(start_frame)
        self.state = self.IDLE
        self._cross_frame = 0
        self._cross_level = -math.inf
        self._take_start = 0
        self._quiet_since = 0
        self._earliest_next = int(start_frame)
        #: the last window's level in dBFS (for a meter beside the trigger)
        self.level_db = -math.inf

    @property
    def recording(self) -> bool:
        """True between a start and its stop event."""
        return self.state in (self.RECORDING, self.POST_ROLL)

    def process(self, block: np.ndarray) -> list[TriggerEvent]:
        """Feed the next block; returns the events it completed (possibly none)."""
        x = np.asarray(block, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            raise ValueError(f"trigger detector expects {self.channels} channels, got {x.shape[1]}")
        if self._sos is not None and x.shape[0]:
            x, self._zi = scipy_signal().sosfilt(self._sos, x, axis=0, zi=self._zi)
        events: list[TriggerEvent] = []
        i = 0
        n = x.shape[0]
        while i < n:
            take = min(self.window - self._pending_n, n - i)
            self._pending_buf[self._pending_n:self._pending_n + take] = x[i:i + take]
            self._pending_n += take
            i += take
            if self._pending_n == self.window:
                self._step(self._pending_buf, events)
                self._pending_n = 0
                self._window_start += self.window
        self.frame += n
        return events

    def flush(self, end_frame: int | None = None) -> list[TriggerEvent]:
        """The input ends (session over): close a running event at ``end_frame`` (default: frames fed)."""
        end = self.frame if end_frame is None else int(end_frame)
        if self.recording:
            self.state = self.IDLE
            return [TriggerEvent("stop", end, end, reason="end")]
        self.state = self.IDLE
        return []

    # ---- one window -------------------------------------------------------------------------------------
    def _level(self, w: np.ndarray) -> float:
        if self.spec.measure == "peak":
            return float(amp_to_db(np.max(np.abs(w))))
        wt = np.ascontiguousarray(w.T)  # rows per channel: a reduction over axis 0 of (frames, 2) is 25x slower
        return float(np.max(power_to_db(np.mean(wt * wt, axis=1))))

    def _crossing_frame(self, w: np.ndarray, ws: int) -> int:
        if self.spec.measure == "peak":
            hits = np.flatnonzero(np.max(np.abs(w), axis=1) >= self._thr_amp)
            if hits.size:
                return ws + int(hits[0])
        return ws

    def _step(self, w: np.ndarray, events: list[TriggerEvent]) -> None:
        spec = self.spec
        ws = self._window_start
        we = ws + self.window
        level = self._level(w)
        self.level_db = level
        above = level >= spec.threshold_db
        # the running take first: max length, post-roll
        if self.recording and self.max_take is not None and we - self._take_start >= self.max_take:
            stop = self._take_start + self.max_take
            self._end_take(stop, we, "max_take", events)
        if self.state == self.POST_ROLL:
            if above:
                self.state = self.RECORDING
            elif we - self._quiet_since >= self.post_roll:
                self._end_take(self._quiet_since + self.post_roll, we, "post_roll", events)
        if self.state == self.RECORDING and level < spec.detrigger:
            self.state = self.POST_ROLL
            self._quiet_since = ws
            if we - ws >= self.post_roll:
                self._end_take(ws + self.post_roll, we, "post_roll", events)
        if self.state == self.PENDING and not above:
            self.state = self.IDLE
        if self.state == self.IDLE and above:
            cross = self._crossing_frame(w, ws)
            if cross >= self._earliest_next:
                self.state = self.PENDING
                self._cross_frame = cross
                self._cross_level = level
            elif we > self._earliest_next:  # the gap ends inside this window: the crossing counts from there
                self.state = self.PENDING
                self._cross_frame = self._earliest_next
                self._cross_level = level
        if self.state == self.PENDING:
            self._cross_level = max(self._cross_level, level)
            if we - self._cross_frame >= self.min_trigger:
                self.state = self.RECORDING
                self._take_start = self._cross_frame
                events.append(TriggerEvent("start", self._cross_frame, we, level_db=self._cross_level))

    def _end_take(self, stop: int, confirmed: int, reason: str, events: list[TriggerEvent]) -> None:
        events.append(TriggerEvent("stop", stop, confirmed, reason=reason))
        self.state = self.IDLE
        self._earliest_next = stop + self.min_gap
