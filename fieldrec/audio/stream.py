"""Capture: an input stream whose callback only copies blocks into a ring and counts what went wrong.

The callback (PortAudio's thread, or the simulated stream's thread) does four things: ``ring.push(indata)``,
records an ``input_overflow`` event when PortAudio flags one, counts the callback and stores the time.
Everything else (files, meters, screens) reads the ring from other threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from fieldrec.audio.devices import DeviceError, DeviceInfo, check_input_settings, portaudio
from fieldrec.audio.ring import INPUT_OVERFLOW, FrameRing
from fieldrec.audio.simulated import SimulatedStream

DEFAULT_RING_SECONDS = 10.0
MIN_RING_BYTES = 2 * 1024 * 1024
MAX_RING_BYTES = 64 * 1024 * 1024

EventKind = Literal["input_overflow", "ring_overrun", "device_lost"]


@dataclass(frozen=True)
class CaptureEvent:
    """Something lost or gone: ``frame`` is the ring (file) frame position, ``frames`` the lost count (0 = unknown)."""

    kind: EventKind
    frame: int
    frames: int


def ring_frames_for(samplerate: float, channels: int, dtype: str, seconds: float) -> int:
    """Ring capacity in frames: ``seconds`` of audio, at least 2 MiB, at most 64 MiB."""
    frame_bytes = channels * np.dtype(dtype).itemsize
    want = int(seconds * samplerate)
    return max(1, min(max(want, MIN_RING_BYTES // frame_bytes), MAX_RING_BYTES // frame_bytes))


#: Seconds without a callback after which a running stream's device counts as lost.
LOST_AFTER_STALL_S = 5.0


class Capture:
    """One open input stream feeding a :class:`FrameRing`.

    ``samplerate`` in Hz; ``blocksize`` in frames (0 = let the backend choose); ``latency`` as in
    sounddevice ("high", "low" or seconds); ``ring_seconds`` of audio the ring holds (see
    :func:`ring_frames_for`). The stream is opened here (bad settings raise :class:`DeviceError`) and
    started by :meth:`start`.
    """

    def __init__(self, device: DeviceInfo, samplerate: int, channels: int, dtype: str = "float32",
                 blocksize: int = 0, latency: str | float = "high",
                 ring_seconds: float = DEFAULT_RING_SECONDS, seed: int = 0,
                 keep: tuple[int, ...] | None = None) -> None:
        # ``keep``: 0-based device columns to keep (a channel subset, see fieldrec.audio.channels); the stream
        # then opens max(keep)+1 channels and the ring holds len(keep). ``channels`` is the ring's count.
        if keep is not None and len(keep) != channels:
            raise DeviceError(f"{len(keep)} kept channels for a {channels}-channel capture")
        open_channels = channels if keep is None else max(keep) + 1
        check_input_settings(device, samplerate, open_channels, dtype)
        self.device = device
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        self.open_channels = int(open_channels)
        self.keep = None if keep is None or tuple(keep) == tuple(range(channels)) else tuple(int(k) for k in keep)
        self.dtype = dtype
        self.ring = FrameRing(ring_frames_for(samplerate, channels, dtype, ring_seconds), channels, dtype)
        self.callback_count = 0
        self.last_callback_time = time.monotonic()
        self.error: str | None = None
        self._stop_requested = True
        self._finished_unexpectedly = False
        self._lost_frame: int | None = None
        self._callback = self._make_callback()
        if device.is_simulated:
            self._stream: Any = SimulatedStream(self.samplerate, self.open_channels, dtype, blocksize,
                                                self._callback, self._on_finished, seed=seed)
        else:
            sd = portaudio()
            try:
                self._stream = sd.InputStream(device=device.index, samplerate=self.samplerate,
                                              channels=self.open_channels, dtype=dtype, blocksize=blocksize,
                                              latency=latency, callback=self._callback,
                                              finished_callback=self._on_finished)
            except (sd.PortAudioError, ValueError) as exc:
                raise DeviceError(f"cannot open '{device.name}' at {samplerate} Hz, {open_channels} ch, {dtype}: "
                                  f"{str(exc).splitlines()[0]}") from None
        self.latency_seconds = float(self._stream.latency)
        self.blocksize = int(self._stream.blocksize)

    def _make_callback(self) -> Any:
        ring = self.ring
        record = ring.record_event
        monotonic = time.monotonic
        if self.keep is None:
            push = ring.push
        else:
            columns = np.asarray(self.keep, dtype=np.intp)
            push_columns = ring.push_columns

            def push(indata: np.ndarray) -> bool:
                return push_columns(indata, columns)

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            push(indata)
            if status.input_overflow:
                record(INPUT_OVERFLOW, ring.write_count, 0)
            self.callback_count += 1
            self.last_callback_time = monotonic()

        return callback

    @property
    def callback(self) -> Any:
        """The function installed as the stream callback (exposed for benchmarks)."""
        return self._callback

    def _on_finished(self) -> None:
        if not self._stop_requested:
            self._finished_unexpectedly = True
            stream_error = getattr(getattr(self, "_stream", None), "error", None)
            if isinstance(stream_error, str):
                self.error = stream_error

    # ---- control ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start capturing into the ring."""
        self._stop_requested = False
        self._finished_unexpectedly = False
        self._lost_frame = None
        self.last_callback_time = time.monotonic()
        try:
            self._stream.start()
        except Exception as exc:  # PortAudioError from a real device that vanished since opening
            self._stop_requested = True
            self.error = str(exc).splitlines()[0]
            self.close()
            raise DeviceError(f"cannot start '{self.device.name}': {self.error}; check that it is "
                              "plugged in and not used by another program") from None

    def stop(self) -> None:
        """Stop the stream (the ring keeps its data). Never raises for a device that is already gone."""
        self._stop_requested = True
        try:
            self._stream.stop()
        except Exception as exc:
            self.error = self.error or str(exc).splitlines()[0]

    def close(self) -> None:
        """Stop and release the device."""
        self.stop()
        try:
            self._stream.close()
        except Exception as exc:
            self.error = self.error or str(exc).splitlines()[0]

    # ---- state --------------------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the stream runs."""
        try:
            return bool(self._stream.active)
        except Exception:
            return False

    @property
    def stall_limit_seconds(self) -> float:
        """No callback for longer than this (seconds) while running counts as a lost device.

        Before the first callback the limit is longer (``max(3 s, 8 x latency)``): some backends, such as
        PulseAudio's monitor of an idle sink, deliver the first block about a second after start.
        """
        if self.callback_count == 0:
            return max(3.0, 8.0 * self.latency_seconds)
        return max(1.0, 4.0 * self.latency_seconds)

    @property
    def stalled(self) -> bool:
        """True while running and no callback has come for longer than :attr:`stall_limit_seconds`."""
        return (not self._stop_requested
                and time.monotonic() - self.last_callback_time > self.stall_limit_seconds)

    @property
    def device_lost(self) -> bool:
        """True if the stream ended without ``stop()`` (latched), or no callback has come for longer than
        :data:`LOST_AFTER_STALL_S` (a device that hangs without ending its stream).

        A shorter stall (:attr:`stalled`, e.g. a machine busy for a second) is shown but is not a loss: the
        stream's buffer overflows (``input_overflow`` events) and the take goes on. The first time a loss is
        seen a ``device_lost`` event is recorded at the current ring position.
        """
        stalled_for = time.monotonic() - self.last_callback_time
        lost = self._finished_unexpectedly or (
            not self._stop_requested and stalled_for > max(LOST_AFTER_STALL_S, self.stall_limit_seconds))
        if lost and self._lost_frame is None:
            self._lost_frame = self.ring.write_count
        return lost

    def events(self) -> list[CaptureEvent]:
        """Overflows, ring overruns and a lost device, in the order they happened."""
        out = [CaptureEvent(kind, frame, frames) for kind, frame, frames in self.ring.events()]  # type: ignore[arg-type]
        self.device_lost  # noqa: B018 - records the event if the device has just gone
        if self._lost_frame is not None:
            out.append(CaptureEvent("device_lost", self._lost_frame, 0))
            out.sort(key=lambda e: e.frame)
        return out

    @property
    def events_missed(self) -> int:
        """Events counted but not kept because the event table was full."""
        return max(0, self.ring.event_count - self.ring.event_table.shape[0])

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
