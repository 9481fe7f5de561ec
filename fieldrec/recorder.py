"""The recorder: one input stream, its meters, and the takes made from it.

Three activities, as in python-sounddevice's examples, plus a meter thread:

* the audio callback (``fieldrec.audio.stream.Capture``) copies each block into a preallocated ring and counts
  status flags; nothing else;
* each take (``fieldrec.take.Take``) has its own thread that moves its frames from the ring to its file and
  then finalises it (close, hash, sidecar). Its cursor holds the ring's *guard*: the callback drops (and
  records) a block rather than overwrite frames a take has not saved;
* the meter thread feeds ``fieldrec.analysis.meters.MeterBank`` in batches from its own cursor: the frames of
  a take go to that take's bank (its analysis), the others to the monitor bank. It works at the pace of
  whoever reads the meters (:meth:`Recorder.meters`): every :data:`METER_BATCH_S` for a window drawing at
  frame rate, once just before each read for a slower reader, every :data:`METER_IDLE_S` when nobody reads
  them (the take's analysis does not depend on the batch size). A reader that wakes at its own pace anyway
  (the command line's status line) can measure on its own thread instead (``meters(measure=True)``): one
  wake-up per reading, not two. If the meters are ever lapped, the take's analysis is marked partial; the
  file never waits for them;
* viewers (CLI line, GUI timer) pull ``status()``, ``meters()`` and ``latest()`` when they are ready.

``stop()`` returns at once: the take's last frame is fixed, the recorder is armed again and the take
finalises on its own thread (``Take.wait()``, ``Recorder.wait_finalised()``).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fieldrec.analysis.meters import MeterBank, MeterSnapshot
from fieldrec.audio import devices as _devices
from fieldrec.audio.devices import DeviceError, DeviceInfo
from fieldrec.audio.events import AudioEvent, EventTotals
from fieldrec.audio.levels import peak_of, to_float
from fieldrec.audio.ring import EV_FRAME
from fieldrec.audio.stream import Capture
from fieldrec.formats import COMMON_RATES, FORMATS, FormatError, format_for
from fieldrec.metadata import MetadataError, validate_metadata
from fieldrec.storage import diskspace
from fieldrec.storage.errors import StorageError
from fieldrec.storage.naming import expand_template, reserve_take_path
from fieldrec.storage.sidecar import sidecar_path
from fieldrec.storage.wav_writer import TakeWriter
from fieldrec.take import (
    Marker,
    OverflowEvent,
    RecorderError,
    Take,
    TakePaths,
    TakeResult,
    TakeSettings,
)
from fieldrec.threads import name_this_thread

__all__ = [
    "COMMON_RATES", "SUPPORTED_FORMATS", "Marker", "MeterPace", "OverflowEvent", "Recorder", "RecorderError", "Take",
    "TakePaths", "TakeResult", "TakeSettings", "TakeState", "TakeStatus", "check_settings",
    "list_input_devices",
]

log = logging.getLogger(__name__)

#: Formats offered to people, label -> (container, subtype): a view of ``fieldrec.formats.FORMATS``.
SUPPORTED_FORMATS: dict[str, tuple[str, str]] = {f.label: (f.container, f.subtype) for f in FORMATS.values()}
#: The meter thread wakes at most this often and processes everything that arrived (seconds): the momentary
#: loudness hop. Most of a batch's cost is per call, not per sample: measured, 50 ms batches cost the meter
#: thread 0.055 s of CPU per s of audio at 48 kHz / 2 ch, 100 ms batches 0.035 (docs/benchmarks.md); the
#: window's bars are smoothed by their ballistics.
METER_BATCH_S = 0.1
#: With nobody reading the meters (``fieldrec record -q``, no terminal) the meter thread wakes this often
#: (at most a second of audio per call). Each wake-up costs 1.5-2 ms of CPU beyond the work on this kind of
#: machine (measured: the same 0.5 s batches cost 2.7x more CPU with a 0.5 s sleep between them than back to
#: back), so a slow pace matters: 2 s batches cost the meter thread 0.007 s per s of audio at 48 kHz / 2 ch
#: where 0.5 s batches cost 0.0095 (docs/benchmarks.md, "What a take costs"). The take's analysis does not
#: depend on the batch size, and a stop wakes the thread at once.
METER_IDLE_S = 2.0
#: The meters take at most this much audio per call (seconds). Measured on this machine with 2 s batches:
#: 0.25 s calls cost 24 ms of CPU per s of audio at 192 kHz / 8 ch where 1 s calls cost 39-44 (a second of
#: eight channels in float64 is 12 MB: the true-peak and K-weighting passes no longer fit the cache); at
#: 48 kHz / 2 ch both cost 3.2-4.6 ms. Again on 2026-12-03, with freed memory kept (malloc_tuning): calls of
#: 1 s and 2 s at 48 kHz / 2 ch still made the meter thread fault in 170-340 fresh pages a second, 0.25 s
#: calls a few (tests/integration/test_take_virtual_device.py); with `fieldrec record`'s 0.17 s blocks 1 s
#: calls faulted 0-8 a second in one session's runs and 743 in 4.5 s in that test in a clean clone.
METER_CHUNK_S = 0.25
#: For a reader slower than METER_BATCH_S, a batch ends this long before its next expected read (seconds).
METER_LEAD_S = 0.03

#: A take that starts with its stream waits until the stream has delivered this much audio with no overflow
#: (seconds of audio), at most :data:`SETTLE_TIMEOUT_S` of wall time; the sidecar says if it did not.
SETTLE_AUDIO_S = 0.2
SETTLE_TIMEOUT_S = 4.0
#: How long ``record()`` waits for the previous take to save its last frames before it starts a new one.
DRAIN_WAIT_S = 10.0


class TakeState(enum.Enum):
    IDLE = "idle"
    ARMED = "armed"
    RECORDING = "recording"


@dataclass(frozen=True)
class TakeStatus:
    state: TakeState
    elapsed_s: float
    frames_written: int
    file_bytes: int
    disk_seconds_left: float | None
    overflows: tuple[AudioEvent, ...]
    device_name: str
    device_state: str  #: "ok", "stalled" (no audio for a moment), "lost" or "error"
    warning: str | None
    samplerate: int
    channels: int
    take: TakePaths | None
    totals: EventTotals | None = None
    finalising: tuple[tuple[TakePaths, float], ...] = ()  #: takes still being finalised, with progress 0..1


#: the simulated source's device name (what ``TakeStatus.device_name`` says when it records)
SIMULATED_NAME = _devices.SIMULATED_DEVICE.name


def default_input_name() -> str:
    """The name of the device the system default input resolves to now (the simulated source when there is
    no input or no PortAudio): what a take with ``device=None`` records from."""
    return _devices.default_input().name


def list_input_devices(refresh: bool = False) -> list[DeviceInfo]:
    """Input devices, the simulated source included. ``refresh`` re-scans for hot-plugged interfaces."""
    if refresh:
        _devices.refresh()
    return _devices.list_input_devices(include_simulated=True)


def _format_problem(settings: TakeSettings) -> str | None:
    try:
        format_for(settings.container, settings.subtype)
    except FormatError as err:
        return str(err)
    return None


def check_settings(settings: TakeSettings) -> str | None:
    """None when the device can record with these settings, else a one-line reason."""
    problem = _format_problem(settings)
    if problem:
        return problem
    try:
        device = _devices.resolve_device(settings.device)
        _devices.check_input_settings(device, settings.samplerate, settings.channels,
                                      format_for(settings.container, settings.subtype).dtype)
    except (DeviceError, ValueError) as err:
        return str(err)
    return None


class MeterPace:
    """How often the meters are read, and so how long the meter thread sleeps before its next batch.

    :meth:`read` is told each read (``Recorder.meters()``); :meth:`wait` gives the seconds until the next
    batch: :data:`METER_BATCH_S` for a reader at frame rate (the window), the moment :data:`METER_LEAD_S`
    before the next expected read of a slower one (a reader that reads a few times a second without measuring
    itself: what it shows is as fresh as with 100 ms batches, at a fraction of the wake-ups; the command line's
    status line measures on its own thread instead, ``meters(measure=True)``), :data:`METER_IDLE_S` once nobody has read
    for two of their intervals (or two idle periods). A reader that appears wakes the meter thread, so its
    first readings are fresh. Times are ``time.monotonic()`` seconds.
    """

    def __init__(self) -> None:
        self.last: float | None = None  #: when the meters were last read
        self.every: float | None = None  #: the reader's interval, smoothed

    def read(self, now: float) -> bool:
        """A read at ``now``; True when the meter thread should plan its sleep afresh (it was idle or the
        pace was not known yet: a reader that appears gets fresh meters at once, not after an idle sleep)."""
        replan = self.every is None or self.wait(now) == METER_IDLE_S
        if self.last is not None:
            gap = now - self.last
            every = self.every
            fresh = every is None or not every / 4 <= gap <= 4 * every  # a new pace: learn it afresh
            self.every = gap if fresh else 0.75 * every + 0.25 * gap
        self.last = now
        return replan

    def wait(self, now: float) -> float:
        last, every = self.last, self.every
        if last is None or every is None or now - last > max(2 * every, 2 * METER_IDLE_S):
            return METER_IDLE_S
        if every <= METER_BATCH_S:
            return METER_BATCH_S
        due = last + every - METER_LEAD_S
        while due - now < METER_BATCH_S / 2:
            due += every
        return min(due - now, METER_IDLE_S)


class Recorder:
    """One input stream and the takes recorded from it. For one controlling thread (CLI or GUI)."""

    def __init__(self, settings: TakeSettings, *, on_take_end: Callable[[TakeResult], None] | None = None):
        problem = _format_problem(settings)
        if problem:
            raise RecorderError(problem)
        self.settings = settings
        self._on_take_end = on_take_end
        self._format = format_for(settings.container, settings.subtype)
        self._dtype = self._format.dtype
        self._control = threading.RLock()  # state changes; never held during file I/O, never by the callback
        self._guard_lock = threading.Lock()  # the ring guard, moved by take threads
        self._meter_lock = threading.Lock()  # orders a take's first frame against the meter thread's cursor
        self._state = TakeState.IDLE
        self._device: DeviceInfo | None = None
        self._capture: Capture | None = None
        self._monitor: MeterBank | None = None
        self._meter_thread: threading.Thread | None = None
        self._meter_quit = threading.Event()
        self._meter_wake = threading.Event()  # a take stopped or the input closes: measure up to now
        self._pace = MeterPace()  # how often the meters are read: the meter thread keeps that pace
        self._metering: deque[Take] = deque()  # takes whose analysis the meter thread still owes
        self._measure_lock = threading.Lock()  # one measuring thread at a time: the meter thread or a reader
        self._meter_cursor = 0  # the next stream frame the meters take (set when the input opens)
        self._take: Take | None = None  # the take now recording
        self._open_takes: list[Take] = []  # takes whose frames are not all in their file yet (guard holders)
        self._finalising: list[Take] = []
        self._last_take: Take | None = None
        self._last_result: TakeResult | None = None

    # ---------------------------------------------------------------- the input
    @property
    def state(self) -> TakeState:
        return self._state

    @property
    def device(self) -> DeviceInfo | None:
        return self._device

    @property
    def capture(self) -> Capture | None:
        """The open input (issue 15: the field controllers read its ring with their own cursors), or None."""
        return self._capture

    @property
    def take(self) -> Take | None:
        """The take now recording, or None."""
        return self._take

    @property
    def last_result(self) -> TakeResult | None:
        return self._last_result

    @property
    def finalising(self) -> list[Take]:
        """Takes that have stopped and are still being closed, hashed and described."""
        with self._control:
            return list(self._finalising)

    def arm(self) -> None:
        """Open the input: the monitor tap and the meters run; nothing is written."""
        with self._control:
            if self._state is not TakeState.IDLE:
                return
            s = self.settings
            monitor = self._new_bank()  # first: it loads scipy, which takes seconds on a slow laptop
            try:
                device = _devices.resolve_device(s.device)
                open_channels = s.channels if s.keep_channels is None else max(s.keep_channels) + 1
                _devices.check_input_settings(device, s.samplerate, open_channels, self._dtype)
                capture = Capture(device, s.samplerate, s.channels, self._dtype, blocksize=s.blocksize,
                                  latency=s.latency, ring_seconds=s.ring_seconds, keep=s.keep_channels,
                                  block_s=s.block_s)
                capture.start()
            except DeviceError as err:
                raise RecorderError(str(err)) from None
            except Exception as err:  # PortAudio errors come as sd.PortAudioError with multi-line text
                raise RecorderError(f"cannot open input {s.device!r}: {str(err).splitlines()[0]}") from None
            self._device = device
            self._capture = capture
            self._monitor = monitor
            self._meter_quit.clear()
            self._meter_wake.clear()
            self._meter_cursor = capture.ring.write_count  # no take can start before this frame
            self._meter_thread = threading.Thread(target=self._meter_loop, args=(capture,),
                                                  name="fieldrec-meters", daemon=True)
            self._meter_thread.start()
            self._state = TakeState.ARMED
            log.info("armed %s at %d Hz, %d ch, %s", device.name, s.samplerate, s.channels, self._dtype)

    def disarm(self) -> None:
        """Close the input. A take still recording is stopped first; every take's frames reach its file
        and its analysis is finished before the stream closes (finalisation may go on afterwards)."""
        if self._state is TakeState.RECORDING:
            self.stop("user")
        for take in list(self._open_takes):
            take.ended.wait(DRAIN_WAIT_S)
        for take in list(self._metering):
            take.meter_done.wait(DRAIN_WAIT_S)
        with self._control:
            if self._state is TakeState.IDLE:
                return
            self._meter_quit.set()
            self._meter_wake.set()
            if self._meter_thread is not None:
                self._meter_thread.join(timeout=5)
            if self._capture is not None:
                self._capture.close()
            self._capture = None
            self._meter_thread = None
            self._state = TakeState.IDLE

    def close(self) -> None:
        """Disarm and wait for every take to be finalised."""
        self.disarm()
        self.wait_finalised()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def latest(self, frames: int) -> np.ndarray:
        """The newest ``frames`` of input as float32 (n, channels) in [-1, 1); fewer at the start."""
        capture = self._capture
        if capture is None:
            return np.zeros((0, self.settings.channels), np.float32)
        return to_float(capture.ring.latest(frames), self._dtype)

    def latest_peak(self, frames: int) -> np.ndarray | None:
        """Per-channel sample peak (float64, full scale = 1.0) of the newest ``frames`` of input (fewer at the
        start); None before the first. The values of ``abs(latest(frames)).max(axis=0)``, without its float32
        rounding and with no float copy of the frames."""
        capture = self._capture
        block = capture.ring.latest(frames) if capture is not None else None
        return peak_of(block, self._dtype) if block is not None and len(block) else None

    def meters(self, measure: bool = False) -> MeterSnapshot | None:
        """What the meters show now: the take's while recording, else the monitor's. The meter thread keeps
        the pace of these calls (:class:`MeterPace`).

        ``measure``: first bring the meters up to the newest frame on the calling thread, for a reader that
        wakes at its own slow pace anyway (the command line's status line, 4 times a second): one wake-up per
        reading instead of two, and the meter thread keeps its idle pace (:data:`METER_IDLE_S`). Meter
        failures are handled as on the meter thread (logged, the take's analysis marked partial)."""
        if measure:
            capture = self._capture
            if capture is not None:
                with self._measure_lock:
                    self._measure(capture)
        elif self._pace.read(time.monotonic()):
            self._meter_wake.set()
        take = self._take
        bank = take.bank if take is not None else self._monitor
        return bank.snapshot() if bank is not None else None

    def reset_clips(self) -> None:
        for bank in (self._monitor, self._take.bank if self._take else None):
            if bank is not None:
                bank.reset_clips()

    # ---------------------------------------------------------------- takes
    def record(self, metadata: dict[str, Any] | None = None, *, start_frame: int | None = None,
               hold: int | None = None, stop_metadata: Callable[[], dict[str, Any]] | None = None) -> Take:
        """Start a take: reserve a file that exists nowhere yet, write its first sidecar, start its thread.

        ``start_frame`` (issue 15, pre-roll and gap-free splitting; see fieldrec.session): the stream frame the
        take's file begins at, in the past (still in the ring) or now; None = the newest captured frame. It is
        raised to the oldest frame the ring still holds. ``hold``: see ``Take.hold`` (the controller moves it).
        ``stop_metadata``: see ``Take.stop_metadata`` (what is known only at the stop, such as the battery).
        Raises RecorderError (one line) and leaves no file behind when the take cannot start.
        """
        clean, errors = validate_metadata(metadata)
        if errors:
            raise RecorderError(str(MetadataError(errors)))
        self.arm()
        with self._control:
            if self._state is TakeState.RECORDING:
                raise RecorderError("already recording")
            capture = self._capture
            assert capture is not None and self._device is not None
            if capture.device_lost:
                raise RecorderError(f"input {self._device.name!r} is gone; reconnect it and arm again")
            for previous in list(self._open_takes):  # its last frames must be saved before the guard moves on
                previous.ended.wait(DRAIN_WAIT_S)
            settled = self._wait_settled(capture)
            s = self.settings
            fmt = format_for(s.container, s.subtype)
            if fmt.dtype != self._dtype:
                raise RecorderError(f"{fmt.label} needs {fmt.dtype} samples but the input is open for "
                                    f"{self._dtype}; disarm and arm again to change the sample type")
            now = datetime.now(UTC)
            local = now.astimezone()
            try:
                s.out_dir.mkdir(parents=True, exist_ok=True)
                stem = expand_template(
                    s.name_template, when=local, location=clean["location"]["name"], device=self._device.name,
                    samplerate=s.samplerate, channels=s.channels, recorder=clean["equipment"]["recorder"],
                    microphone=clean["equipment"]["microphone"], tags=clean["tags"], project=clean["project"],
                    scene=clean["scene"], take=clean["take"])
                audio_path = reserve_take_path(s.out_dir, stem, "." + s.container)
            except (StorageError, OSError) as err:
                raise RecorderError(f"cannot create the take in {s.out_dir}: {err}") from None
            try:
                writer = TakeWriter(audio_path, s.samplerate, s.channels, s.container, s.subtype)
            except StorageError as err:
                _remove_unused(audio_path)
                raise RecorderError(f"cannot create the take in {s.out_dir}: {err}") from None
            paths = TakePaths(audio_path, sidecar_path(audio_path))
            with self._meter_lock:  # the meter thread cannot pass this frame before the take is registered
                start = capture.ring.write_count
                if start_frame is not None:  # issue 15: pre-roll / split boundary (frames still in the ring)
                    start = min(start, max(int(start_frame), start - capture.ring.capacity + capture.samplerate // 10))
                take = Take(capture=capture, settings=s, paths=paths, writer=writer, start_frame=start,
                            metadata=clean, bank=self._new_bank(), started=now, stream_settled=settled,
                            release_guard=self._move_guard, on_end=self._take_ended, on_final=self._take_final)
                take.stop_metadata = stop_metadata
                with self._guard_lock:
                    self._open_takes.append(take)
                    self._set_guard()
                self._metering.append(take)
            bps = diskspace.bytes_per_second(s.samplerate, s.channels, s.subtype)
            take.disk_left = diskspace.seconds_left(s.out_dir, bps)
            _fallback, error = take._save(final=False)
            if error is not None:  # nothing recorded yet: refuse the take rather than record blind
                self._abandon(take)
                writer.close()
                _remove_unused(audio_path)
                raise RecorderError(f"cannot write the sidecar {paths.sidecar}: {error}")
            self._take = take
            self._last_take = take
            self._state = TakeState.RECORDING
            take.hold = hold  # issue 15: set before the take's thread writes anything
            take.start()
            log.info("recording %s", audio_path)
            return take

    def stop(self, reason: str = "user", detail: str | None = None, *, at: int | None = None) -> Take | None:
        """End the take at the newest captured frame (or at stream frame ``at``: issue 15, a trigger's
        post-roll end or a split boundary) and return it at once; every captured frame up to there reaches the
        file. The recorder is armed again; the take finalises on its own thread (``take.wait()``)."""
        with self._control:
            take = self._take
            if take is None:
                return None
            take.request_stop(reason, detail, at=at)
            self._meter_wake.set()  # the take's analysis is taken as soon as the meters reach its last frame
            self._take = None
            if self._state is TakeState.RECORDING:
                self._state = TakeState.ARMED
            return take

    def wait(self, timeout: float | None = None) -> TakeResult | None:
        """Wait for the current take to end by itself (duration, device lost, disk full) and be finalised.
        With no take recording, the result of the last take (after its finalisation)."""
        take = self._take or self._last_take
        if take is None:
            return None
        return take.wait(timeout)

    def wait_finalised(self, timeout: float | None = None) -> bool:
        """Wait until every stopped take is finalised; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for take in self.finalising + ([self._last_take] if self._last_take else []):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if take.ended.is_set() and not take.finalised.wait(left):
                return False
        return True

    def add_marker(self, label: str = "") -> Marker:
        """A marker at the newest captured frame of the take (what the user hears now)."""
        take = self._take
        if take is None:
            raise RecorderError("markers can be added while recording")
        return take.add_marker(label)

    def update_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Replace the metadata of the take recording now, or of the last take after stop. Raises
        RecorderError naming the invalid field. The sidecar is saved off this thread while recording."""
        clean, errors = validate_metadata(metadata)
        if errors:
            raise RecorderError(str(MetadataError(errors)))
        take = self._take or self._last_take
        if take is None:
            raise RecorderError("no take to edit yet")
        take.update_metadata(clean)
        return clean

    def status(self) -> TakeStatus:
        capture = self._capture
        lost = capture is not None and capture.device_lost
        stalled = capture is not None and not lost and capture.stalled
        error = capture.error if capture is not None else None
        take = self._take or self._last_take
        recording = self._state is TakeState.RECORDING and self._take is not None
        warning = None
        overflows: tuple[AudioEvent, ...] = ()
        totals = None
        if take is not None:
            if take.result is not None:
                overflows, totals = take.result.overflows, take.result.totals
            else:
                overflows, totals = take.events.events, take.events.totals
            warnings = take.warnings
            warning = warnings[-1] if warnings else None
            if recording and take.disk_left is not None and take.disk_left < diskspace.LOW_SPACE_SECONDS:
                warning = f"disk nearly full: {take.disk_left / 60:.1f} min left at this data rate"
        frames = take.frames if take is not None else 0
        return TakeStatus(
            state=self._state,
            elapsed_s=frames / self.settings.samplerate,
            frames_written=(take.cursor - take.start_frame) if take is not None else 0,
            file_bytes=take.file_bytes if take is not None else 0,
            disk_seconds_left=take.disk_left if take is not None else None,
            overflows=overflows,
            device_name=self._device.name if self._device else str(self.settings.device or ""),
            device_state="lost" if lost else "error" if error else "stalled" if stalled else "ok",
            warning=warning,
            samplerate=self.settings.samplerate,
            channels=self.settings.channels,
            take=take.paths if take is not None else None,
            totals=totals,
            finalising=tuple((t.paths, t.progress) for t in self.finalising),
        )

    # ---------------------------------------------------------------- internals
    def _new_bank(self) -> MeterBank:
        s = self.settings
        return MeterBank(s.samplerate, s.channels, clip_level=self._format.clip_level)

    def _wait_settled(self, capture: Capture) -> bool:
        """Wait until the stream has delivered :data:`SETTLE_AUDIO_S` of audio with no overflow among it
        (a stream armed long ago passes at once). False if it did not settle in :data:`SETTLE_TIMEOUT_S`."""
        ring = capture.ring
        need = int(SETTLE_AUDIO_S * capture.samplerate)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            wc = ring.write_count
            count = ring.event_count
            last_event = int(ring.event_table[(count - 1) % ring.event_table.shape[0], EV_FRAME]) if count else -1
            if wc >= need and last_event < wc - need:
                return True
            if time.monotonic() >= deadline or capture.device_lost:
                log.warning("the input did not deliver steadily within %.0f s; the take starts anyway",
                            SETTLE_TIMEOUT_S)
                return False
            time.sleep(0.02)

    def _abandon(self, take: Take) -> None:
        """Forget a take that never started: its guard and its claim on the meters go."""
        take.request_stop("error", "the take could not start", at=take.start_frame)
        take.meter_done.set()
        with self._guard_lock:
            if take in self._open_takes:
                self._open_takes.remove(take)
            self._set_guard()

    def _set_guard(self) -> None:
        """The ring's guard: the oldest frame any open take has not saved yet (callers hold _guard_lock)."""
        capture = self._capture
        if capture is None:
            return
        cursors = [t.cursor for t in self._open_takes if not t.ended.is_set()]
        capture.ring.guard = min(cursors) if cursors else None

    def _move_guard(self, take: Take) -> None:
        with self._guard_lock:
            if take.ended.is_set() and take in self._open_takes:
                self._open_takes.remove(take)
            self._set_guard()

    def _take_ended(self, take: Take) -> None:
        """On the take's thread: its stop frame is fixed and its audio saved; it is finalising now."""
        self._meter_wake.set()
        with self._control:
            self._finalising.append(take)
            if self._take is take:  # it ended by itself (duration, device lost, disk full, error)
                self._take = None
                if self._state is TakeState.RECORDING:
                    self._state = TakeState.ARMED

    def _take_final(self, take: Take) -> None:
        with self._control:
            if take in self._finalising:
                self._finalising.remove(take)
            if take.result is not None:
                self._last_result = take.result
        if self._on_take_end is not None and take.result is not None:
            try:
                self._on_take_end(take.result)
            except Exception:
                log.exception("on_take_end callback failed")

    def _meter_loop(self, capture: Capture) -> None:
        """Feed the meters from the ring at the readers' pace (:class:`MeterPace`): see :meth:`_measure`."""
        name_this_thread("fieldrec-meters")
        while True:
            self._meter_wake.wait(self._pace.wait(time.monotonic()))
            self._meter_wake.clear()
            if self._meter_quit.is_set():
                break
            with self._measure_lock:
                self._measure(capture)

    def _measure(self, capture: Capture) -> None:
        """Bring the meters up to the newest frame (callers hold ``_measure_lock``): frames of a take to its
        bank, the rest to the monitor bank, at most :data:`METER_CHUNK_S` per call. At a take's stop frame its
        analysis is taken and the monitor starts afresh."""
        ring = capture.ring
        cursor = self._meter_cursor
        batch = max(1, int(METER_CHUNK_S * capture.samplerate))
        try:
            while True:
                with self._meter_lock:
                    take = self._metering[0] if self._metering else None
                    if take is not None and take.meter_stop is not None and cursor >= take.meter_stop:
                        self._metering.popleft()
                        self._finish_analysis(take)
                        if self._monitor is not None:
                            self._monitor.reset()
                        continue
                    end = ring.write_count
                    if take is None:
                        bank, limit = self._monitor, end
                    elif cursor < take.start_frame:
                        bank, limit = self._monitor, min(end, take.start_frame)
                    else:
                        if not take.meter_started:  # its first batch: from its first frame, even if the meters
                            take.meter_started = True  # had passed it (pre-roll, a start at a past frame)
                            cursor = min(cursor, take.start_frame)
                        bank = None if take.meter_done.is_set() else take.bank
                        limit = end if take.meter_stop is None else min(end, take.meter_stop)
                    if limit <= cursor:
                        break
                    data, after, lost = ring.read(cursor, min(limit - cursor, batch))
                if lost and take is not None and after > take.start_frame:
                    take.partial_reason = take.partial_reason or f"the meters fell {lost} frames behind"
                cursor = max(after, cursor)
                if bank is None or not len(data):
                    continue
                try:
                    bank.process(to_float(data, self._dtype))
                except Exception as err:  # a meter bug must never stop the take or the monitor
                    log.exception("meters failed")
                    if bank is self._monitor:
                        self._monitor = self._new_bank()
                    elif take is not None:
                        self._salvage_analysis(take)
                        take.analysis_failed(f"{type(err).__name__}: {err}")
        finally:
            self._meter_cursor = cursor

    @staticmethod
    def _salvage_analysis(take: Take) -> None:
        """After a meter failure: keep what the take's bank measured so far, if it can still say."""
        try:
            take.analysis = take.bank.result()
        except Exception:
            log.exception("no analysis could be salvaged")
            take.analysis = None

    def _finish_analysis(self, take: Take) -> None:
        if take.meter_done.is_set():
            return
        try:
            take.analysis = take.bank.result()
        except Exception as err:
            log.exception("take analysis failed")
            take.analysis_failed(f"{type(err).__name__}: {err}")
            return
        take.meter_done.set()


def _remove_unused(path: Path) -> None:
    """Remove the file of a take that failed to start: it was reserved (empty) or holds a header and no
    frame, since no frame is written before the take's thread starts. No orphan is left behind."""
    path.unlink(missing_ok=True)
