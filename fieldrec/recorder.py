"""One take: arm, record, stop, markers, metadata, state. The only place where threads and stop order live.

Three activities, as in python-sounddevice's examples, plus a meter thread:

* the audio callback (``fieldrec.audio.stream.Capture``) copies each block into a preallocated ring and counts
  status flags; nothing else;
* the writer thread moves frames from the ring to the file (``fieldrec.storage.wav_writer.TakeWriter``). Its
  cursor is the ring's *guard*: the callback drops (and records) a block rather than overwrite frames the
  writer has not saved. It also ends a take by itself (duration reached, device lost, disk full, write
  error) and finalises it: close, hash, sidecar;
* the meter thread feeds the same frames to ``fieldrec.analysis.meters.MeterBank`` from its own cursor. If it
  ever falls a full ring behind, the analysis is marked partial; the file never waits for it;
* viewers (CLI line, GUI timer) pull ``status()``, ``meters()`` and ``latest()`` when they are ready.

Frame positions in the sidecar (markers, overflows) count from the first frame of the file.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fieldrec.analysis.meters import MeterBank, MeterSnapshot
from fieldrec.analyze import clip_level_for_subtype
from fieldrec.audio import devices as _devices
from fieldrec.audio.devices import DeviceError, DeviceInfo
from fieldrec.audio.levels import to_float
from fieldrec.audio.stream import Capture
from fieldrec.defaults import DEFAULT_TEMPLATE, default_out_dir
from fieldrec.metadata import MetadataError, validate_metadata
from fieldrec.metadata.sidecar import Sidecar, finish_sidecar, new_sidecar
from fieldrec.storage import diskspace
from fieldrec.storage.naming import expand_template, reserve_take_path
from fieldrec.storage.sidecar import sidecar_path, write_sidecar
from fieldrec.storage.take_file import finalise_file, rewrite_take
from fieldrec.storage.wav_writer import DiskFullError, StorageError, TakeWriter, capture_dtype

log = logging.getLogger(__name__)

#: Formats offered to people, label -> (container, subtype).
SUPPORTED_FORMATS: dict[str, tuple[str, str]] = {
    "WAV 16-bit": ("wav", "PCM_16"),
    "WAV 24-bit": ("wav", "PCM_24"),
    "WAV 32-bit": ("wav", "PCM_32"),
    "WAV 32-bit float": ("wav", "FLOAT"),
    "FLAC 16-bit": ("flac", "PCM_16"),
    "FLAC 24-bit": ("flac", "PCM_24"),
}
COMMON_RATES = (44100, 48000, 88200, 96000, 176400, 192000)
_POLL_S = 0.01
_WRITE_CHUNK_S = 0.25
_CHECK_S = 1.0


class RecorderError(RuntimeError):
    """A take could not start or go on; ``str(err)`` is one line a person can act on."""


class TakeState(enum.Enum):
    IDLE = "idle"
    ARMED = "armed"
    RECORDING = "recording"


@dataclass
class TakeSettings:
    """What to record and where. ``device`` None = the system's default input (or the simulated source)."""

    device: str | int | None = None
    samplerate: int = 48000
    channels: int = 2
    container: str = "wav"
    subtype: str = "PCM_24"
    out_dir: Path = field(default_factory=default_out_dir)
    name_template: str = DEFAULT_TEMPLATE
    duration_s: float | None = None  #: stop by itself after this many seconds (sample-exact)
    blocksize: int = 0  #: frames per callback; 0 lets PortAudio choose
    latency: str | float = "high"


@dataclass(frozen=True)
class TakePaths:
    audio: Path
    sidecar: Path


@dataclass(frozen=True)
class Marker:
    frame: int
    time_s: float
    label: str = ""


@dataclass(frozen=True)
class OverflowEvent:
    """Audio that did not reach the file: ``kind`` input_overflow (PortAudio), ring_overrun (writer too slow)
    or device_lost; ``frame`` is the position in the file, ``frames_lost`` 0 when unknown."""

    kind: str
    frame: int
    time_s: float
    frames_lost: int


