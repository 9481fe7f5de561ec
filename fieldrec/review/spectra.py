"""Spectra of a range of a take: the spectrogram of what is on screen and the average spectrum with peaks.

Both read only what they need. ``range_spectrogram`` computes at most ``max_columns`` FFTs of ``nfft``
frames: when the range holds more than that many FFT windows, the windows are spread evenly over it (one
per screen column; what lies between columns is not drawn, as in any zoomed-out spectrogram), otherwise
they overlap. ``average_spectrum`` is an exact Welch average (``analysis.spectrum.WelchAccumulator``, hann,
50 % overlap) when the range has at most ``max_segments`` segments, else the average of ``max_segments``
segments spread evenly over the range (said by ``SpectrumResult.sampled``). Levels in dBFS (a full-scale
sine at a bin centre reads 0 dBFS), channels averaged in power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from fieldrec.analysis.db import power_to_db
from fieldrec.analysis.features import spectral_peaks
from fieldrec.analysis.spectrum import WelchAccumulator, get_window
from fieldrec.review.frames import TakeReader

FFT_SIZES = (256, 512, 1024, 2048, 4096, 8192, 16384)


@dataclass(frozen=True)
class Spectrogram:
    freqs: np.ndarray  #: Hz, (nfft//2+1,)
    times: np.ndarray  #: centre of each column in seconds from the start of the file
    db: np.ndarray  #: dBFS, (freqs, columns), float32
    start: int  #: first frame of the range
    stop: int  #: end frame of the range (exclusive)


def range_spectrogram(reader: TakeReader, start: int, stop: int, nfft: int = 1024, max_columns: int = 800,
                      channel: int | None = None) -> Spectrogram:
    """Spectrogram of frames [start, stop): ``channel`` None averages all channels' power."""
    start, stop = max(0, int(start)), min(reader.frames, int(stop))
    stop = max(stop, start + 1)
    span = stop - start
    cols = int(max(1, min(max_columns, span // max(1, nfft // 4) or 1)))
    centres = start + (np.arange(cols) + 0.5) * (span / cols)
    firsts = np.round(centres - nfft / 2).astype(np.int64)
    w = get_window("hann", nfft).astype(np.float32)
    scale = (2.0 / float(w.sum())) ** 2
    if span + nfft <= cols * nfft:  # overlapping windows: one contiguous read
        lo = int(firsts[0])
        data = reader.read(lo, int(firsts[-1]) - lo + nfft)
        segs = np.stack([data[f - lo: f - lo + nfft] for f in firsts])
    else:
        segs = np.stack([reader.read(int(f), nfft) for f in firsts])  # (cols, nfft, ch)
    if channel is not None:
        segs = segs[:, :, channel:channel + 1]
    spec = scipy.fft.rfft(segs * w[None, :, None], axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).mean(axis=2) * scale  # (cols, bins)
    db = power_to_db(power.T).astype(np.float32)
    freqs = np.fft.rfftfreq(nfft, 1.0 / reader.samplerate)
    return Spectrogram(freqs, centres / reader.samplerate, db, start, stop)


@dataclass(frozen=True)
class SpectrumResult:
    freqs: np.ndarray  #: Hz
    db: np.ndarray  #: dBFS per bin (power, channels averaged)
    peaks: list[dict[str, float]]  #: [{"hz", "dbfs"}], strongest first
    segments: int  #: FFT segments (x channels) averaged
    sampled: bool  #: True when segments were spread over a long range instead of covering it


def average_spectrum(reader: TakeReader, start: int, stop: int, nfft: int = 4096,
                     max_segments: int = 2000, max_peaks: int = 10) -> SpectrumResult:
    """Averaged power spectrum of frames [start, stop) with its peaks (``analysis.features.spectral_peaks``)."""
    start, stop = max(0, int(start)), min(reader.frames, int(stop))
    span = max(0, stop - start)
    hop = nfft // 2
    acc = WelchAccumulator(reader.samplerate, nfft=nfft, window="hann", overlap=0.5)
    needed = max(0, (span - nfft) // hop + 1)
    if needed <= max_segments:
        for block in reader.blocks(start, stop, 1 << 18):
            acc.process(block)
        sampled = False
        power, segments = acc.power(), acc.segments
        sampled = False
    else:  # spread segments, each windowed alone (never joined across a gap)
        w = get_window("hann", nfft)
        total = np.zeros(nfft // 2 + 1)
        firsts = np.linspace(start, stop - nfft, max_segments).astype(np.int64)
        for i in range(0, firsts.size, 128):
            segs = np.stack([reader.read(int(f), nfft) for f in firsts[i:i + 128]]).astype(np.float64)
            spec = scipy.fft.rfft(segs * w[None, :, None], axis=1)
            total += (spec.real ** 2 + spec.imag ** 2).sum(axis=(0, 2))
        segments = firsts.size * reader.channels
        power = total * (2.0 / w.sum()) ** 2 / segments
        sampled = True
    peaks = spectral_peaks(acc.freqs, power, max_peaks=max_peaks) if segments else []
    return SpectrumResult(acc.freqs, power_to_db(power), peaks, segments, sampled)
