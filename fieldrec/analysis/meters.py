"""MeterBank: every live meter behind one ``process(block)``; the same code measures files.

Fed by the recorder's meter thread from the monitor ring (never the audio callback), or by
``fieldrec.analyze`` from a file. ``snapshot()`` may be called from any other thread while ``process``
runs: the lock is held only to publish or copy a few small arrays.

What a call costs: ``process()`` does work in proportion to the samples it is given plus a constant
(publishing a few per-channel arrays); nothing it does grows with the take. What only the display needs
(dB conversions, the live RMS, the integrated loudness and loudness range from their 0.01 LU histograms)
is computed in ``snapshot()``, at display rate, and the histogram readings are cached until new 100 ms
blocks arrive. So a feeder may pass blocks of any size (tens of milliseconds is efficient) and call
``snapshot()`` as often as it draws.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from .clipping import ClipCounter
from .db import amp_to_db, energy_to_lufs, finite_or_none
from .features import spectral_centroid, spectral_peaks
from .levels import LevelMeter
from .loudness import ABSOLUTE_GATE_LUFS, LoudnessHistogram, LoudnessMeter
from .spectrum import WelchAccumulator
from .true_peak import TruePeakMeter


@dataclass(frozen=True)
class MeterSnapshot:
    """Live meter values. dB values are floats, -inf for silence; tuples hold one value per channel."""

    frames: int  # frames processed since reset
    peak_dbfs: tuple[float, ...]  # sample peak since the previous snapshot() (live bar)
    rms_dbfs: tuple[float, ...]  # RMS over the last 300 ms; full-scale sine = -3.01 dBFS
    true_peak_dbtp: tuple[float, ...]  # true peak since the previous snapshot()
    max_peak_dbfs: tuple[float, ...]  # take maximum since reset()
    max_true_peak_dbtp: tuple[float, ...]
    clipped_samples: tuple[int, ...]  # since reset()
    clip_events: tuple[int, ...]
    clip_latched: tuple[bool, ...]  # set by a clip, cleared only by reset_clips()
    momentary_lufs: float | None  # None until 400 ms seen or below the -70 LUFS absolute gate
    short_term_lufs: float | None
    integrated_lufs: float | None
    loudness_range_lu: float | None
    dc_offset: tuple[float, ...]  # mean over the take, full scale = 1.0


def _gated(lufs: float) -> float | None:
    return lufs if math.isfinite(lufs) and lufs > ABSOLUTE_GATE_LUFS else None


def _int_to_float(x: np.ndarray) -> np.ndarray:
    """Signed integer samples to float64 with full scale 1.0 (int16: /32768, int32: /2^31)."""
    if x.dtype.kind == "u":
        raise ValueError(f"unsigned {x.dtype} blocks are not supported; convert to float first")
    return x.astype(np.float64) / float(2 ** (8 * x.dtype.itemsize - 1))


def _spectrum_nfft(samplerate: float) -> int:
    """4096 at up to 48 kHz, scaled with the rate above it (about 11.7 Hz bins)."""
    n = 4096
    while samplerate / n > 48000.0 / 4096 * 1.0001:
        n *= 2
    return n


class MeterBank:
    """Sample peak, true peak, RMS, clipping, loudness (M, S, I, LRA), DC, noise floor and spectrum.

    ``samplerate`` in Hz, ``channels`` >= 1, ``clip_level``: |x| at or above it counts as clipped
    (1.0 for float data; ``clipping.pcm_clip_level(bits)`` for integer PCM read as float).
    Blocks are float arrays (frames, channels), full scale = 1.0, of any size; signed integer blocks
    (int16, int32 as captured) are scaled to full scale = 1.0 first.
    """

    def __init__(self, samplerate: float, channels: int, clip_level: float = 1.0) -> None:
        if channels < 1:
            raise ValueError(f"a meter needs at least one channel, got {channels}")
        if samplerate <= 0:
            raise ValueError(f"sample rate must be positive, got {samplerate}")
        self.samplerate = float(samplerate)
        self.channels = int(channels)
        self.clip_level = float(clip_level)
        self._lock = threading.Lock()
        self._levels = LevelMeter(samplerate, channels)
        self._true_peak = TruePeakMeter(samplerate, channels)
        self._clips = ClipCounter(channels, clip_level)
        self._loudness = LoudnessMeter(samplerate, channels)
        self._min_chunk = self._levels.subblock_frames  # 10 ms: tiny blocks are gathered first
        self._spectrum = WelchAccumulator(
            samplerate, nfft=_spectrum_nfft(samplerate), window="hann", dtype=np.float32
        )
        self.reset()

    def reset(self) -> None:
        """Start a new take: every reading back to its initial state."""
        with self._lock:
            self._levels.reset()
            self._true_peak.reset()
            self._clips.reset()
            self._loudness.reset()
            self._spectrum.reset()
            self._pending: list[np.ndarray] = []
            self._pending_frames = 0
            self._live_peak = np.zeros(self.channels)
            self._live_tp = np.zeros(self.channels)
            self._latch = np.zeros(self.channels, dtype=bool)
            self._gating_hist = LoudnessHistogram()  # live integrated loudness (constant cost per reading)
            self._short_term_hist = LoudnessHistogram()  # live loudness range
            self._published = self._collect()
            # counts what snapshot() depends on: each measured block, each clip reset, each reset
            self._version = getattr(self, "_version", 0) + 1
            self._unchanged: tuple[int, MeterSnapshot] | None = None  # see snapshot()

    def reset_clips(self) -> None:
        """Clear the clip latch only (counts stay); safe from any thread."""
        with self._lock:
            self._latch[:] = False
            self._version += 1

    def process(self, block: np.ndarray) -> None:
        """Feed one block (frames, channels) or (frames,) for mono. Call from one thread only.

        Blocks shorter than 10 ms are gathered and measured together (live readings lag by at most
        10 ms); ``result()`` measures what is still gathered.
        """
        x = np.asarray(block)
        if x.dtype.kind in "iu":  # integer PCM straight from a capture ring: scale to full scale = 1.0
            x = _int_to_float(x)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ValueError(f"expected blocks of shape (frames, {self.channels}), got {np.shape(block)}")
        if x.shape[0] == 0:
            return
        if self._pending or x.shape[0] < self._min_chunk:
            self._pending.append(np.array(x, dtype=np.float64))
            self._pending_frames += x.shape[0]
            if self._pending_frames < self._min_chunk:
                return
            x = np.concatenate(self._pending, axis=0)
            self._pending = []
            self._pending_frames = 0
        self._measure(x)

    def flush(self) -> None:
        """Measure the gathered short blocks now (``result()`` does this itself)."""
        if self._pending:
            x = np.concatenate(self._pending, axis=0)
            self._pending = []
            self._pending_frames = 0
            self._measure(x)

    def _measure(self, x: np.ndarray) -> None:
        xt = np.ascontiguousarray(x.T, dtype=np.float64)  # channel-major: fast row reductions
        ld = self._loudness
        clipped_before = self._clips.samples.copy()
        gating_before, short_before = ld.gating_block_count, ld.short_term_block_count
        peak = self._levels.process_t(xt)
        tp = self._true_peak.process_t(xt, sample_peak=peak)
        if (peak >= self.clip_level).any():
            self._clips.process_t(np.abs(xt))
        else:  # no sample reaches the clip level: nothing to count (one comparison per channel)
            self._clips.process_unclipped()
        ld.process_t(xt)
        self._spectrum.process_t(xt)
        new_clips = self._clips.samples > clipped_before
        new_gating = ld.gating_energies[gating_before:].copy()  # the 100 ms blocks this call completed
        new_short = ld.short_term_energies[short_before:].copy()
        state = self._collect()
        with self._lock:
            np.maximum(self._live_peak, peak, out=self._live_peak)
            np.maximum(self._live_tp, tp, out=self._live_tp)
            self._latch |= new_clips
            self._gating_hist.add(new_gating)
            self._short_term_hist.add(new_short)
            self._published = state
            self._version += 1

    def _collect(self) -> dict[str, Any]:
        """Raw state for snapshot(): references to arrays that are replaced, never changed, and small copies.

        Everything derived (RMS, dB, DC offset, histogram readings) is left to snapshot().
        """
        lv, ld = self._levels, self._loudness
        return {
            "frames": int(lv.frames),
            "rms_history": lv.live_history,  # replaced by each process call, never written in place
            "subblock_frames": lv.subblock_frames,
            "peak": lv.peak.copy(),
            "true_peak": self._true_peak.max_abs.copy(),
            "clipped_samples": self._clips.samples.copy(),
            "clip_events": self._clips.events.copy(),
            "momentary": ld.momentary_energy,
            "short_term": ld.short_term_energy,
            "sum": lv.sum.copy(),
        }

    def snapshot(self) -> MeterSnapshot:
        """Live values; also starts a new interval for the live peak and true peak bars.

        A reader at frame rate calls this two or three times per measured batch: when nothing was measured
        (nor a clip latch reset) since the previous call, the readings are those of that call with no live
        peak (silence, -inf), built once."""
        with self._lock:
            if self._unchanged is not None and self._unchanged[0] == self._version:
                return self._unchanged[1]
            version = self._version
            s = self._published
            peak, tp = self._live_peak.copy(), self._live_tp.copy()
            latched = self._latch.copy()
            self._live_peak[:] = 0.0
            self._live_tp[:] = 0.0
            integrated = self._gating_hist.gated_loudness()  # cached until new blocks are added
            lra = self._short_term_hist.loudness_range()

        def db(values: np.ndarray) -> tuple[float, ...]:
            return tuple(float(v) for v in amp_to_db(values))

        history = s["rms_history"]
        if history.shape[0]:
            live_rms = np.sqrt(history.sum(axis=0) / (history.shape[0] * s["subblock_frames"]))
        else:
            live_rms = np.zeros(self.channels)
        dc = s["sum"] / max(s["frames"], 1)
        snap = MeterSnapshot(
            frames=s["frames"],
            peak_dbfs=db(peak),
            rms_dbfs=db(live_rms),
            true_peak_dbtp=db(tp),
            max_peak_dbfs=db(s["peak"]),
            max_true_peak_dbtp=db(s["true_peak"]),
            clipped_samples=tuple(int(v) for v in s["clipped_samples"]),
            clip_events=tuple(int(v) for v in s["clip_events"]),
            clip_latched=tuple(bool(v) for v in latched),
            momentary_lufs=_gated(float(energy_to_lufs(s["momentary"]))),
            short_term_lufs=_gated(float(energy_to_lufs(s["short_term"]))),
            integrated_lufs=finite_or_none(integrated),
            loudness_range_lu=finite_or_none(lra),
            dc_offset=tuple(float(v) for v in dc),
        )
        silent = (-math.inf,) * self.channels  # what db() gives for the zeroed live peaks
        with self._lock:
            self._unchanged = (version, dataclasses.replace(snap, peak_dbfs=silent, true_peak_dbtp=silent))
        return snap

    def result(self) -> dict[str, Any]:
        """Take summary with the keys of ``fieldrec analyze --json`` (without "file"); JSON-safe.

        Levels in dB are floats or None where undefined (e.g. the loudness of silence). Call it from
        the feeding thread or after feeding stopped: it first measures any gathered short blocks.
        """
        self.flush()
        lv, ld, cl = self._levels, self._loudness, self._clips
        peak_db = amp_to_db(lv.peak)
        tp_db = amp_to_db(self._true_peak.max_abs)
        rms_db = amp_to_db(lv.rms)
        dc = lv.dc_offset
        floor, snr = lv.noise_floor_and_snr()
        freqs, power = self._spectrum.freqs, self._spectrum.power()
        centroid = spectral_centroid(freqs, np.sqrt(power)) if self._spectrum.segments else float("nan")
        total_ms = float((lv.sum_sq.sum()) / max(lv.frames * self.channels, 1))
        return {
            "samplerate": int(self.samplerate) if self.samplerate.is_integer() else self.samplerate,
            "channels": self.channels,
            "frames": int(lv.frames),
            "duration_s": lv.frames / self.samplerate,
            "sample_peak_dbfs": finite_or_none(peak_db.max()),
            "true_peak_dbtp": finite_or_none(tp_db.max()),
            "rms_dbfs": finite_or_none(amp_to_db(math.sqrt(total_ms))),
            "integrated_lufs": finite_or_none(ld.integrated_lufs),
            "momentary_max_lufs": _gated(ld.momentary_max_lufs),
            "short_term_max_lufs": _gated(ld.short_term_max_lufs),
            "loudness_range_lu": finite_or_none(ld.loudness_range_lu),
            "clipped_samples": int(cl.samples.sum()),
            "clip_events": int(cl.events.sum()),
            "dc_offset": float(dc.mean()),
            "noise_floor_dbfs": finite_or_none(floor),
            "snr_db": finite_or_none(snr),
            "spectral_centroid_hz": finite_or_none(centroid),
            "peaks": spectral_peaks(freqs, power) if self._spectrum.segments else [],
            "per_channel": [
                {
                    "peak_dbfs": finite_or_none(peak_db[c]),
                    "true_peak_dbtp": finite_or_none(tp_db[c]),
                    "rms_dbfs": finite_or_none(rms_db[c]),
                    "clipped_samples": int(cl.samples[c]),
                    "clip_events": int(cl.events[c]),
                    "dc_offset": float(dc[c]),
                }
                for c in range(self.channels)
            ],
        }
