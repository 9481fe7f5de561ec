"""A field session over one :class:`fieldrec.recorder.Recorder`: pre-roll, triggers, gap-free splitting.

The recorder owns the input stream and the takes; this controller only decides *which frames* make a take
and tells the recorder, from its own thread, reading the capture ring with its own cursor (never in the
audio callback; the detector sees the audio about :data:`POLL_S` late, which pre-roll and frame-exact
start/stop positions make harmless):

* **pre-roll** (``pre_roll_s``, 0-60 s): while armed the ring keeps the last seconds anyway (it is sized
  to hold ``pre_roll_s`` plus the usual margin); a take started by hand (:meth:`FieldSession.record`) or by
  a trigger begins ``pre_roll_s`` before its start frame (``Recorder.record(start_frame=...)``), so its
  first frames are sample-continuous with the rest. The pre-roll never reaches back before the input was
  opened or into the previous take of this session (frames are never in two files).
* **triggers** (``trigger``, :class:`fieldrec.analysis.trigger.TriggerSpec`): one take per event, from the
  frame where the level first crossed the threshold minus the pre-roll, to the post-roll's end
  (``Recorder.stop(at=...)``); max take length and min gap as the spec says.
* **splitting** (``split_s`` or ``split_bytes``): a take becomes a family of files whose frames concatenate
  to exactly the captured frames: at each boundary frame B the running take is stopped *at* B and the next
  one starts *at* B. Each file is complete on its own (each is a normal take).

What each take's sidecar gets, under ``metadata.field`` (the metadata model keeps unknown keys):
``started_by`` (``user``, ``trigger``, ``schedule``), ``pre_roll`` (``frames``, ``seconds``: the first
frames of the file that were captured before the start), ``trigger`` (the spec, ``level_dbfs`` that
started it, ``first_crossing_frame`` in the file), ``family`` (``id``, ``index`` from 1, ``first_frame``
of this file in the family, and ``total`` once the family has ended).

Known limit: a take's live analysis (the recorder's meter thread) starts at the frame the meters had reached
when the take started, so it does not include the pre-roll frames; the file does.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldrec.analysis.trigger import TriggerDetector, TriggerEvent, TriggerSpec
from fieldrec.audio.levels import to_float
from fieldrec.field.gps import GpsFix, GpsTrack
from fieldrec.formats import format_for
from fieldrec.recorder import Recorder, RecorderError, Take, TakeResult

log = logging.getLogger(__name__)

#: How often the controller reads the ring (seconds) while it has something to watch (a trigger, splits, an end
#: at a frame, a GPS track to follow).
POLL_S = 0.05
#: How often it reads the ring when it has nothing to watch (a take by hand, with or without pre-roll: the
#: window's default). Each wake-up costs 1-2 ms of CPU on a small VM; and since such a session holds no take
#: back (``Take.hold``), its writer keeps its own quarter-second pace.
IDLE_POLL_S = 0.5
MAX_PRE_ROLL_S = 60.0


@dataclass
class FieldOptions:
    """Seconds, bytes; None = off."""

    pre_roll_s: float = 0.0
    trigger: TriggerSpec | None = None
    split_s: float | None = None
    split_bytes: int | None = None
    run_for_s: float | None = None  #: a triggered session ends after this much audio

    def validate(self) -> FieldOptions:
        if not 0.0 <= self.pre_roll_s <= MAX_PRE_ROLL_S:
            raise RecorderError(f"pre-roll {self.pre_roll_s:g} s is outside 0-{MAX_PRE_ROLL_S:g} s")
        if self.split_s is not None and not self.split_s >= 1.0:
            raise RecorderError(f"split length {self.split_s:g} s is too short; split at 1 s or longer")
        if self.split_bytes is not None and not self.split_bytes >= 1 << 20:
            raise RecorderError("split size must be at least 1 MiB")
        if self.run_for_s is not None and not self.run_for_s > 0:
            raise RecorderError("--run-for must be longer than 0 s")
        return self


def ring_seconds_for(options: FieldOptions, base: float = 10.0) -> float:
    """How much audio the capture ring must hold for these options (pre-roll on top of the usual margin)."""
    return base + options.pre_roll_s


@dataclass
class _Family:
    id: str
    first_frame: int
    takes: list[Take] = field(default_factory=list)


class FieldSession:
    """Drive ``recorder`` (not yet armed, or armed) with ``options``. From one controlling thread."""

    def __init__(self, recorder: Recorder, options: FieldOptions, metadata: dict[str, Any] | None = None,
                 *, on_event: Callable[[str], None] | None = None,
                 extra_start: Callable[[], dict[str, Any]] | None = None,
                 extra_stop: Callable[[], dict[str, Any]] | None = None,
                 position: Callable[[], GpsFix] | None = None) -> None:
        # extra_start(): metadata merged into each take at its start (GPS location, battery); extra_stop():
        # fields for metadata.field at its stop (battery), written once the take is final (close()).
        # position(): the newest GPS fix (GpsReader.latest); each take's track (metadata.location.track) is
        # offered it at the take's start and at every poll, and written once the take is final (close()).
        self.extra_start = extra_start
        self.position = position
        self._tracks: dict[int, GpsTrack] = {}
        self.extra_stop = extra_stop
        self._stop_info: dict[int, dict[str, Any]] = {}
        self._completed: set[int] = set()  # takes whose end-of-take fields are written (complete_final)
        self.recorder = recorder
        self.options = options.validate()
        self.metadata = copy.deepcopy(metadata or {})
        self.on_event = on_event or (lambda _m: None)
        s = recorder.settings
        self.samplerate = s.samplerate
        fmt = format_for(s.container, s.subtype)
        self._dtype = fmt.dtype
        self._split_frames: int | None = None
        if options.split_s is not None:
            self._split_frames = int(round(options.split_s * s.samplerate))
        if options.split_bytes is not None:
            by_size = max(1, (options.split_bytes - 4096) // (s.channels * fmt.sample_bytes))  # header room
            self._split_frames = by_size if self._split_frames is None else min(self._split_frames, by_size)
        self.pre_roll = int(round(options.pre_roll_s * s.samplerate))
        #: a take may have to end at a frame the controller finds only after the audio arrived (a trigger's
        #: post-roll end, a split boundary, the end of --run-for): its writer is held back to what was looked at
        self.holds_takes = (options.trigger is not None or self._split_frames is not None
                            or options.run_for_s is not None)
        self.takes: list[Take] = []
        self.families: list[_Family] = []
        self._family: _Family | None = None
        self._next_split: int | None = None
        self._armed_at = 0
        self._last_stop = 0
        self._detector: TriggerDetector | None = None
        self._cursor = 0
        self._lock = threading.RLock()
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._end_frame: int | None = None
        self.ended = threading.Event()
        self.error: str | None = None

    # ---------------------------------------------------------------- control
    def start(self) -> None:
        """Arm the recorder and start the controller thread (the trigger detector listens from now)."""
        if self.recorder.capture is None:  # the ring must hold the pre-roll: a stream setting
            self.recorder.settings.ring_seconds = max(self.recorder.settings.ring_seconds,
                                                      ring_seconds_for(self.options))
        self.recorder.arm()
        cap = self.recorder.capture
        assert cap is not None
        if self.pre_roll > cap.ring.capacity - 2 * self.samplerate:
            raise RecorderError(f"the input ring holds {cap.ring.capacity / self.samplerate:.0f} s; a "
                                f"{self.options.pre_roll_s:g} s pre-roll at this rate and channel count does not fit")
        self._cursor = self._armed_at = self._last_stop = cap.ring.write_count
        if self.options.run_for_s is not None:
            self._end_frame = self._armed_at + int(round(self.options.run_for_s * self.samplerate))
        self._detector = None
        if self.options.trigger is not None and self.trigger_on_start:
            self.listen()
        self._quit.clear()
        self.ended.clear()
        self._thread = threading.Thread(target=self._run, name="fieldrec-field", daemon=True)
        self._thread.start()

    #: False for a schedule: the trigger listens only inside the periods (:meth:`listen`)
    trigger_on_start = True

    def listen(self, seconds: float | None = None) -> None:
        """Let the trigger start takes from now on (for ``seconds`` of audio, then the session ends)."""
        with self._lock:
            cap = self.recorder.capture
            assert cap is not None and self.options.trigger is not None
            self._detector = TriggerDetector(self.options.trigger, self.samplerate, cap.channels,
                                             start_frame=self._cursor)
            if seconds is not None:
                self._end_frame = self._cursor + int(round(seconds * self.samplerate))
                self.ended.clear()

    def deafen(self) -> None:
        """The trigger stops listening (a take it started goes on until stopped)."""
        with self._lock:
            self._detector = None

    def listening(self) -> bool:
        """True while the trigger may start takes (armed for a trigger, or inside a schedule's period)."""
        with self._lock:
            return self._detector is not None

    def incomplete(self) -> int:
        """Takes whose end-of-take fields :meth:`complete_final` has not written yet."""
        with self._lock:
            return sum(1 for t in self.takes if id(t) not in self._completed)

    def recording(self) -> bool:
        """True while a take runs (a split boundary, handled under the lock, never shows as a gap)."""
        with self._lock:
            return self.recorder.take is not None

    def suspend(self) -> None:
        """Stop the controller and any take and close the input (between a schedule's periods)."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self.recorder.take is not None:
            self.stop("schedule")
        self.recorder.disarm()

    def record(self, metadata: dict[str, Any] | None = None, *, started_by: str = "user",
               duration_s: float | None = None) -> Take:
        """Start a take now (with the pre-roll); ``duration_s`` ends it by itself (frames, exact)."""
        with self._lock:
            cap = self.recorder.capture
            if cap is None:
                raise RecorderError("the session is not started")
            now = cap.ring.write_count
            take = self._begin(now, started_by, metadata, held=duration_s is not None)
            if duration_s is not None:  # counted from the real start (after the pre-roll)
                self._end_of_take = self._real_start + int(round(duration_s * self.samplerate))
            return take

    def stop(self, reason: str = "user") -> Take | None:
        """Stop the take (and its family) now."""
        with self._lock:
            take = self._stop_at(reason, None, None)
            self._end_family()
            cap = self.recorder.capture
            self._last_stop = cap.ring.write_count if cap is not None else self._last_stop
            return take

    def close(self, timeout: float | None = 60.0) -> list[TakeResult]:
        """Stop everything, disarm, wait for every take to be final and complete the families' totals."""
        self._quit.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        if self.recorder.take is not None:
            self.stop("user")
        self.recorder.disarm()
        results = []
        for t in list(self.takes):
            r = t.wait(timeout)
            if r is not None:
                results.append(r)
        self.complete_final()
        self.ended.set()
        return results

    def complete_final(self) -> list[Take]:
        """Write what is known only at the end (a family's ``total``, the battery at stop, the GPS track) into every take
        that is final and whose family has ended; never waits. Returns the takes still to complete (the
        window calls this off its GUI thread while the session goes on; :meth:`close` after the last take)."""
        with self._lock:
            running = self._family if self.recorder.take is not None else None
            totals = {id(t): len(fam.takes) for fam in self.families if fam is not running for t in fam.takes}
            busy = {id(t) for t in running.takes} if running is not None else set()
            todo = [t for t in self.takes if id(t) not in self._completed]
        pending = []
        for t in todo:
            if t.result is None or id(t) in busy:
                pending.append(t)
                continue
            track = self._tracks.get(id(t))
            points = track.points if track is not None else []
            if id(t) in totals or self._stop_info.get(id(t)) or points:  # nothing to add: the file stays as is
                meta = copy.deepcopy(t.doc["metadata"])
                info = meta.setdefault("field", {})
                if id(t) in totals:
                    info.setdefault("family", {})["total"] = totals[id(t)]
                info.update(self._stop_info.get(id(t), {}))
                if points:
                    meta.setdefault("location", {})["track"] = points
                t.update_metadata(meta)
            self._completed.add(id(t))
        return pending

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a session with ``run_for_s`` to end by itself."""
        return self.ended.wait(timeout)

    # ---------------------------------------------------------------- internals
    _end_of_take: int | None = None
    _real_start = 0  #: stream frame where the last take really started (after its pre-roll)

    def _begin(self, frame: int, started_by: str, extra: dict[str, Any] | None,
               trigger: TriggerEvent | None = None, split_of: _Family | None = None, held: bool = False) -> Take:
        """Start a take whose real start is ``frame`` (a stream frame); pre-roll before it unless split. Its
        writer is held back (``Take.hold``) when the session may end it at a past frame (:attr:`holds_takes`,
        or ``held``: a take with a duration)."""
        cap = self.recorder.capture
        assert cap is not None
        if split_of is None:
            start = max(frame - self.pre_roll, self._armed_at, self._last_stop,
                        cap.ring.write_count - cap.ring.capacity + self.samplerate // 5)
            start = min(start, frame)
        else:
            start = frame
        meta = copy.deepcopy(self.metadata)
        for more in (self.extra_start() if self.extra_start else None, extra):
            for key, value in (more or {}).items():
                if isinstance(value, dict) and isinstance(meta.get(key), dict):
                    meta[key] = {**meta[key], **copy.deepcopy(value)}
                else:
                    meta[key] = copy.deepcopy(value)
        info: dict[str, Any] = meta.setdefault("field", {})
        info["started_by"] = started_by
        info["pre_roll"] = {"frames": frame - start, "seconds": (frame - start) / self.samplerate,
                            "asked_seconds": self.options.pre_roll_s}
        if trigger is not None and self.options.trigger is not None:
            info["trigger"] = {**self.options.trigger.as_dict(), "level_dbfs": trigger.level_db,
                               "first_crossing_frame": frame - start}
        fam = split_of
        if fam is None and self._split_frames is not None:
            fam = _Family(uuid.uuid4().hex, start)
            self.families.append(fam)
        if fam is not None:
            info["family"] = {"id": fam.id, "index": len(fam.takes) + 1, "first_frame": start - fam.first_frame,
                              "split_frames": self._split_frames}
            if split_of is not None and fam.takes:  # carry the first file's story (trigger, pre-roll) along
                first = fam.takes[0].doc["metadata"].get("field", {})
                for key in ("started_by", "trigger"):
                    if key in first:
                        info[key] = first[key]
                info["pre_roll"] = {"frames": 0, "seconds": 0.0, "asked_seconds": self.options.pre_roll_s}
        # A take started now with no pre-roll starts where the recorder says "now" (under its meter lock), so
        # its live analysis covers every frame of the file; a start in the past (pre-roll, trigger, split) is
        # given as a frame (the known limit below the module docstring).
        now_start = start == frame and split_of is None and trigger is None
        hold = max(self._cursor, start) if self.holds_takes or held else None
        take = self.recorder.record(meta, start_frame=None if now_start else start, hold=hold)
        self._real_start = take.start_frame if now_start else frame
        if now_start:
            if fam is not None and not fam.takes:
                fam.first_frame = take.start_frame
        elif take.start_frame != start:  # the recorder clamped it (ring too short): say what the file holds
            log.warning("take starts at %d instead of %d", take.start_frame, start)
        self.takes.append(take)
        if self.position is not None:
            self._tracks[id(take)] = GpsTrack()
            self._tracks[id(take)].offer(self.position(), 0)
        self._family = fam
        if fam is not None:
            fam.takes.append(take)
            self._next_split = take.start_frame + self._split_frames  # type: ignore[operator]
        self.on_event(f"take {take.paths.audio.name} ({started_by}, pre-roll {frame - start} frames)")
        return take

    def _end_family(self) -> None:
        self._family = None
        self._next_split = None
        self._end_of_take = None

    def _run(self) -> None:
        try:
            self._loop()
        except RecorderError as err:  # a take could not start (disk, folder): the session ends, said once
            self.error = str(err)
            self.on_event(f"session ended: {err}")
            log.error("field session: %s", err)
        finally:
            take = self.recorder.take
            if take is not None:  # nobody looks at the audio any more: the take writes freely
                take.hold = None
            if self.error is not None:
                self.ended.set()

    def _loop(self) -> None:
        batch = max(1, self.samplerate // 2)
        while not self._quit.wait(self._poll_s()):
            cap = self.recorder.capture
            if cap is None:
                return
            ring = cap.ring
            while True:
                wc = ring.write_count
                limit = wc if self._end_frame is None else min(wc, self._end_frame)
                if limit <= self._cursor:
                    break
                data, after, lost = ring.read(self._cursor, min(batch, limit - self._cursor))
                if lost:
                    log.warning("field controller fell %d frames behind", lost)
                    if self._detector is not None:  # the detector's frame count follows the ring
                        self._detector.frame += lost
                        self._detector._window_start += lost
                block_start = self._cursor + lost
                self._cursor = after
                with self._lock:
                    if self._detector is not None:
                        for ev in self._detector.process(to_float(data, self._dtype)):
                            self._on_trigger(ev)
                    self._check_boundaries(block_start, after)
                    self._release(after)
                    self._follow(after)
            if self._end_frame is not None and self._cursor >= self._end_frame:
                with self._lock:
                    if self.recorder.take is not None:
                        self._stop_at("run_for", None, self._end_frame)
                        self._end_family()
                    self._end_frame = None
                    self._detector = None
                self.on_event("session time over")
                self.ended.set()

    def _poll_s(self) -> float:
        """:data:`POLL_S` while there is something to watch, else :data:`IDLE_POLL_S`."""
        watching = self.holds_takes or self._end_of_take is not None or self.position is not None
        return POLL_S if watching else IDLE_POLL_S

    def _stop_at(self, reason: str, detail: str | None, at: int | None) -> Take | None:
        """Stop the running take at stream frame ``at`` (None: now); its stop frame is fixed, so it may write
        freely up to there (its hold goes)."""
        take = self.recorder.stop(reason, detail, at=at)
        if take is not None:
            take.hold = None
            if self.extra_stop is not None:
                self._stop_info[id(take)] = self.extra_stop()
        return take

    def _follow(self, frame: int) -> None:
        """Offer the newest GPS fix to the running take's track at stream frame ``frame`` (the controller's
        cursor: the fix is at most a poll, about 0.1 s, newer than the audio there)."""
        take = self.recorder.take
        track = self._tracks.get(id(take)) if take is not None else None
        if track is not None and self.position is not None:
            track.offer(self.position(), max(0, frame - take.start_frame))  # type: ignore[union-attr]

    def _release(self, frame: int) -> None:
        """Let the running take write up to ``frame``: everything before it has been looked at."""
        take = self.recorder.take
        if take is not None and take.hold is not None:
            take.hold = max(take.hold, frame)

    def _check_boundaries(self, lo: int, hi: int) -> None:
        take = self.recorder.take
        if take is None:
            if self._family is not None:  # the take ended by itself (duration, device, disk): family over
                self._end_family()
            return
        if self._end_of_take is not None and hi >= self._end_of_take:
            self._stop_at("duration", None, self._end_of_take)
            self._last_stop = self._end_of_take
            self._end_family()
            return
        while self._next_split is not None and hi >= self._next_split and self.recorder.take is not None:
            boundary = self._next_split
            fam = self._family
            self._stop_at("split", None, boundary)
            self._begin(boundary, "split", None, split_of=fam)

    def _on_trigger(self, ev: TriggerEvent) -> None:
        if ev.kind == "start":
            if self.recorder.take is not None:  # a take by hand is running: the trigger joins it
                return
            self._begin(ev.frame, "trigger", None, trigger=ev)
        else:
            if self.recorder.take is not None and self.recorder.take.doc["metadata"].get("field", {}).get(
                    "started_by") == "trigger":
                # a split boundary before the stop frame has already been handled in frame order
                self._stop_at("trigger", ev.reason, ev.frame)
                self._last_stop = ev.frame
                self._end_family()


class ScheduleTakes:
    """A :class:`fieldrec.field.schedule.ScheduleSession` over a :class:`FieldSession`: the input opens before
    each period and closes after it; a period is one take (split if set), or with a trigger, a time in which
    the trigger may start takes."""

    def __init__(self, session: FieldSession) -> None:
        self.session = session
        session.trigger_on_start = False
        self._trigger = session.options.trigger is not None

    def open(self) -> None:
        self.session.start()

    def close(self) -> None:
        self.session.suspend()

    def start(self, period: Any, late_s: float) -> None:
        remaining = max(0.0, period.seconds - late_s)
        info = {"field": {"schedule": {"period_start_utc": period.start.isoformat(),
                                       "period_end_utc": period.end.isoformat(), "names": list(period.names),
                                       "late_s": round(late_s, 3)}}}
        self.session.metadata = {**self.session.metadata, **{"field": {**self.session.metadata.get("field", {}),
                                                                        **info["field"]}}}
        if self._trigger:
            self.session.listen(remaining)
        else:
            self.session.record(started_by="schedule", duration_s=remaining)

    def stop(self, reason: str) -> None:
        self.session.deafen()
        if self.session.recorder.take is not None:
            self.session.stop("schedule")

    def running(self) -> bool:
        if self._trigger:
            return not self.session.ended.is_set()
        return self.session.recording()
