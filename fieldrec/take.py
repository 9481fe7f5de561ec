"""One take: its file writer, its share of the ring, its events, markers, sidecar document and result.

A :class:`Take` is made by :meth:`fieldrec.recorder.Recorder.record` and lives on its own thread, which
does everything the take needs after the callback has copied the audio into the ring:

1. **write**: move frames from the ring to the file (``storage.TakeWriter``). The take's cursor is part of
   the ring's guard: the callback drops (and records) a block rather than overwrite frames not yet saved.
   Once a second: fsync, free space, the take's events drained from the ring; every
   :data:`SIDECAR_REFRESH_S` the sidecar is refreshed with the frames so far, so a crash leaves a sidecar
   that tells the truth to within that time. A marker or metadata edit is saved at the next tick.
2. **end**: at the stop frame (set by ``stop()``, the duration, a lost device, a full disk or a write error)
   the guard is released and the recorder is told; it is armed again at once and may start the next take.
3. **finalise**: close the file, wait (bounded) for the take's analysis from the meter thread, hash the file
   (``progress`` follows it), write the final sidecar, and hand the :class:`TakeResult` to the recorder.

The audio always wins: a sidecar that cannot be written is a warning during the take; at the end its
content goes to a fallback file next to it, or in the user data folder, and the result says where.
Frame positions in the sidecar (markers, events) count from the first frame of the file.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import ValidationError

from fieldrec.analysis.meters import MeterBank
from fieldrec.audio.events import AudioEvent, EventTally, EventTotals
from fieldrec.audio.stream import INPUT_BLOCK_S, Capture
from fieldrec.defaults import DEFAULT_TEMPLATE, default_out_dir
from fieldrec.metadata import MetadataError, validate_metadata
from fieldrec.metadata.presets import merge
from fieldrec.metadata.sidecar import Sidecar, finish_sidecar, new_sidecar
from fieldrec.storage import diskspace
from fieldrec.storage.errors import DiskFullError, SidecarError, StorageError
from fieldrec.storage.hashing import sha256_file
from fieldrec.storage.sidecar import sidecar_path, write_sidecar
from fieldrec.storage.take_file import finalise_file, rewrite_take
from fieldrec.storage.wav_writer import TakeWriter
from fieldrec.threads import name_this_thread

log = logging.getLogger(__name__)

#: How often (seconds) a take syncs the file, checks free space and drains its events.
CHECK_S = 1.0
#: How often (seconds) the sidecar is refreshed with the frames so far while recording.
SIDECAR_REFRESH_S = 5.0
#: The writer sleeps :data:`WRITE_SLEEP_S`, or the input's latency when that is longer (its buffer: PulseAudio
#: hands a client its blocks in bursts of about that length), then writes everything that has arrived, at
#: most :data:`WRITE_CHUNK_S` per write, and sleeps again once nothing is left; a stop request wakes it. So it
#: wakes about 3-4 times a second, each time to write. Quarter-second writes cost the writer thread less than
#: half of what tenth-second writes did (docs/benchmarks.md, "What a take costs"); a sleep planned from the
#: audio clock or the last block's arrival woke it between bursts to find nothing (9-12 wake-ups a second
#: where 3 wrote). What a power cut can lose is set by :data:`CHECK_S` (the sync), not by this.
WRITE_SLEEP_S = 0.25
WRITE_CHUNK_S = 0.5
#: How long the finaliser waits for the meter thread's analysis of the take's last frames.
ANALYSIS_WAIT_S = 10.0
#: Events kept per take in the sidecar's list (the totals are always exact).
MAX_EVENTS = 1000


class RecorderError(RuntimeError):
    """A take could not start or go on; ``str(err)`` is one line a person can act on."""


@dataclass
class TakeSettings:
    """What to record and where. ``device`` None = the system's default input (or the simulated source).

    Stream settings (device, samplerate, channels, subtype's sample type, blocksize, block_s, latency) are fixed
    while the input is open; take settings (container, out_dir, name_template, duration_s) are read when
    a take starts and may change between takes without reopening the input.
    """

    device: str | int | None = None
    samplerate: int = 48000
    channels: int = 2
    container: str = "wav"
    subtype: str = "PCM_24"
    out_dir: Path = field(default_factory=default_out_dir)
    name_template: str = DEFAULT_TEMPLATE
    duration_s: float | None = None  #: stop by itself after this many seconds (sample-exact)
    #: frames per callback; None = fieldrec's choice (``fieldrec.audio.stream.default_blocksize``), 0 = PortAudio's
    blocksize: int | None = None
    #: with ``blocksize`` None: about this much audio per callback of a PortAudio input (seconds; 40 ms for a
    #: live view; ``fieldrec record`` asks for ``UNATTENDED_BLOCK_S``). The simulated source keeps its 10 ms.
    block_s: float = INPUT_BLOCK_S
    latency: str | float = "high"
    # issue 15 (fieldrec.session): stream settings for the field controllers, fixed while the input is open
    ring_seconds: float = 10.0  #: audio the capture ring holds; pre-roll needs more than its own length
    keep_channels: tuple[int, ...] | None = None  #: 0-based device columns kept (``--channels 1,2,5``)


@dataclass(frozen=True)
class TakePaths:
    audio: Path
    sidecar: Path


@dataclass(frozen=True)
class Marker:
    frame: int
    time_s: float
    label: str = ""


#: Kept for callers of the previous API: an overflow is an :class:`AudioEvent`.
OverflowEvent = AudioEvent


@dataclass(frozen=True)
class TakeResult:
    """A finished take: where it is, how long, why it stopped, what was lost, its analysis and format."""

    paths: TakePaths
    frames: int
    stop_reason: str
    stop_detail: str | None
    overflows: tuple[AudioEvent, ...]
    analysis: dict[str, Any] | None
    samplerate: int = 0
    channels: int = 0
    container: str = ""
    subtype: str = ""
    sha256: str | None = None
    totals: EventTotals | None = None
    warnings: tuple[str, ...] = ()
    sidecar_fallback: Path | None = None  #: where the sidecar went when its own path was unwritable
    sidecar_error: str | None = None  #: why the sidecar could not be written at its own path

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


class Take:
    """One take from its first frame (``start_frame``, a stream frame) to its stop frame.

    Made by the recorder; the public methods (``add_marker``, ``update_metadata``, ``wait``) are safe from
    any thread and never block on file I/O while the take records (edits are saved at the next tick).
    """

    def __init__(self, *, capture: Capture, settings: TakeSettings, paths: TakePaths, writer: TakeWriter,
                 start_frame: int, metadata: dict[str, Any], bank: MeterBank, started: datetime,
                 stream_settled: bool, release_guard: Callable[[Take], None],
                 on_end: Callable[[Take], None], on_final: Callable[[Take], None]) -> None:
        self.capture = capture
        self.settings = replace(settings)
        self.paths = paths
        self.samplerate = settings.samplerate
        self.start_frame = start_frame
        self.stop_frame: int | None = (
            start_frame + round(settings.duration_s * settings.samplerate) if settings.duration_s else None)
        self.stop_reason: str | None = None
        self.stop_detail: str | None = None
        self.cursor = start_frame  #: stream frame up to which the file holds the audio
        #: issue 15 (fieldrec.session): frames at or after ``hold`` are not written yet, so a controller that
        #: looks at the audio first (trigger, split) can still end the file exactly before them; None = no hold
        self.hold: int | None = None
        #: what is known only when the take stops (the battery, say): called once by the finaliser, its dict
        #: laid over the take's metadata before the final sidecar and chunks are written (no rewrite after)
        self.stop_metadata: Callable[[], dict[str, Any]] | None = None
        #: set by the meter thread at the take's first batch (it then starts from start_frame, not where it was)
        self.meter_started = False
        self.bank = bank
        self.meter_stop: int | None = self.stop_frame  #: where the meter thread takes the analysis
        self.analysis: dict[str, Any] | None = None
        self.partial_reason: str | None = None
        self.meter_done = threading.Event()
        self.file_bytes = 0
        self.disk_left: float | None = None
        self.progress = 0.0  #: share of the finalisation done (0..1), for "finalising… 40 %"
        self.result: TakeResult | None = None
        self.events = EventTally(capture.ring, start_frame, settings.samplerate, keep=MAX_EVENTS)
        self._writer = writer
        self._lock = threading.Lock()  # the sidecar document and the warnings; never held during I/O
        self._save_lock = threading.Lock()  # one sidecar write at a time
        self._markers: list[Marker] = []
        self._warnings: list[str] = []
        self._dirty = False
        self._stream_settled = stream_settled
        self._release_guard = release_guard
        self._on_end = on_end
        self._on_final = on_final
        self._wake = threading.Event()  # set by a stop request: the writer goes on at once
        self.ended = threading.Event()  #: the stop frame is fixed and every frame up to it is in the file
        self.finalised = threading.Event()
        self.doc = self._new_sidecar(metadata, started)
        self._thread = threading.Thread(target=self._run, name=f"fieldrec-take-{paths.audio.stem}")

    # ------------------------------------------------------------------------------------------ public
    @property
    def frames(self) -> int:
        """Frames of the take: so far while recording, the final count once ended."""
        if self.ended.is_set():
            return self.cursor - self.start_frame
        end = self.capture.ring.write_count
        if self.stop_frame is not None:
            end = min(end, self.stop_frame)
        return max(0, end - self.start_frame)

    @property
    def finalising(self) -> bool:
        return self.ended.is_set() and not self.finalised.is_set()

    @property
    def warnings(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._warnings)

    @property
    def markers(self) -> tuple[Marker, ...]:
        with self._lock:
            return tuple(self._markers)

    def wait(self, timeout: float | None = None) -> TakeResult | None:
        """Wait until the take is finalised; its result, or None on timeout."""
        self.finalised.wait(timeout)
        return self.result

    def add_marker(self, label: str = "", frame: int | None = None) -> Marker:
        """A marker at ``frame`` of the take (default: the newest captured frame, what the user hears now)."""
        if self.ended.is_set():
            raise RecorderError("markers can be added while recording")
        if frame is None:
            frame = self.frames
        marker = Marker(frame, frame / self.samplerate, str(label)[:200])
        with self._lock:
            self._markers.append(marker)
            self.doc["markers"] = [m.__dict__ for m in self._markers]
            self._dirty = True
        return marker

    def update_metadata(self, clean: dict[str, Any]) -> None:
        """Replace the take's (validated) metadata; saved at the next tick, or now once the take is final."""
        with self._lock:
            self.doc["metadata"] = clean
            self._dirty = True
        if self.finalised.is_set():
            with self._lock:
                doc = Sidecar.model_validate(self.doc)
            try:  # a finished take: its chunks follow the sidecar (new file, fsync, rename, audio hash checked)
                doc = rewrite_take(self.paths.audio, doc)
            except StorageError as err:
                self.warn(str(err))
                log.error("rewriting the chunks of %s: %s", self.paths.audio, err)
            with self._lock:
                self.doc = doc.to_json()
            self._save(final=True)

    # ------------------------------------------------------------------------------------------ control
    def start(self) -> None:
        self._thread.start()

    def request_stop(self, reason: str, detail: str | None = None, at: int | None = None) -> None:
        """Fix the stop frame (the newest captured frame, or ``at``); the first request wins."""
        if self.stop_reason is not None:
            return
        end = self.capture.ring.write_count if at is None else at
        if self.stop_frame is None or end < self.stop_frame:
            self.stop_frame = max(end, self.start_frame)
        self.meter_stop = self.stop_frame
        self.stop_reason = reason
        self.stop_detail = detail
        self._wake.set()

    def warn(self, message: str) -> None:
        with self._lock:
            if message not in self._warnings:
                self._warnings.append(message)
                self.doc["recording"]["warnings"] = list(self._warnings)
                log.warning("%s: %s", self.paths.audio.name, message)

    def analysis_failed(self, reason: str) -> None:
        """The meter thread cannot finish this take's analysis: mark it partial, never wait for it."""
        self.partial_reason = self.partial_reason or reason
        self.warn(f"analysis incomplete: {reason}")
        self.meter_done.set()

    # ------------------------------------------------------------------------------------------ the thread
    def _run(self) -> None:
        name_this_thread("fieldrec-take")
        ring = self.capture.ring
        writer = self._writer
        sr = self.samplerate
        chunk = max(1024, int(WRITE_CHUNK_S * sr))
        period = min(CHECK_S, max(WRITE_SLEEP_S, self.capture.latency_seconds))
        bps = diskspace.bytes_per_second(sr, self.settings.channels, self.settings.subtype)
        next_check = time.monotonic() + CHECK_S
        next_refresh = time.monotonic() + SIDECAR_REFRESH_S
        reason, detail = None, None
        try:
            while True:
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + CHECK_S
                    writer.sync()  # on the medium: a power cut loses at most about CHECK_S
                    self.file_bytes = writer.bytes_on_disk()
                    self.disk_left = writer.free_bytes() / bps  # through the open file: right if the folder moves
                    self._drain_events()
                    if now >= next_refresh:
                        next_refresh = now + SIDECAR_REFRESH_S
                        self._dirty = True
                    if self._dirty:
                        self._save(final=False)
                limit = self.stop_frame
                hold = self.hold
                top = ring.write_count if hold is None else min(ring.write_count, hold)
                available = top - self.cursor
                if limit is not None:
                    available = min(available, limit - self.cursor)
                if available > 0:
                    data, after, lost = ring.read(self.cursor, min(available, chunk))
                    if lost:  # cannot happen while the guard holds; never silent if it does
                        log.error("writer lost %d frames at %d", lost, self.cursor - self.start_frame)
                        self.warn(f"{lost} frames lost by the writer at frame {self.cursor - self.start_frame}")
                    writer.write(data)
                    self.cursor = after
                    self._release_guard(self)
                    continue
                if limit is not None and self.cursor >= limit:
                    if self.stop_reason is None:  # the only limit set without a request: the duration
                        self.stop_reason = "duration"
                    break
                if self.capture.device_lost and self.stop_reason is None:
                    lost_at = self.capture.lost_frame
                    self.events.add("device_lost", lost_at if lost_at is not None else ring.write_count)
                    self.request_stop("device_lost", self.capture.error or "the input stopped delivering audio")
                    continue
                self._wake.wait(period)
                self._wake.clear()
        except DiskFullError as err:
            reason, detail = "disk_full", str(err)
        except Exception as err:  # a write error must end the take with a valid file, not kill the app
            log.exception("writer failed")
            reason, detail = "error", f"{type(err).__name__}: {err}"
        if reason is not None:  # a fault overrides a pending request: the file ends where it is
            self.stop_reason, self.stop_detail = reason, detail
            self.stop_frame = self.meter_stop = self.cursor
        self.ended.set()
        self._release_guard(self)
        self._on_end(self)
        try:
            self._finalise()
        finally:
            self.finalised.set()
            self._on_final(self)

    def _drain_events(self) -> None:
        self.events.stop = self.stop_frame
        self.events.drain()
        with self._lock:
            self.doc["recording"]["overflows"] = [e.as_dict() for e in self.events.events]
            summary = self.events.totals.as_dict()
            if summary != self.doc["recording"]["overflow_summary"]:
                self.doc["recording"]["overflow_summary"] = summary
                self._dirty = True

    def _apply_stop_metadata(self) -> None:
        """Lay :attr:`stop_metadata`'s fields over the metadata; a hook that fails or gives fields the model
        refuses costs a warning, never the take."""
        if self.stop_metadata is None:
            return
        try:
            patch = self.stop_metadata()
            with self._lock:
                merged = merge(self.doc["metadata"], patch)
            clean, errors = validate_metadata(merged)
            if errors:
                raise ValueError(str(MetadataError(errors)))
        except Exception as err:  # noqa: BLE001 (a caller's hook: whatever it raises, the take is finalised)
            log.exception("the stop metadata of %s", self.paths.audio)
            self.warn(f"the fields known at the stop were not added: {err}")
            return
        with self._lock:
            self.doc["metadata"] = clean

    def _finalise(self) -> None:
        try:
            self._writer.close()
        except Exception as err:  # closing on a full disk may fail; the header is already current
            log.error("closing %s: %s", self.paths.audio, err)
            self.warn(f"closing the file: {err}")
        self._drain_events()
        if not self.meter_done.wait(ANALYSIS_WAIT_S):
            self.partial_reason = self.partial_reason or "the meter thread did not finish in time"
        analysis = self.analysis
        if self.partial_reason:  # what the meters measured before they fell behind or failed, if anything
            analysis = dict(analysis or {}, partial=True, partial_reason=self.partial_reason)
        frames = self.cursor - self.start_frame
        now = datetime.now(UTC)
        where = self._writer.current_path()  # the file may have moved with its folder while recording
        self._writer.release()
        if where != self.paths.audio:
            self.warn(f"the take's folder was moved or replaced while recording; its audio is at {where}")
            self.paths = TakePaths(where, sidecar_path(where))
        reason = self.stop_reason or "user"
        self._apply_stop_metadata()
        try:
            with self._lock:
                final = finish_sidecar(Sidecar.model_validate(self.doc), frames=frames, stop_reason=reason,
                                       end=now, stop_detail=self.stop_detail, analysis=analysis)
        except ValidationError as err:  # a bug must never cost the take its sidecar: complete it as it is
            digest, size = self._finish_unvalidated(frames, reason, now, analysis, err)
        else:
            # after the file is closed: the metadata chunks (WAV), then both hashes of the final bytes
            final, problem = finalise_file(self.paths.audio, final, progress=self._hash_progress)
            if problem:
                self.warn(problem)
            digest, size = final.file.sha256, final.file.bytes
            with self._lock:
                self.doc = final.to_json()
        self.file_bytes = size
        fallback, error = self._save(final=True)
        self.progress = 1.0
        self.result = TakeResult(
            paths=self.paths, frames=frames, stop_reason=reason, stop_detail=self.stop_detail,
            overflows=self.events.events, analysis=analysis, samplerate=self.samplerate,
            channels=self.settings.channels, container=self.settings.container, subtype=self.settings.subtype,
            sha256=digest, totals=self.events.totals, warnings=self.warnings, sidecar_fallback=fallback,
            sidecar_error=error)
        log.info("take %s ended (%s): %d frames", self.paths.audio, reason, frames)

    def _finish_unvalidated(self, frames: int, reason: str, now: datetime, analysis: dict[str, Any] | None,
                            err: ValidationError) -> tuple[str | None, int]:
        """The model refused the final document (a fieldrec bug): complete the plain document, write no
        chunks, hash the file, and say so. Returns (sha256, bytes)."""
        log.error("final sidecar refused by the model: %s", err)
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        self.warn(f"the final sidecar does not pass its own schema ({where}: {first['msg']}); "
                  "it is written as is, without chunks in the audio file")
        digest: str | None = None
        size = 0
        try:
            digest = sha256_file(self.paths.audio, progress=self._hash_progress)
            size = self.paths.audio.stat().st_size
        except OSError as exc:
            self.warn(f"could not hash {self.paths.audio.name}: {exc}")
        with self._lock:
            doc = self.doc
            doc["file"].update(bytes=size, sha256=digest)
            doc["audio"].update(frames=frames, duration_s=frames / self.samplerate)
            doc["recording"].update(state="complete", end_utc=_iso_utc(now),
                                    end_local=now.astimezone().isoformat(), stop_reason=reason,
                                    stop_detail=self.stop_detail)
            doc["analysis"] = analysis
        return digest, size

    def _hash_progress(self, done: int, total: int) -> None:
        self.progress = 0.05 + 0.9 * (done / total if total else 1.0)

    # ------------------------------------------------------------------------------------------ sidecar
    def _save(self, final: bool) -> tuple[Path | None, str | None]:
        """Write the sidecar atomically. During the take a failure is a warning and the take goes on; the
        final write falls back to another file so the content is never lost. Returns (fallback, error)."""
        with self._save_lock:
            with self._lock:
                self._dirty = False
                if not final:
                    frames = self.frames
                    self.doc["audio"].update(frames=frames, duration_s=frames / self.samplerate)
                    self.doc["file"]["bytes"] = self.file_bytes
                text_doc = copy.deepcopy(self.doc)
            try:
                write_sidecar(self.paths.sidecar, text_doc)
                return None, None
            except SidecarError as err:
                error = str(err)
            if not final:
                self.warn(f"could not update the sidecar: {error}")
                return None, error
            log.error("final sidecar write failed: %s", error)
            for target in _fallback_paths(self.paths.sidecar):
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    write_sidecar(target, text_doc)
                except (SidecarError, OSError) as err:
                    log.error("fallback sidecar %s failed: %s", target, err)
                    continue
                self.warn(f"sidecar written to {target} instead ({error})")
                return target, error
            # Nowhere to write: the content goes to the log file, so it is still not lost.
            log.error("sidecar content of %s follows:\n%s", self.paths.audio,
                      json.dumps(text_doc, indent=2, ensure_ascii=False, default=str))
            self.warn(f"sidecar could not be written anywhere ({error}); its content is in the log file")
            return None, error

    def _new_sidecar(self, metadata: dict[str, Any], now: datetime) -> dict[str, Any]:
        s = self.settings
        device = self.capture.device
        return new_sidecar(
            file_name=self.paths.audio.name, samplerate=s.samplerate, channels=s.channels,
            container=s.container, subtype=s.subtype, start=now, metadata=metadata,
            device_name=device.name, hostapi=device.hostapi, blocksize=self.capture.blocksize,
            latency_s=self.capture.latency_seconds, stream_settled=self._stream_settled,
        ).to_json()


def _fallback_paths(sidecar: Path) -> list[Path]:
    """Where a sidecar goes when its own path cannot be written: beside it under another name, then in the
    user data folder (``fallback-sidecars/``)."""
    folder = Path(platformdirs.user_data_dir("fieldrec", appauthor=False)) / "fallback-sidecars"
    return [sidecar.with_name(f"{sidecar.stem}.fallback{sidecar.suffix}"),
            folder / f"{sidecar.stem}-{time.strftime('%Y%m%dT%H%M%S')}{sidecar.suffix}"]


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
