"""Capture: an input stream whose callback only copies blocks into a ring and counts what went wrong.

The callback (PortAudio's thread, or the simulated stream's thread) copies the block into the ring, and
when the backend flags an input overflow records an event at the frame where the gap is (before this
block) with its size from the ADC timestamps (the block's ``inputBufferAdcTime`` against where the previous
block ended); it counts the callback and stores the time. Everything else (files, meters, screens) reads
the ring from other threads.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from fieldrec.audio.devices import DeviceError, DeviceInfo, check_input_settings, portaudio
from fieldrec.audio.ring import INPUT_OVERFLOW, UNKNOWN_FRAMES, FrameRing
from fieldrec.audio.simulated import SimulatedStream

DEFAULT_RING_SECONDS = 10.0
MIN_RING_BYTES = 2 * 1024 * 1024
MAX_RING_BYTES = 64 * 1024 * 1024

#: Environment variable that fixes the simulated source's seed (tests); otherwise each stream is seeded
#: from the clock, so two demo takes never hold the same audio.
SEED_ENV = "FIELDREC_SIM_SEED"


def simulated_seed(seed: int | None = None) -> int:
    """The seed for a new simulated stream: ``seed`` if given, else ``$FIELDREC_SIM_SEED``, else the clock."""
    if seed is not None:
        return int(seed)
    env = os.environ.get(SEED_ENV, "").strip()
    if env:
        try:
            return int(env)
        except ValueError:
            raise DeviceError(f"{SEED_ENV} must be an integer, got {env!r}") from None
    return time.time_ns() & 0x7FFFFFFF


def ring_frames_for(samplerate: float, channels: int, dtype: str, seconds: float) -> int:
    """Ring capacity in frames: ``seconds`` of audio, at least 2 MiB, at most 64 MiB."""
    frame_bytes = channels * np.dtype(dtype).itemsize
    want = int(seconds * samplerate)
    return max(1, min(max(want, MIN_RING_BYTES // frame_bytes), MAX_RING_BYTES // frame_bytes))


#: A PortAudio input asked for no block size delivers blocks of about this much audio (seconds). Measured
#: (docs/benchmarks.md, "What a take costs"): left to choose, PortAudio's ALSA backend on PulseAudio's plugin
#: takes 307-frame blocks (156 callbacks per s at 48 kHz) and the callback thread plus the plugin's thread cost
#: 0.020 s of CPU per s of audio; 2048-frame blocks cost 0.007. The meters and the writer work in 100 ms
#: batches, and a viewer at 30 frames per second still sees new audio in most frames.
INPUT_BLOCK_S = 0.04
#: The blocks of a take nobody watches at frame rate (``fieldrec record``: its status line is drawn 4 times a
#: second): 16384 frames at 48 kHz (65536 at 192 kHz). Measured on the virtual input at 48 kHz / 2 ch
#: (docs/benchmarks.md, "What a take costs", 2026-12-03): 8192-frame blocks cut the callback thread and
#: PulseAudio's client thread from 0.0070 s of CPU per s of audio (40 ms blocks) to 0.0019, and the whole take
#: from 0.014-0.016 to 0.009-0.010; 16384-frame blocks cut the take by another 0.0007-0.0032 in alternating
#: runs (the callback, and the writer, which sleeps the input's latency). What is recorded, metered and
#: reported does not change; the input's buffer (about two blocks: what an overloaded moment can absorb)
#: grows with the block, and so does the wait of a ``--duration`` take for its last frames.
UNATTENDED_BLOCK_S = 0.34


def default_blocksize(samplerate: float, block_s: float = INPUT_BLOCK_S) -> int:
    """Frames per callback of a PortAudio input when none is asked: the power of two nearest ``block_s`` of
    audio (for :data:`INPUT_BLOCK_S`: 2048 at 44.1 and 48 kHz, 4096 at 96 kHz, 8192 at 192 kHz)."""
    return 1 << max(6, round(math.log2(block_s * float(samplerate))))


#: Seconds without a callback after which a running stream's device counts as lost.
LOST_AFTER_STALL_S = 5.0


class Capture:
    """One open input stream feeding a :class:`FrameRing`.

    ``samplerate`` in Hz; ``blocksize`` in frames (0 = let the backend choose; None = fieldrec's choice:
    :func:`default_blocksize` of ``block_s`` seconds for a PortAudio input, the simulated source's own 10 ms);
    ``latency`` as in
    sounddevice ("high", "low" or seconds); ``ring_seconds`` of audio the ring holds (see
    :func:`ring_frames_for`). The stream is opened here (bad settings raise :class:`DeviceError`) and
    started by :meth:`start`.
    """

    def __init__(self, device: DeviceInfo, samplerate: int, channels: int, dtype: str = "float32",
                 blocksize: int | None = None, latency: str | float = "high",
                 ring_seconds: float = DEFAULT_RING_SECONDS, seed: int | None = None,
                 keep: tuple[int, ...] | None = None, block_s: float = INPUT_BLOCK_S) -> None:
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
            self.seed: int | None = simulated_seed(seed)
            self._stream: Any = SimulatedStream(self.samplerate, self.open_channels, dtype, blocksize or 0,
                                                self._callback, self._on_finished, seed=self.seed)
        else:
            self.seed = None
            sd = portaudio()
            if blocksize is None:
                blocksize = default_blocksize(self.samplerate, block_s)
            try:
                self._stream = sd.RawInputStream(device=device.index, samplerate=self.samplerate,
                                                 channels=self.open_channels, dtype=dtype, blocksize=blocksize,
                                                 latency=latency, callback=self._raw_callback(),
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
        rate = float(self.samplerate)
        period = 1.0 / rate
        expected = [0.0]  # ADC time at which this block should start, from the previous block
        if self.keep is None:
            push = ring.push
        else:
            columns = np.asarray(self.keep, dtype=np.intp)
            push_columns = ring.push_columns

            def push(indata: np.ndarray) -> bool:
                return push_columns(indata, columns)

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            adc = time_info.inputBufferAdcTime
            if status.input_overflow:
                lost = UNKNOWN_FRAMES
                if adc > 0.0 and expected[0] > 0.0:  # some backends give no timestamps (0.0)
                    lost = int((adc - expected[0]) * rate + 0.5)
                    if lost < frames // 2:  # timestamp jitter, not a gap
                        lost = 0
                record(INPUT_OVERFLOW, ring.write_count, lost)  # the gap is before this block
            push(indata)
            expected[0] = adc + frames * period
            self.callback_count += 1
            self.last_callback_time = monotonic()

        return callback

    def _raw_callback(self) -> Any:
        """The PortAudio callback: sounddevice's raw stream hands over the C buffer, which becomes a (frames,
        channels) view for :meth:`_make_callback`'s callback. Measured on the virtual input at 48 kHz / 2 ch,
        2048-frame blocks: sounddevice's own numpy wrapping cost the callback thread 0.004 s of CPU per s of
        audio against 0.003 for the raw stream (docs/benchmarks.md, "What a take costs")."""
        callback = self._callback
        sample = np.dtype(self.dtype)
        channels = self.open_channels
        frombuffer = np.frombuffer

        def raw(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            callback(frombuffer(indata, dtype=sample).reshape(frames, channels), frames, time_info, status)

        return raw

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

    @property
    def lost_frame(self) -> int | None:
        """The ring frame at which the device was first seen lost, or None."""
        self.device_lost  # noqa: B018 - latches the frame if the device has just gone
        return self._lost_frame

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