@dataclass(frozen=True)
class TakeResult:
    paths: TakePaths
    frames: int
    stop_reason: str
    stop_detail: str | None
    overflows: tuple[OverflowEvent, ...]
    analysis: dict[str, Any] | None


@dataclass(frozen=True)
class TakeStatus:
    state: TakeState
    elapsed_s: float
    frames_written: int
    file_bytes: int
    disk_seconds_left: float | None
    overflows: tuple[OverflowEvent, ...]
    device_name: str
    device_state: str  #: "ok", "stalled" (no audio for a moment), "lost" or "error"
    warning: str | None
    samplerate: int
    channels: int
    take: TakePaths | None


def list_input_devices(refresh: bool = False) -> list[DeviceInfo]:
    """Input devices, the simulated source included. ``refresh`` re-scans for hot-plugged interfaces."""
    if refresh:
        _devices.refresh()
    return _devices.list_input_devices(include_simulated=True)


def _format_problem(settings: TakeSettings) -> str | None:
    if (settings.container, settings.subtype) in SUPPORTED_FORMATS.values():
        return None
    return f"{settings.container.upper()} {settings.subtype} is not offered; choose one of: " + ", ".join(
        SUPPORTED_FORMATS)


def check_settings(settings: TakeSettings) -> str | None:
    """None when the device can record with these settings, else a one-line reason."""
    problem = _format_problem(settings)
    if problem:
        return problem
    try:
        device = _devices.resolve_device(settings.device)
        _devices.check_input_settings(
            device, settings.samplerate, settings.channels, capture_dtype(settings.subtype)
        )
    except (DeviceError, StorageError, ValueError) as err:
        return str(err)
    return None


