"""A simulated field recorder input: a deterministic outdoor scene and a stream that plays it in real time.

``FieldSignal`` renders float32 frames (full scale = 1.0): a pink-ish noise bed (about -50 dBFS RMS), a
slowly modulated low wind rumble (< 200 Hz), birdsong-like frequency-modulated syllables (2-8 kHz,
50-300 ms, about three a second, peaks about -20 dBFS) and every 7-12 s a loud knock that exceeds full
scale for a few milliseconds. Output depends only on the seed and the absolute frame position: the scene
is computed in fixed chunks aligned to absolute frames, so ``render(1000)`` equals ``render(400)`` followed
by ``render(600)`` bit for bit.

``SimulatedStream`` mimics ``sounddevice.InputStream``: a daemon thread calls
``callback(indata, frames, time_info, status)`` with blocks at real-time pace.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fieldrec.threads import name_this_thread

CHUNK_FRAMES = 4096  # internal render granularity (frames), aligned to absolute frame 0


@dataclass(frozen=True)
class _Syllable:
    start: float  # seconds
    dur: float  # seconds
    f0: float  # Hz at start
    f1: float  # Hz at end
    vib_rate: float  # Hz
    vib_depth: float  # Hz
    amp: float  # peak, full scale = 1.0


@dataclass(frozen=True)
class _Knock:
    start: float  # seconds
    amp: float  # peak > 1.0
    freq: float  # Hz
    tau: float  # decay time constant, seconds


def _shaped_noise_loop(rng: np.random.Generator, n: int, samplerate: float,
                       shape: Callable[[np.ndarray], np.ndarray], rms: float) -> np.ndarray:
    """Periodic noise of ``n`` frames with the amplitude spectrum ``shape(f)``, scaled to ``rms``.

    Built in the frequency domain, so the loop joins seamlessly end to start.
    """
    freqs = np.fft.rfftfreq(n, 1.0 / samplerate)
    spec = shape(freqs) * np.exp(2j * np.pi * rng.random(freqs.size))
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    x *= rms / max(float(np.sqrt(np.mean(x * x))), 1e-30)
    return x.astype(np.float32)


class FieldSignal:
    """Deterministic simulated field scene; ``render(frames)`` returns float32 ``(frames, channels)``."""

    def __init__(self, samplerate: int, channels: int, seed: int = 0) -> None:
        if not 1000 <= samplerate <= 768000 or not 1 <= channels <= 64:
            raise ValueError("FieldSignal needs 1000..768000 Hz and 1..64 channels")
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        self.seed = int(seed)
        sr = float(samplerate)
        loop_len = 1 << max(16, math.ceil(math.log2(4.0 * sr)))  # >= 4 s of noise before it repeats
        self._loop_len = loop_len
        rng = np.random.default_rng([self.seed, 0])
        fmax = 0.45 * sr

        def pink(f: np.ndarray) -> np.ndarray:
            return np.where((f > 20.0) & (f < min(fmax, 20000.0)), 1.0 / np.sqrt(np.maximum(f, 1.0)), 0.0)

        def wind(f: np.ndarray) -> np.ndarray:
            return np.where(f > 3.0, 1.0 / np.maximum(f, 1.0), 0.0) / (1.0 + (f / 120.0) ** 8)

        self._pink = _shaped_noise_loop(rng, loop_len, sr, pink, 10 ** (-50 / 20))
        self._wind = _shaped_noise_loop(rng, loop_len, sr, wind, 10 ** (-30 / 20))
        # Each channel reads the loops at its own offset: different noise per channel.
        self._offsets = (np.arange(self.channels, dtype=np.int64) * (loop_len // max(self.channels, 1) + 9973))
        self._bird_delay = rng.uniform(0.0, 0.0008, self.channels)  # seconds, birds reach mics at slightly different times
        self._bird_delay[0] = 0.0
        self._bird_gain = rng.uniform(0.7, 1.0, self.channels)
        self._bird_gain[0] = 1.0
        self._knock_gain = rng.uniform(0.85, 1.0, self.channels)  # knocks are near: every mic clips
        self._knock_gain[0] = 1.0
        self._wind_phase = rng.uniform(0, 2 * np.pi, (self.channels, 2))
        self._bird_rng = np.random.default_rng([self.seed, 1])
        self._knock_rng = np.random.default_rng([self.seed, 2])
        self._syllables: list[_Syllable] = []
        self._next_syllable = float(self._bird_rng.uniform(0.05, 0.4))
        self._knocks: list[_Knock] = []
        self._next_knock = float(self._knock_rng.uniform(1.0, 4.0))
        self._chunk_index = 0
        self._chunk = np.zeros((CHUNK_FRAMES, self.channels), dtype=np.float32)
        self._chunk_pos = CHUNK_FRAMES  # frames of the current chunk already handed out
        self._base = np.arange(CHUNK_FRAMES, dtype=np.int64)
        self.position = 0  # frames rendered so far

    # ---- event schedules (sequential, reproducible) ------------------------------------------------
    def _schedule_until(self, t_end: float) -> None:
        rng = self._bird_rng
        while self._next_syllable < t_end:
            dur = float(rng.uniform(0.05, 0.3))
            f0 = float(rng.uniform(2500.0, 7500.0))
            f1 = float(np.clip(f0 + rng.uniform(-2500.0, 2500.0), 2000.0, 8000.0))
            self._syllables.append(_Syllable(self._next_syllable, dur, f0, f1, float(rng.uniform(8.0, 40.0)),
                                             float(rng.uniform(0.0, 400.0)), float(10 ** (rng.uniform(-26, -18) / 20))))
            self._next_syllable += dur + float(rng.exponential(0.25)) + 0.02
        krng = self._knock_rng
        while self._next_knock < t_end:
            self._knocks.append(_Knock(self._next_knock, float(krng.uniform(1.6, 2.5)),
                                       float(krng.uniform(300.0, 1200.0)), float(krng.uniform(0.003, 0.006))))
            self._next_knock += float(krng.uniform(7.0, 12.0))

    # ---- rendering ------------------------------------------------------------------------------------
    def _render_chunk(self) -> None:
        sr = float(self.samplerate)
        n0 = self._chunk_index * CHUNK_FRAMES
        t0, t1 = n0 / sr, (n0 + CHUNK_FRAMES) / sr
        self._schedule_until(t1)
        idx = (n0 + self._base)[:, None] + self._offsets[None, :]
        idx %= self._loop_len
        out = self._chunk
        t = (n0 + self._base) / sr  # float64 seconds
        wind_mod = 0.35 + 0.65 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.07 * t[:, None] + self._wind_phase[:, 0])) \
            * (0.6 + 0.4 * np.sin(2 * np.pi * 0.23 * t[:, None] + self._wind_phase[:, 1]))
        np.multiply(self._wind[idx], wind_mod, out=out, casting="same_kind")
        out += self._pink[idx]
        self._syllables = [s for s in self._syllables if s.start + s.dur + 0.001 > t0]
        for s in self._syllables:
            self._add_syllable(out, s, n0, sr)
        self._knocks = [k for k in self._knocks if k.start + 12 * k.tau > t0]
        for k in self._knocks:
            self._add_knock(out, k, n0, sr)
        self._chunk_index += 1
        self._chunk_pos = 0

    def _add_syllable(self, out: np.ndarray, s: _Syllable, n0: int, sr: float) -> None:
        a = max(n0, int(math.floor(s.start * sr)))
        b = min(n0 + CHUNK_FRAMES, int(math.ceil((s.start + s.dur + 0.001) * sr)))
        if b <= a:
            return
        t = np.arange(a, b, dtype=np.float64) / sr
        for c in range(self.channels):
            tau = t - (s.start + self._bird_delay[c])
            inside = (tau >= 0.0) & (tau <= s.dur)
            tau = np.clip(tau, 0.0, s.dur)
            phase = 2 * np.pi * (s.f0 * tau + (s.f1 - s.f0) * tau * tau / (2 * s.dur)) \
                + s.vib_depth / s.vib_rate * (1.0 - np.cos(2 * np.pi * s.vib_rate * tau))
            env = np.sin(np.pi * tau / s.dur) ** 2 * inside
            out[a - n0:b - n0, c] += (s.amp * self._bird_gain[c]) * env * np.sin(phase)

    def _add_knock(self, out: np.ndarray, k: _Knock, n0: int, sr: float) -> None:
        a = max(n0, int(math.floor(k.start * sr)))
        b = min(n0 + CHUNK_FRAMES, int(math.ceil((k.start + 12 * k.tau) * sr)))
        if b <= a:
            return
        tau = np.arange(a, b, dtype=np.float64) / sr - k.start
        tau = np.maximum(tau, 0.0)
        x = k.amp * np.exp(-tau / k.tau) * (0.8 * np.sin(2 * np.pi * k.freq * tau + 1.2)
                                            + 0.4 * np.sin(2 * np.pi * 2.7 * k.freq * tau))
        for c in range(self.channels):
            out[a - n0:b - n0, c] += x * self._knock_gain[c]

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames as float32 ``(frames, channels)``; full scale = 1.0, knocks exceed it."""
        out = np.empty((int(frames), self.channels), dtype=np.float32)
        self.render_into(out)
        return out

    def render_into(self, out: np.ndarray) -> None:
        """Fill ``out`` (float32, shape (frames, channels)) with the next frames."""
        frames = out.shape[0]
        filled = 0
        while filled < frames:
            if self._chunk_pos >= CHUNK_FRAMES:
                self._render_chunk()
            take = min(frames - filled, CHUNK_FRAMES - self._chunk_pos)
            out[filled:filled + take] = self._chunk[self._chunk_pos:self._chunk_pos + take]
            self._chunk_pos += take
            filled += take
        self.position += frames


