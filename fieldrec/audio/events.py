"""The one event type of the audio path, and a per-take tally that reads the ring's event table.

The callback records events as integer rows in :class:`fieldrec.audio.ring.FrameRing` (no objects in the
callback). A consumer, such as one take, drains those rows with an :class:`EventTally`: it keeps the events
that fall in its frame range (at most ``keep`` of them) and exact totals however many there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fieldrec.audio.ring import (
    EV_CUM_LOST,
    EV_CUM_UNKNOWN,
    EV_FRAME,
    EV_FRAMES,
    EV_KIND,
    EVENT_NAMES,
    UNKNOWN_FRAMES,
    FrameRing,
)

EventKind = Literal["input_overflow", "ring_overrun", "device_lost"]


@dataclass(frozen=True)
class AudioEvent:
    """Audio that did not reach the file, or a device that went away.

    ``kind``: ``input_overflow`` (the device's buffer overflowed: PortAudio or the simulated source),
    ``ring_overrun`` (the writer fell a whole ring behind and a block was dropped) or ``device_lost``.
    ``frame``: where the gap is, counted from the first frame of the take (the file), i.e. the frame at
    which the missing audio would have started. ``frames_lost``: how many frames are missing there; ``0``
    for a flag that lost nothing; ``None`` when the backend could not tell.
    """

    kind: EventKind
    frame: int
    time_s: float
    frames_lost: int | None

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "frame": self.frame, "time_s": self.time_s, "frames_lost": self.frames_lost}


@dataclass(frozen=True)
class EventTotals:
    """Exact totals for one take: every event counted, however many were kept as :class:`AudioEvent`."""

    events: int
    frames_lost: int  #: sum over events of known size
    unknown_loss_events: int  #: events whose size is unknown
    events_truncated: bool  #: True when more events happened than the take keeps in its list

    def as_dict(self) -> dict[str, object]:
        return {"events": self.events, "frames_lost": self.frames_lost,
                "unknown_loss_events": self.unknown_loss_events, "events_truncated": self.events_truncated}


class EventTally:
    """Reads one take's events from the ring: stream frames ``start`` up to ``stop`` (set at the end).

    ``drain()`` is called by one thread (the take's writer) as often as it likes; it never blocks the
    callback. The kept list holds the first ``keep`` events; the totals are exact even when rows were
    overwritten between two drains (their sizes come from the running-total columns).
    """

    def __init__(self, ring: FrameRing, start: int, samplerate: int, keep: int = 1000) -> None:
        self.ring = ring
        self.start = int(start)
        self.stop: int | None = None
        self.samplerate = int(samplerate)
        self.keep = int(keep)
        self.kept: list[AudioEvent] = []
        self._extra: list[AudioEvent] = []  # events added by the take itself (device lost)
        # Totals are differences of the ring's running totals: from the last event before the take ...
        n = ring.event_count
        self._next = self._base_idx = self._last_idx = n
        self._base_lost = self._base_unknown = 0
        if n:
            row = ring.event_table[(n - 1) % ring.event_table.shape[0]]
            self._base_lost, self._base_unknown = int(row[EV_CUM_LOST]), int(row[EV_CUM_UNKNOWN])
        # ... to the last event of the take seen so far.
        self._last_lost, self._last_unknown = self._base_lost, self._base_unknown

    def drain(self) -> None:
        rows, first, _missed = self.ring.events_since(self._next)
        for j in range(rows.shape[0]):
            row = rows[j]
            index = first + j
            frame = int(row[EV_FRAME])
            if frame < self.start:  # recorded just before the take began: not the take's
                self._base_idx = self._last_idx = index + 1
                self._base_lost = self._last_lost = int(row[EV_CUM_LOST])
                self._base_unknown = self._last_unknown = int(row[EV_CUM_UNKNOWN])
                self._next = index + 1
                continue
            if self.stop is not None and frame > self.stop:
                break  # a later take's (or the monitor's); left for whoever reads next
            self._last_idx = self._next = index + 1
            self._last_lost = int(row[EV_CUM_LOST])
            self._last_unknown = int(row[EV_CUM_UNKNOWN])
            if len(self.kept) < self.keep:
                frames = int(row[EV_FRAMES])
                f = frame - self.start
                kind = EVENT_NAMES.get(int(row[EV_KIND]), "input_overflow")
                self.kept.append(AudioEvent(kind, f, f / self.samplerate,  # type: ignore[arg-type]
                                            None if frames == UNKNOWN_FRAMES else frames))

    def add(self, kind: EventKind, stream_frame: int) -> None:
        """An event the take saw itself (``device_lost``), at a stream frame."""
        f = max(0, stream_frame - self.start)
        if not any(e.kind == kind for e in self._extra):
            self._extra.append(AudioEvent(kind, f, f / self.samplerate, 0))

    @property
    def events(self) -> tuple[AudioEvent, ...]:
        """The kept events in order of their position (device loss last at its frame)."""
        return tuple(sorted(self.kept + self._extra, key=lambda e: e.frame))

    @property
    def totals(self) -> EventTotals:
        ring_events = self._last_idx - self._base_idx
        count = ring_events + len(self._extra)
        return EventTotals(count, self._last_lost - self._base_lost, self._last_unknown - self._base_unknown,
                           ring_events > len(self.kept))
