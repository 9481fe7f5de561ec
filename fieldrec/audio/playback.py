"""Playback of frames through an output device (``sounddevice.OutputStream``); never opens an input.

``Player(device)`` plays ``play(blocks, samplerate, channels, start_frame, frames)``: a feeder thread pulls
float32 blocks (frames, channels) from the iterator into a preallocated ring of ``buffer_s`` seconds; the
stream callback only copies from the ring (silence if the feeder is late) and stops the stream at the end.
``position`` is the file frame being heard now (frames handed to the device, minus its output latency),
for a cursor that follows. Mono is sent to both channels of a stereo output; a take with more channels than
the device plays its first ones.

Devices are chosen like inputs: a part of the name (case-insensitive), an index, or None for the default
output.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import numpy as np

from fieldrec.audio.devices import DeviceError, portaudio, resolve_output_device

log = logging.getLogger(__name__)


class Player:
    """One playback at a time through ``device`` (resolved at each ``play``)."""

    def __init__(self, device: str | int | None = None, buffer_s: float = 1.0, blocksize: int = 2048,
                 latency_s: float = 0.2) -> None:
        self.device = device
        self.buffer_s = float(buffer_s)
        self.blocksize = int(blocksize)
        self.latency_s = float(latency_s)  #: output latency asked for: playback is not interactive, so ample
        self._stream = None
        self._feeder: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._start_frame = 0
        self._total = 0
        self._played = 0  # frames handed to the device (callback thread writes)
        self._latency = 0.0
        self._samplerate = 1
        self.error: str | None = None
        self.on_finished: Callable[[], None] | None = None

    @property
    def playing(self) -> bool:
        return not self._done.is_set()

    @property
    def position(self) -> int | None:
        """File frame heard now (None when not playing)."""
        if not self.playing:
            return None
        heard = self._played - int(self._latency * self._samplerate)
        return self._start_frame + max(0, min(heard, self._total))

    def play(self, blocks: Iterator[np.ndarray], samplerate: int, channels: int, start_frame: int,
             frames: int) -> None:
        """Start playing ``frames`` frames (from file frame ``start_frame``) pulled from ``blocks``.

        Raises DeviceError (one line) when the output cannot be opened with this rate and channel count.
        """
        self.stop()
        sd = portaudio()
        dev = resolve_output_device(self.device)
        out_ch = 2 if channels == 1 and dev.max_output_channels >= 2 else min(channels, dev.max_output_channels)
        cap = max(int(self.buffer_s * samplerate), 4 * self.blocksize)
        ring = np.zeros((cap, out_ch), np.float32)
        state = {"w": 0, "r": 0, "eof": False, "tail": 0}
        self._stop.clear()
        self._done.clear()
        self._start_frame, self._total, self._played = int(start_frame), int(frames), 0
        self._samplerate = int(samplerate)
        self.error = None

        def fit(block: np.ndarray) -> np.ndarray:
            b = np.asarray(block, np.float32)
            if b.ndim == 1:
                b = b[:, None]
            if b.shape[1] == 1 and out_ch == 2:
                return np.repeat(b, 2, axis=1)
            return b[:, :out_ch]

        def feed() -> None:
            try:
                for block in blocks:
                    b = fit(block)
                    i = 0
                    while i < b.shape[0]:
                        if self._stop.is_set():
                            return
                        free = cap - (state["w"] - state["r"])
                        if free <= 0:
                            self._stop.wait(0.01)
                            continue
                        n = min(free, b.shape[0] - i)
                        s = state["w"] % cap
                        first = min(n, cap - s)
                        ring[s:s + first] = b[i:i + first]
                        ring[:n - first] = b[i + first:i + n]
                        state["w"] += n
                        i += n
            except Exception as err:  # a read error ends the playback early; said in .error
                self.error = f"playback stopped: {err}"
                log.error("playback feeder: %s", err)
            finally:
                state["eof"] = True

        def callback(outdata: np.ndarray, n: int, time_info, status) -> None:
            avail = state["w"] - state["r"]
            k = min(n, avail)
            s = state["r"] % cap
            first = min(k, cap - s)
            outdata[:first] = ring[s:s + first]
            outdata[first:k] = ring[:k - first]
            outdata[k:] = 0
            state["r"] += k
            self._played += k
            if state["eof"] and state["w"] == state["r"]:
                # a little silence after the last frame so the device plays it out before the stream stops
                state["tail"] -= n - k
                if state["tail"] <= 0:
                    raise sd.CallbackStop

        def finished() -> None:
            self._done.set()
            cb = self.on_finished
            if cb is not None:
                cb()

        self._feeder = threading.Thread(target=feed, name="fieldrec-playback-feed", daemon=True)
        self._feeder.start()
        try:
            stream = sd.OutputStream(device=dev.index, samplerate=samplerate, channels=out_ch, dtype="float32",
                                     blocksize=self.blocksize, latency=self.latency_s, callback=callback,
                                     finished_callback=finished)
            self._latency = float(stream.latency)
            state["tail"] = int(self._latency * samplerate) + 2 * self.blocksize
            stream.start()
        except (sd.PortAudioError, ValueError) as err:
            self._stop.set()
            self._feeder.join()
            self._done.set()
            raise DeviceError(f"cannot play through {dev.name!r} at {samplerate} Hz, {out_ch} ch: {err}") from None
        self._stream = stream

    def stop(self) -> None:
        """Stop at once (no-op when idle); waits for the stream and the feeder to end."""
        self._stop.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()
            stream.close()
        if self._feeder is not None:
            self._feeder.join(timeout=5)
            self._feeder = None
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the playback ends; True if it did."""
        return self._done.wait(timeout)