class _Status:
    """Stands in for ``sounddevice.CallbackFlags``; only ``input_overflow`` is ever set."""

    __slots__ = ("input_overflow",)
    input_underflow = False
    output_overflow = False
    output_underflow = False
    priming_output = False

    def __init__(self) -> None:
        self.input_overflow = False

    def __bool__(self) -> bool:
        return self.input_overflow

    def __repr__(self) -> str:
        return f"<simulated CallbackFlags: {'input overflow' if self.input_overflow else 'none'}>"


class _TimeInfo:
    """Stands in for the ``time`` struct sounddevice passes (seconds on the monotonic clock)."""

    __slots__ = ("inputBufferAdcTime", "currentTime", "outputBufferDacTime")

    def __init__(self) -> None:
        self.inputBufferAdcTime = 0.0
        self.currentTime = 0.0
        self.outputBufferDacTime = 0.0


_INT_FULL_SCALE = {"int16": 32768.0, "int32": 2147483648.0}


class SimulatedStream:
    """Real-time-paced stand-in for ``sounddevice.InputStream`` playing a :class:`FieldSignal`.

    ``blocksize=0`` picks about 10 ms (at least 256 frames). Integer dtypes are full-scale and clip as
    an ADC would; float32 passes values beyond full scale through. ``latency`` is one block in seconds.

    Like an interface's hardware buffer, the stream holds ``buffer_seconds`` of audio: when the callback
    (or the machine) falls further behind real time than that, the oldest blocks are lost, as on a real
    device, and the next callback gets ``status.input_overflow``. ``blocks_lost`` counts them.
    """

    def __init__(self, samplerate: int, channels: int, dtype: str, blocksize: int,
                 callback: Callable[[np.ndarray, int, Any, Any], None],
                 finished_callback: Callable[[], None] | None = None, seed: int = 0,
                 buffer_seconds: float = 0.25) -> None:
        if dtype not in ("int16", "int32", "float32"):
            raise ValueError(f"unsupported sample type {dtype!r}; use int16, int32 or float32")
        self.samplerate = float(samplerate)
        self.channels = int(channels)
        self.dtype = dtype
        self.blocksize = int(blocksize) if blocksize else max(256, int(samplerate) // 100)
        self.latency = self.blocksize / self.samplerate
        self._callback = callback
        self._finished_callback = finished_callback
        self.signal = FieldSignal(int(samplerate), self.channels, seed)
        self._float = np.zeros((self.blocksize, self.channels), dtype=np.float32)
        self._wide = np.zeros((self.blocksize, self.channels), dtype=np.float64)
        self._out = np.zeros((self.blocksize, self.channels), dtype=dtype)
        self._stop = threading.Event()
        self._lose = False
        self._thread: threading.Thread | None = None
        self.closed = False
        self.error: str | None = None
        self.frames_delivered = 0
        self.blocks_lost = 0
        self.buffer_blocks = max(2, int(buffer_seconds * self.samplerate / self.blocksize))

    @property
    def active(self) -> bool:
        """True while the render thread runs."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    @property
    def stopped(self) -> bool:
        return not self.active

    def start(self) -> None:
        """Start (or restart) delivering blocks."""
        if self.closed:
            raise RuntimeError("simulated stream is closed; open a new one")
        if self.active:
            return
        self._stop.clear()
        self._lose = False
        self._thread = threading.Thread(target=self._run, name="fieldrec-simulated-input", daemon=True)
        self._thread.start()

    def stop(self, ignore_errors: bool = True) -> None:
        """Stop after the current block; waits for the thread."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5.0)

    abort = stop

    def close(self, ignore_errors: bool = True) -> None:
        self.stop()
        self.closed = True

    def disconnect(self) -> None:
        """Simulate an unplugged device: callbacks stop and the stream finishes without ``stop()``."""
        self._lose = True
        self._stop.set()

    def _convert(self) -> np.ndarray:
        if self.dtype == "float32":
            return self._float
        fs = _INT_FULL_SCALE[self.dtype]
        w = self._wide
        np.multiply(self._float, fs, out=w)
        np.rint(w, out=w)
        np.clip(w, -fs, fs - 1.0, out=w)
        np.copyto(self._out, w, casting="unsafe")
        return self._out

    def _run(self) -> None:
        name_this_thread("fieldrec-simin")
        period = self.blocksize / self.samplerate
        info = _TimeInfo()
        status = _Status()
        t0 = time.monotonic()
        k = 0
        try:
            while not self._stop.is_set():
                due = t0 + (k + 1) * period  # block k is complete once its last frame was "sampled"
                delay = due - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                behind = int(-delay / period)  # blocks "sampled" since this one, still waiting
                if behind > self.buffer_blocks:  # the hardware buffer overflowed: the oldest blocks are gone
                    lost = behind - self.buffer_blocks
                    for _ in range(lost):
                        self.signal.render_into(self._float)  # the signal runs on while nobody listens
                    k += lost
                    self.blocks_lost += lost
                    status.input_overflow = True
                    due = t0 + (k + 1) * period
                self.signal.render_into(self._float)
                block = self._convert()
                now = time.monotonic()
                info.inputBufferAdcTime = due - period
                info.currentTime = now
                try:
                    self._callback(block, self.blocksize, info, status)
                except Exception as exc:  # CallbackStop/CallbackAbort or a bug: the stream ends, as in sounddevice
                    if type(exc).__name__ not in ("CallbackStop", "CallbackAbort"):
                        self.error = f"callback raised {type(exc).__name__}: {exc}"
                    break
                status.input_overflow = False
                self.frames_delivered += self.blocksize
                k += 1
        finally:
            self._stop.set()
            if self._finished_callback is not None:
                self._finished_callback()
