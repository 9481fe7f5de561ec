"""Synthesised EBU Tech 3341 / Tech 3342 test signals (1 kHz sines; levels in dBFS = sine peak level).

A stereo 1 kHz sine at L dBFS in both channels measures L LUFS (the K-weighting gain at 1 kHz,
+0.691 dB, cancels the -0.691 in the loudness formula and the two channels add 3 dB to the
sine's -3 dB mean square).
"""

from __future__ import annotations

import numpy as np


def sine(
    seconds: float, level_dbfs: float, fs: int = 48000, freq: float = 1000.0, phase0: int = 0
) -> np.ndarray:
    """Mono sine; ``phase0`` is the sample index the phase runs on from (keeps phase across pieces)."""
    n = int(round(seconds * fs))
    t = (np.arange(n) + phase0) / fs
    return 10.0 ** (level_dbfs / 20.0) * np.sin(2.0 * np.pi * freq * t)


def sequence(pieces: list[tuple[float, float | None]], fs: int = 48000) -> np.ndarray:
    """Concatenate (seconds, level dBFS or None for silence) pieces of a continuous 1 kHz sine; mono."""
    out, pos = [], 0
    for seconds, level in pieces:
        n = int(round(seconds * fs))
        out.append(np.zeros(n) if level is None else sine(seconds, level, fs, phase0=pos))
        pos += n
    return np.concatenate(out)


def stereo(x: np.ndarray) -> np.ndarray:
    return np.stack([x, x], axis=1)


def true_peak_case(
    freq_ratio: float, phase_deg: float, amplitude: float, fs: int = 48000, seconds: float = 2.0
):
    """Stereo sine at fs * freq_ratio with a phase against the sampling grid, for Tech 3341 cases 15-19.

    A 20 ms raised-cosine fade in and out keeps the step at the start of the file from adding the
    interpolator's Gibbs overshoot (up to +0.7 dB at fs/8, 67.5 deg, with libebur128 as well as ours);
    the EBU files are measured without that onset, and the steady part is what the case is about.
    """
    n = int(seconds * fs)
    x = amplitude * np.sin(2.0 * np.pi * freq_ratio * np.arange(n) + np.deg2rad(phase_deg))
    fade = int(0.02 * fs)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    x[:fade] *= ramp
    x[-fade:] *= ramp[::-1]
    return stereo(x)


def field_signal(seconds: float, fs: int, seed: int = 0) -> np.ndarray:
    """A field-recording-like stereo signal: wind-like low noise whose level drifts, bird-like chirps
    (2-7 kHz), a few loud broadband bursts; peaks stay below full scale."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    drift = 10 ** ((-12 + 10 * np.sin(2 * np.pi * t / 11.0)) / 20)[:, None]
    wind = signal.lfilter([1.0], [1.0, -0.98], rng.normal(0, 0.01, (n, 2)), axis=0) * drift
    chirps = np.zeros(n)
    for start in np.arange(0.5, seconds - 1.0, 1.7):
        i, m = int(start * fs), int(0.25 * fs)
        tc = np.arange(m) / fs
        f0 = rng.uniform(2000, 4000)
        chirps[i : i + m] += 0.3 * signal.chirp(tc, f0, tc[-1], f0 + 3000) * np.hanning(m)
    bursts = np.zeros((n, 2))
    for start in rng.uniform(1, seconds - 1, 3):
        i, m = int(start * fs), int(0.15 * fs)
        bursts[i : i + m] = rng.normal(0, 0.15, (m, 2)) * np.hanning(m)[:, None]
    x = wind + bursts + chirps[:, None] * [1.0, 0.6]
    return np.clip(x, -0.99, 0.99)