class Recorder:
    """One input stream and, while recording, one take. Thread-safe for one controlling thread (CLI or GUI)."""

    def __init__(self, settings: TakeSettings, *, on_take_end: Callable[[TakeResult], None] | None = None):
        self.settings = settings
        self._on_take_end = on_take_end
        self._control = threading.RLock()  # state changes and sidecar writes; never touched by the callback
        self._state = TakeState.IDLE
        self._device: DeviceInfo | None = None
        self._capture: Capture | None = None
        self._meters: MeterBank | None = None
        self._meter_thread: threading.Thread | None = None
        self._meter_quit = threading.Event()
        self._meter_lock = threading.Lock()  # mark/limit hand-over to the meter thread (not the callback)
        self._meter_mark: int | None = None  # stream frame where the meter thread resets for a take
        self._meter_limit: int | None = None  # stream frame where the take's analysis ends
        self._meter_done = threading.Event()
        self._take_analysis: dict[str, Any] | None = None
        self._analysis_partial = False
        problem = _format_problem(settings)
        if problem:
            raise RecorderError(problem)
        self._dtype = capture_dtype(settings.subtype)
        # the take
        self._take: TakePaths | None = None
        self._writer: TakeWriter | None = None
        self._writer_thread: threading.Thread | None = None
        self._start_frame = 0
        self._stop_frame: int | None = None
        self._stop_reason: str | None = None
        self._stop_detail: str | None = None
        self._written = 0
        self._file_bytes = 0
        self._disk_left: float | None = None
        self._warning: str | None = None
        self._sidecar: dict[str, Any] = {}
        self._markers: list[Marker] = []
        self._metadata: dict[str, Any] = {}
        self._last_result: TakeResult | None = None
        self._last_event_count = 0

    # ---------------------------------------------------------------- monitoring
    @property
    def state(self) -> TakeState:
        return self._state

    @property
    def device(self) -> DeviceInfo | None:
        return self._device

    @property
    def last_result(self) -> TakeResult | None:
        return self._last_result

    def arm(self) -> None:
        """Open the input: the monitor tap and the meters run; nothing is written."""
        with self._control:
            if self._state is not TakeState.IDLE:
                return
            s = self.settings
            try:
                device = _devices.resolve_device(s.device)
                _devices.check_input_settings(device, s.samplerate, s.channels, self._dtype)
                capture = Capture(
                    device, s.samplerate, s.channels, self._dtype, blocksize=s.blocksize, latency=s.latency
                )
                capture.start()
            except DeviceError as err:
                raise RecorderError(str(err)) from None
            except Exception as err:  # PortAudio errors come as sd.PortAudioError with multi-line text
                raise RecorderError(f"cannot open input {s.device!r}: {str(err).splitlines()[0]}") from None
            self._device = device
            self._capture = capture
            self._meters = MeterBank(s.samplerate, s.channels, clip_level=clip_level_for_subtype(s.subtype))
            self._meter_quit.clear()
            self._meter_thread = threading.Thread(target=self._meter_loop, name="fieldrec-meters", daemon=True)
            self._meter_thread.start()
            self._state = TakeState.ARMED
            log.info("armed %s at %d Hz, %d ch, %s", device.name, s.samplerate, s.channels, self._dtype)

    def disarm(self) -> None:
        """Close the input (stops a take first)."""
        if self._state is TakeState.RECORDING:
            self.stop("user")
        with self._control:
            if self._state is TakeState.IDLE:
                return
            self._meter_quit.set()
            if self._meter_thread is not None:
                self._meter_thread.join(timeout=5)
            if self._capture is not None:
                self._capture.close()
            self._capture = None
            self._meter_thread = None
            self._state = TakeState.IDLE

    def close(self) -> None:
        self.disarm()

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

    def meters(self) -> MeterSnapshot | None:
        meters = self._meters
        return meters.snapshot() if meters is not None else None

    def reset_clips(self) -> None:
        if self._meters is not None:
            self._meters.reset_clips()

    # ---------------------------------------------------------------- the take
    def record(self, metadata: dict[str, Any] | None = None) -> TakePaths:
        """Start a take: reserve a file that exists nowhere yet, write the sidecar, start the writer."""
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
            s = self.settings
            now = datetime.now(UTC)
            try:
                s.out_dir.mkdir(parents=True, exist_ok=True)
                local = now.astimezone()
                stem = expand_template(
                    s.name_template,
                    date=local.strftime("%Y-%m-%d"),
                    time=local.strftime("%H%M%S"),
                    location=clean["location"]["name"],
                    device=self._device.name,
                    samplerate=s.samplerate,
                    channels=s.channels,
                )
                audio_path = reserve_take_path(s.out_dir, stem, "." + s.container)
                writer = TakeWriter(audio_path, s.samplerate, s.channels, s.container, s.subtype)
            except (StorageError, OSError, ValueError, KeyError) as err:
                raise RecorderError(f"cannot create the take in {s.out_dir}: {err}") from None
            bps = diskspace.bytes_per_second(s.samplerate, s.channels, s.subtype)
            self._disk_left = diskspace.seconds_left(s.out_dir, bps)
            self._take = TakePaths(audio_path, sidecar_path(audio_path))
            self._writer = writer
            self._markers = []
            self._last_event_count = 0
            self._metadata = clean
            self._written = 0
            self._file_bytes = 0
            self._stop_reason = None
            self._stop_detail = None
            self._warning = None
            self._take_analysis = None
            self._analysis_partial = False
            # From here the callback will not overwrite what the writer has not saved.
            start = capture.ring.write_count
            capture.ring.guard = start
            self._start_frame = start
            self._stop_frame = start + round(s.duration_s * s.samplerate) if s.duration_s else None
            self._meter_done.clear()
            with self._meter_lock:
                self._meter_mark = start
                self._meter_limit = self._stop_frame
            self._sidecar = self._new_sidecar(now)
            try:
                write_sidecar(self._take.sidecar, self._sidecar)
            except OSError as err:
                capture.ring.guard = None
                writer.close()
                raise RecorderError(f"cannot write the sidecar {self._take.sidecar}: {err}") from None
            self._state = TakeState.RECORDING
            self._writer_thread = threading.Thread(target=self._writer_loop, name="fieldrec-writer", daemon=True)
            self._writer_thread.start()
            log.info("recording %s", audio_path)
            return self._take

    def stop(self, reason: str = "user", detail: str | None = None) -> TakeResult | None:
        """End the take at the newest captured frame; every captured frame reaches the file. Blocks until the
        file is closed, hashed and the sidecar written; then the input stays armed."""
        thread = self._writer_thread
        with self._control:
            if self._state is TakeState.RECORDING and self._stop_reason is None:
                self._request_stop(reason, detail)
        if thread is not None:
            thread.join()
        return self._last_result

    def wait(self, timeout: float | None = None) -> TakeResult | None:
        """Wait for the take to end by itself (duration, device lost, disk full)."""
        thread = self._writer_thread
        if thread is not None:
            thread.join(timeout)
        return self._last_result if self._state is not TakeState.RECORDING else None

    def add_marker(self, label: str = "") -> Marker:
        """A marker at the newest captured frame of the take (what the user hears now)."""
        with self._control:
            if self._state is not TakeState.RECORDING or self._capture is None:
                raise RecorderError("markers can be added while recording")
            frame = self._capture.ring.write_count - self._start_frame
            if self._stop_frame is not None:
                frame = min(frame, self._stop_frame - self._start_frame)
            marker = Marker(frame, frame / self.settings.samplerate, str(label)[:200])
            self._markers.append(marker)
            self._sidecar["markers"] = [m.__dict__ for m in self._markers]
            self._save_sidecar()
            return marker

    def update_metadata(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Replace the take's metadata (while recording, or for the last take after stop); the sidecar is
        rewritten atomically. Raises RecorderError naming the invalid field."""
        clean, errors = validate_metadata(metadata)
        if errors:
            raise RecorderError(str(MetadataError(errors)))
        with self._control:
            if self._take is None:
                raise RecorderError("no take to edit yet")
            self._metadata = clean
            self._sidecar["metadata"] = clean
            if self._state is not TakeState.RECORDING and self._sidecar.get("recording", {}).get("state") == "complete":
                try:  # a finished take: its chunks follow the sidecar (new file, fsync, rename)
                    self._sidecar = rewrite_take(self._take.audio, Sidecar.model_validate(self._sidecar)).to_json()
                except StorageError as err:
                    self._warning = str(err)
                    log.error("rewriting chunks: %s", err)
            self._save_sidecar()
        return clean

    def status(self) -> TakeStatus:
        capture = self._capture
        overflows = self._overflows()
        lost = capture is not None and capture.device_lost
        stalled = capture is not None and not lost and capture.stalled
        error = capture.error if capture is not None else None
        recording = self._state is TakeState.RECORDING
        if recording and capture is not None:
            captured = capture.ring.write_count - self._start_frame
            if self._stop_frame is not None:
                captured = min(captured, self._stop_frame - self._start_frame)
        else:
            captured = self._written
        warning = self._warning
        if self._disk_left is not None and self._disk_left < diskspace.LOW_SPACE_SECONDS and recording:
            warning = f"disk nearly full: {self._disk_left / 60:.1f} min left at this data rate"
        return TakeStatus(
            state=self._state,
            elapsed_s=captured / self.settings.samplerate,
            frames_written=self._written,
            file_bytes=self._file_bytes,
            disk_seconds_left=self._disk_left,
            overflows=overflows,
            device_name=self._device.name if self._device else str(self.settings.device or ""),
            device_state="lost" if lost else "error" if error else "stalled" if stalled else "ok",
            warning=warning,
            samplerate=self.settings.samplerate,
            channels=self.settings.channels,
            take=self._take,
        )

    # ---------------------------------------------------------------- internals
    def _overflows(self) -> tuple[OverflowEvent, ...]:
        capture = self._capture
        if capture is None or self._take is None or self._state is not TakeState.RECORDING:
            return self._last_result.overflows if self._last_result else ()  # the last take's, not the monitor's
        sr = self.settings.samplerate
        start = self._start_frame
        end = self._stop_frame
        out = []
        for ev in capture.events():
            if ev.frame < start or (end is not None and ev.frame > end):
                continue
            frame = ev.frame - start
            out.append(OverflowEvent(ev.kind, frame, frame / sr, int(ev.frames)))
        if capture.device_lost and not any(e.kind == "device_lost" for e in out):
            frame = capture.ring.write_count - start
            out.append(OverflowEvent("device_lost", frame, frame / sr, 0))
        return tuple(out)

    def _request_stop(self, reason: str, detail: str | None) -> None:
        capture = self._capture
        assert capture is not None
        end = capture.ring.write_count
        if self._stop_frame is None or end < self._stop_frame:
            self._stop_frame = end
        with self._meter_lock:
            self._meter_limit = self._stop_frame
        self._stop_reason = reason
        self._stop_detail = detail

    def _new_sidecar(self, now: datetime) -> dict[str, Any]:
        s = self.settings
        assert self._take is not None and self._device is not None and self._capture is not None
        return new_sidecar(
            file_name=self._take.audio.name, samplerate=s.samplerate, channels=s.channels,
            container=s.container, subtype=s.subtype, start=now, metadata=self._metadata,
            device_name=self._device.name, hostapi=self._device.hostapi,
            blocksize=self._capture.blocksize, latency_s=self._capture.latency_seconds,
        ).model_dump(mode="json")

    def _save_sidecar(self) -> None:
        """Rewrite the sidecar atomically. A failure here never touches the audio; it becomes a warning."""
        if self._take is None:
            return
        try:
            write_sidecar(self._take.sidecar, self._sidecar)
        except OSError as err:
            self._warning = f"could not update the sidecar: {err}"
            log.error("sidecar write failed: %s", err)

    def _writer_loop(self) -> None:
        capture = self._capture
        writer = self._writer
        assert capture is not None and writer is not None
        ring = capture.ring
        sr = self.settings.samplerate
        chunk = max(1024, int(_WRITE_CHUNK_S * sr))
        cursor = self._start_frame
        bps = diskspace.bytes_per_second(sr, self.settings.channels, self.settings.subtype)
        next_check = time.monotonic() + _CHECK_S
        reason, detail = None, None
        try:
            while True:
                now = time.monotonic()
                if now >= next_check:  # once a second: on the medium (a power cut loses at most ~1 s),
                    next_check = now + _CHECK_S  # disk time left, overflows into the sidecar
                    writer.sync()
                    self._file_bytes = writer.bytes_on_disk()
                    self._disk_left = diskspace.seconds_left(self.settings.out_dir, bps)
                    self._sync_overflows()
                limit = self._stop_frame
                available = ring.write_count - cursor
                if limit is not None:
                    available = min(available, limit - cursor)
                if available > 0:
                    data, cursor_after, lost = ring.read(cursor, min(available, chunk))
                    if lost:  # cannot happen while the guard holds; never silent if it does
                        log.error("writer lost %d frames at %d", lost, cursor - self._start_frame)
                    writer.write(data)
                    cursor = cursor_after
                    ring.guard = cursor
                    self._written = cursor - self._start_frame
                    continue
                if limit is not None and cursor >= limit:
                    if self._stop_reason is None:  # the only limit set without a request: the duration
                        self._stop_reason = "duration"
                    break
                if capture.device_lost and self._stop_reason is None:
                    with self._control:
                        self._request_stop("device_lost", capture.error or "the input stopped delivering audio")
                    continue
                time.sleep(_POLL_S)
        except DiskFullError as err:
            reason, detail = "disk_full", str(err)
        except Exception as err:  # a write error must end the take with a valid file, not kill the app
            log.exception("writer failed")
            reason, detail = "error", f"{type(err).__name__}: {err}"
        if reason is not None:
            with self._control:
                self._request_stop(reason, detail)
                self._stop_frame = cursor
                with self._meter_lock:
                    self._meter_limit = cursor
        ring.guard = None
        self._finish_take(cursor)

    def _sync_overflows(self) -> None:
        capture = self._capture
        if capture is None:
            return
        events = self._overflows()
        if len(events) != self._last_event_count:
            self._last_event_count = len(events)
            with self._control:
                self._sidecar["recording"]["overflows"] = [e.__dict__ for e in events]
                self._save_sidecar()

    def _finish_take(self, end_cursor: int) -> None:
        writer = self._writer
        assert writer is not None and self._take is not None
        try:
            writer.close()
        except Exception as err:  # closing on a full disk may fail; the header is already current
            log.error("closing %s: %s", self._take.audio, err)
        frames = end_cursor - self._start_frame
        self._written = frames
        # The meter thread analyses up to the same frame; it is usually milliseconds behind.
        analysis = self._take_analysis if self._meter_done.wait(timeout=10) else None
        now = datetime.now(UTC)
        with self._control:
            reason = self._stop_reason or "user"
            overflows = self._overflows()
            if analysis is not None and self._analysis_partial:
                analysis = dict(analysis, partial=True)
            final = finish_sidecar(
                Sidecar.model_validate(self._sidecar), frames=frames, stop_reason=reason, end=now,
                stop_detail=self._stop_detail, overflows=[e.__dict__ for e in overflows], analysis=analysis,
            )
        final, warning = finalise_file(self._take.audio, final)  # chunks after the audio, then both hashes
        size = final.file.bytes
        with self._control:
            if warning:
                self._warning = warning
            self._sidecar = final.model_dump(mode="json")
            self._save_sidecar()
            self._file_bytes = size
            result = TakeResult(self._take, frames, reason, self._stop_detail, overflows, analysis)
            self._last_result = result
            self._writer = None
            self._writer_thread = None
            self._state = TakeState.ARMED
            self._stop_frame = None
        log.info("take %s ended (%s): %d frames", self._take.audio, reason, frames)
        if self._on_take_end is not None:
            try:
                self._on_take_end(result)
            except Exception:
                log.exception("on_take_end callback failed")

    def _meter_loop(self) -> None:
        """Feed the meters from the ring. At a take's first frame (the mark) the meters reset; at its last
        frame (the limit) the take's analysis is taken; monitoring goes on in between and after."""
        capture = self._capture
        meters = self._meters
        assert capture is not None and meters is not None
        ring = capture.ring
        cursor = ring.write_count
        block = max(256, self.settings.samplerate // 50)  # 20 ms: the momentary loudness hop
        while not self._meter_quit.is_set():
            with self._meter_lock:
                mark, limit = self._meter_mark, self._meter_limit
                if mark is not None and cursor >= mark:
                    meters.reset()
                    self._analysis_partial = cursor > mark  # only if this thread was lapped before the take
                    self._meter_mark = mark = None
            end = ring.write_count
            if mark is not None:
                end = min(end, mark)
            elif limit is not None:
                end = min(end, limit)
            if end > cursor:
                data, cursor_after, lost = ring.read(cursor, min(4 * block, end - cursor))
                if lost:
                    self._analysis_partial = True
                if len(data):
                    meters.process(to_float(data, self._dtype))
                cursor = max(cursor_after, cursor)
                continue
            if mark is None and limit is not None and cursor >= limit:
                try:
                    self._take_analysis = meters.result()
                except Exception:
                    log.exception("take analysis failed")
                    self._take_analysis = None
                with self._meter_lock:
                    if self._meter_limit == limit:
                        self._meter_limit = None
                self._meter_done.set()
                continue
            time.sleep(_POLL_S)


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
