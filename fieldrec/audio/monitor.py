"""Headphone monitoring: the input played to an output device, on its own stream with its own buffer.

The capture never waits for the monitor. The take layer (or :meth:`Monitor.attach`, a feeder thread with
its own cursor on the capture ring) hands copies of captured blocks to :meth:`Monitor.feed`, which selects
the channels (all, one, or a pair), applies the gain and writes into the monitor's own preallocated buffer.
The output callback only copies from that buffer into PortAudio's output block; when the buffer runs dry
it plays silence and counts an underrun (then waits for ``prefill_s`` of audio again). If the output
device fails (an error, its stream ending, or no callback for :data:`STALL_S`), :attr:`MonitorStatus.failed`
says why and :meth:`feed` becomes a no-op: the capture and the file are untouched.

Latency (:attr:`MonitorStatus.latency_s`) is measured in the output callback as the audio queued in the
monitor buffer plus PortAudio's time to the DAC (``outputBufferDacTime - currentTime``, or the stream's
reported output latency where the backend gives no timestamps), averaged over the last 64 callbacks. The
capture side (the input stream's latency and the feeder's polling period, ``poll_s``) comes on top; the take
layer adds :attr:`fieldrec.audio.stream.Capture.latency_seconds` when it shows the total.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from fieldrec.audio.devices import DeviceError, portaudio, resolve_output_device
from fieldrec.audio.ring import FrameRing

#: No output callback for this long while running counts as a failed monitor device (seconds).
STALL_S = 2.0
_LAT_SLOTS = 64


class MonitorError(Exception):
    """The monitor output cannot be opened as asked (one-line message). Capture is never affected."""


def parse_gain_db(text: str | float) -> float:
    """``-6dB``, ``-6`` or ``+3 dB`` -> dB; raises :class:`MonitorError`."""
    if isinstance(text, int | float):
        value = float(text)
    else:
        m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d+)?)\s*(?:db)?\s*", text, re.IGNORECASE)
        if not m:
            raise MonitorError(f"'{text}' is not a gain; write it like -6dB")
        value = float(m.group(1))
    if not math.isfinite(value) or not -60.0 <= value <= 24.0:
        raise MonitorError(f"monitor gain {value} dB is outside -60..+24 dB")
    return value


class MonitorBuffer:
    """Single-producer (the feeder) single-consumer (the output callback) ring of float32 frames."""

    def __init__(self, capacity: int, channels: int) -> None:
        self.capacity = int(capacity)
        self._buf = np.zeros((self.capacity, channels), np.float32)
        self.written = 0  # frames ever written (producer)
        self.read = 0  # frames ever read (consumer)
        self.dropped = 0  # frames the producer could not fit (consumer too slow or stopped)

    @property
    def fill(self) -> int:
        return self.written - self.read

    def write(self, block: np.ndarray) -> None:
        n = block.shape[0]
        room = self.capacity - (self.written - self.read)
        if n > room:
            self.dropped += n - room
            block = block[:room]
            n = room
        if n <= 0:
            return
        start = self.written % self.capacity
        first = min(n, self.capacity - start)
        self._buf[start:start + first] = block[:first]
        if first < n:
            self._buf[:n - first] = block[first:]
        self.written += n

    def read_into(self, out: np.ndarray) -> int:
        """Copy up to ``len(out)`` frames into ``out`` (the rest zeros); returns frames supplied."""
        want = out.shape[0]
        n = min(want, self.written - self.read)
        start = self.read % self.capacity
        first = min(n, self.capacity - start)
        out[:first] = self._buf[start:start + first]
        if first < n:
            out[first:n] = self._buf[:n - first]
        if n < want:
            out[n:] = 0.0
        self.read += n
        return n

    def skip_to(self, keep: int) -> int:
        """Drop all but the newest ``keep`` queued frames (bounds the latency); returns frames dropped."""
        extra = self.fill - keep
        if extra > 0:
            self.read += extra
            return extra
        return 0


@dataclass(frozen=True)
class MonitorStatus:
    """Counts since start; ``latency_s`` measured (None before the first played block), seconds."""

    device: str
    running: bool
    failed: str | None
    underruns: int
    underrun_frames: int
    output_underflows: int
    dropped_frames: int
    latency_s: float | None
    stream_latency_s: float
    gain_db: float
    channels: tuple[int, ...] | None
    frames_played: int

    def summary(self) -> str:
        if self.failed:
            return f"monitor: FAILED ({self.failed}); recording goes on"
        lat = "" if self.latency_s is None else f", latency {self.latency_s * 1000:.0f} ms"
        under = f", {self.underruns} underruns" if self.underruns else ""
        return f"monitor -> {self.device} {self.gain_db:+.1f} dB{lat}{under}"


class Monitor:
    """Play a capture's audio to an output device. ``channels``: 0-based take columns (one or two) or None
    for all; ``gain_db`` applied in float; ``buffer_s`` the monitor buffer; ``prefill_s`` audio queued
    before playing (after start and after each underrun); ``max_queue_s`` the most audio kept queued."""

    def __init__(self, device: str | int | None, samplerate: int, in_channels: int, *,
                 channels: tuple[int, ...] | None = None, gain_db: float = 0.0, buffer_s: float = 1.0,
                 prefill_s: float = 0.08, max_queue_s: float = 0.3, latency: str | float = "low",
                 poll_s: float = 0.01) -> None:
        try:
            self.out = resolve_output_device(device)
        except DeviceError as err:  # one line, as the monitor's own faults
            raise MonitorError(str(err)) from None
        self.samplerate = int(samplerate)
        self.in_channels = int(in_channels)
        if channels is not None and (not 1 <= len(channels) <= 2 or any(not 0 <= c < in_channels for c in channels)):
            raise MonitorError(f"monitor channels {channels} must be one or two of 0..{in_channels - 1}")
        self.columns = None if channels is None else tuple(channels)
        out_ch = self.in_channels if channels is None else 2
        if out_ch > self.out.max_output_channels:
            if channels is None and self.out.max_output_channels >= 2:
                raise MonitorError(f"'{self.out.name}' has {self.out.max_output_channels} output channels, the take "
                                   f"{self.in_channels}; choose a pair with --monitor-channels 1,2")
            out_ch = self.out.max_output_channels
        self.out_channels = out_ch
        self.gain_db = float(gain_db)
        self._gain = np.float32(10.0 ** (self.gain_db / 20.0))
        self.buffer = MonitorBuffer(max(1, int(buffer_s * samplerate)), out_ch)
        self._prefill = int(prefill_s * samplerate)
        self._max_queue = max(self._prefill * 2, int(max_queue_s * samplerate))
        self._priming = True
        self.poll_s = poll_s
        self.underruns = 0
        self.underrun_frames = 0
        self.output_underflows = 0
        self.skipped_frames = 0
        self.frames_played = 0
        self.failed: str | None = None
        self._lat = np.zeros(_LAT_SLOTS)
        self._lat_n = 0
        self._stop_requested = True
        self._last_callback = time.monotonic()
        self._feeder: threading.Thread | None = None
        self._feeder_stop = threading.Event()
        sd = portaudio()
        try:
            self._stream = sd.OutputStream(device=self.out.index, samplerate=self.samplerate, channels=out_ch,
                                           dtype="float32", latency=latency, callback=self._callback,
                                           finished_callback=self._finished)
        except (sd.PortAudioError, ValueError) as exc:
            raise MonitorError(f"cannot open monitor output '{self.out.name}' at {samplerate} Hz, {out_ch} ch: "
                               f"{str(exc).splitlines()[0]}") from None
        self.stream_latency_s = float(self._stream.latency)

    # ---- audio thread -------------------------------------------------------------------------------------
    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._last_callback = time.monotonic()
        if status.output_underflow:
            self.output_underflows += 1
        buf = self.buffer
        if self._priming:
            if buf.fill < self._prefill:
                outdata.fill(0)
                return
            self._priming = False
        if buf.fill > self._max_queue:
            self.skipped_frames += buf.skip_to(self._prefill)
        queued = buf.fill
        n = buf.read_into(outdata)
        self.frames_played += n
        if n < frames:
            self.underruns += 1
            self.underrun_frames += frames - n
            self._priming = True
        dac = time_info.outputBufferDacTime - time_info.currentTime
        if not 0.0 < dac < 5.0:
            dac = self.stream_latency_s
        self._lat[self._lat_n % _LAT_SLOTS] = queued / self.samplerate + dac
        self._lat_n += 1

    def _finished(self) -> None:
        if not self._stop_requested and self.failed is None:
            self.failed = "the output stream ended (device gone?)"

    # ---- feeding ------------------------------------------------------------------------------------------
    def feed(self, block: np.ndarray) -> None:
        """Queue a captured block (frames, take channels), any of float32/int16/int32. Never raises for a
        failed or stopped monitor (the block is dropped)."""
        if self.failed is not None or self._stop_requested:
            return
        x = block
        if x.dtype == np.int16:
            x = x.astype(np.float32) / np.float32(32768.0)
        elif x.dtype == np.int32:
            x = x.astype(np.float32) / np.float32(2147483648.0)
        if self.columns is not None:
            x = x[:, list(self.columns) * (2 if len(self.columns) == 1 else 1)]
        x = np.asarray(x[:, :self.out_channels], dtype=np.float32)
        if self._gain != 1.0:
            x = x * self._gain
        self.buffer.write(x)

    def attach(self, ring: FrameRing) -> None:
        """Feed from ``ring`` (a capture ring, its newest frames on) in a thread of its own."""
        self._feeder_stop.clear()

        def run() -> None:
            cursor = ring.write_count
            while not self._feeder_stop.is_set():
                data, cursor, _lost = ring.read(cursor, 1 << 16)
                if data.shape[0]:
                    self.feed(data)
                self._feeder_stop.wait(self.poll_s)

        self._feeder = threading.Thread(target=run, name="fieldrec-monitor-feed", daemon=True)
        self._feeder.start()

    # ---- control ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the output. Raises :class:`MonitorError` (one line) if the device refuses."""
        sd = portaudio()
        self._stop_requested = False
        self._last_callback = time.monotonic()
        try:
            self._stream.start()
        except sd.PortAudioError as exc:
            self._stop_requested = True
            self.failed = str(exc).splitlines()[0]
            raise MonitorError(f"cannot start monitor output '{self.out.name}': {self.failed}") from None

    def stop(self) -> None:
        self._stop_requested = True
        self._feeder_stop.set()
        if self._feeder is not None:
            self._feeder.join(5)
            self._feeder = None
        self._quietly(self._stream.stop)

    def close(self) -> None:
        self.stop()
        self._quietly(self._stream.close)

    def _quietly(self, action: Any) -> None:
        """Run a stream action; a PortAudio error (a device already gone) is recorded in ``failed``."""
        sd = portaudio()
        try:
            action()
        except sd.PortAudioError as exc:
            self.failed = self.failed or str(exc).splitlines()[0]

    def status(self) -> MonitorStatus:
        if (self.failed is None and not self._stop_requested
                and time.monotonic() - self._last_callback > max(STALL_S, 4 * self.stream_latency_s)):
            self.failed = f"no output callback for {time.monotonic() - self._last_callback:.1f} s (device gone?)"
        n = min(self._lat_n, _LAT_SLOTS)
        lat = float(np.mean(self._lat[:n])) if n else None
        return MonitorStatus(self.out.name, not self._stop_requested and self.failed is None, self.failed,
                             self.underruns, self.underrun_frames, self.output_underflows,
                             self.buffer.dropped + self.skipped_frames, lat, self.stream_latency_s, self.gain_db,
                             self.columns, self.frames_played)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
