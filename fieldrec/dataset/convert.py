"""Convert: stream a take through channel selection, soxr resampling and gain, then quantise with TPDF dither.

Nothing here holds a whole take: ``converted_blocks`` yields float32 blocks (frames, channels) at the
output rate, read ``block_frames`` source frames at a time and resampled by ``soxr.ResampleStream``
(quality VHQ by default). ``Quantiser`` turns float blocks into the integers a PCM file holds: rounding,
plus TPDF dither of +-1 LSB only when the output has fewer bits than the source, from a generator seeded by
the source's SHA-256 and the output's index, so reruns are bit-identical. ``open_output`` writes a file
with nothing time-dependent in it (libsndfile's PEAK chunk, which holds a time stamp, is turned off).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from fieldrec.analysis.loudness import LoudnessMeter
from fieldrec.dataset.params import ConvertParams
from fieldrec.dataset.records import TakeRecord
from fieldrec.storage.reader import iter_blocks
from fieldrec.storage.wav_writer import send_command

#: bits of precision of a libsndfile subtype (float: 24-bit mantissa, counted as more than any PCM we write)
SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}
SFC_SET_ADD_PEAK_CHUNK = 0x1050
SF_FALSE = 0


def output_rate(take: TakeRecord, params: ConvertParams) -> int:
    return int(params.samplerate or take.samplerate)


def output_channels(take: TakeRecord, params: ConvertParams) -> int:
    """Channels in the converted stream (``split`` keeps all; each output then takes one)."""
    if params.channels == "mono" or isinstance(params.channels, int):
        return 1
    return take.channels


def check_params(take: TakeRecord, params: ConvertParams) -> str | None:
    """Why ``params`` cannot apply to ``take`` (one line), or None."""
    if isinstance(params.channels, int) and params.channels > take.channels:
        return f"channel {params.channels} asked for but the take has {take.channels}"
    return None


def _pick(block: np.ndarray, channels: str | int) -> np.ndarray:
    if channels == "mono" and block.shape[1] >= 8:  # numpy sums 8 or more values pairwise
        return block.mean(axis=1, dtype=np.float32, keepdims=True)
    if channels == "mono":  # the same values as block.mean(axis=1) (float32, added in order), 10x faster
        mix = np.array(block[:, 0], dtype=np.float32)
        for c in range(1, block.shape[1]):
            mix += block[:, c]
        mix /= np.float32(block.shape[1])
        return mix[:, None]
    if isinstance(channels, int):
        return block[:, channels - 1 : channels]
    return block


def converted_blocks(take: TakeRecord, params: ConvertParams, gain: float = 1.0) -> Iterator[np.ndarray]:
    """The take at the output rate and channel layout, float32 (frames, channels), times ``gain``."""
    rate_in, rate_out = take.samplerate, output_rate(take, params)
    info, blocks = iter_blocks(take.audio_path, params.block_frames)
    stream = None
    if rate_out != rate_in:
        stream = soxr.ResampleStream(rate_in, rate_out, output_channels(take, params), dtype="float32",
                                     quality=params.quality)
    g = np.float32(gain)
    for block in blocks:
        x = np.ascontiguousarray(_pick(block, params.channels))
        if stream is not None:
            x = stream.resample_chunk(x)
        if gain != 1.0:
            x = x * g
        if len(x):
            yield x
    if stream is not None:
        tail = stream.resample_chunk(np.zeros((0, output_channels(take, params)), dtype=np.float32), last=True)
        if len(tail):
            yield tail * g if gain != 1.0 else tail


def normalisation_gain(take: TakeRecord, params: ConvertParams) -> tuple[float, dict[str, Any] | None]:
    """(linear gain, record of the measurement) for ``params.normalize``; an extra pass over the take.

    Peak: the converted stream's sample peak brought to the target dBFS. LUFS: its integrated loudness
    (ITU-R BS.1770-4) brought to the target. Silence (no level) gets gain 1.
    """
    if params.normalize is None:
        return 1.0, None
    kind, target = params.normalize
    rate = output_rate(take, params)
    if kind == "peak":
        peak = 0.0
        for x in converted_blocks(take, params):
            peak = max(peak, float(np.max(np.abs(x))))
        level = 20 * np.log10(peak) if peak > 0 else None
    else:
        meter = LoudnessMeter(rate, output_channels(take, params))
        for x in converted_blocks(take, params):
            meter.process(x)
        value = meter.integrated_lufs()
        level = float(value) if np.isfinite(value) else None
    if level is None:
        return 1.0, {"kind": kind, "target": target, "measured": None, "gain_db": 0.0}
    gain_db = float(target - level)
    return float(10 ** (gain_db / 20)), {"kind": kind, "target": target, "measured": float(level),
                                          "gain_db": gain_db}


def dither_seed(source_sha256: str, output_index: int) -> list[int]:
    """The dither generator's seed: the first 128 bits of the source hash and the output's index."""
    words = [int(source_sha256[i : i + 8], 16) for i in range(0, 32, 8)]
    return [*words, int(output_index)]


class Quantiser:
    """Float blocks (full scale 1.0) to the sample values of ``subtype``: int16 for PCM_16, int32 with the
    24 bits in the top for PCM_24, float32 unchanged for FLOAT. Values are rounded to the nearest step after
    adding TPDF dither (difference of two uniform variables, +-1 LSB peak) when ``dither``; then clipped to
    the integer range (``clipped`` counts clipped samples)."""

    def __init__(self, subtype: str, dither: bool, seed: list[int]) -> None:
        self.subtype = subtype
        self.bits = {"PCM_16": 16, "PCM_24": 24}.get(subtype)
        self.dither = bool(dither and self.bits is not None)
        self.rng = np.random.default_rng(seed)
        self.clipped = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.bits is None:
            return np.asarray(x, dtype=np.float32)
        scale = float(1 << (self.bits - 1))
        y = x.astype(np.float64) * scale
        if self.dither:
            y += self.rng.random(y.shape) - self.rng.random(y.shape)
        q = np.rint(y)
        over = (q > scale - 1) | (q < -scale)
        if over.any():
            self.clipped += int(over.sum())
            np.clip(q, -scale, scale - 1, out=q)
        if self.bits == 16:
            return q.astype(np.int16)
        return q.astype(np.int32) << 8

    def to_float(self, q: np.ndarray) -> np.ndarray:
        """What a reader gets back from the file for ``q``, as float32 (full scale 1.0)."""
        if self.bits is None:
            return q
        return (q.astype(np.float32) * np.float32(1.0 / 2147483648.0 if self.bits == 24 else 1.0 / 32768.0))


def will_dither(take: TakeRecord, params: ConvertParams) -> bool:
    """Dither only when the output holds fewer bits than the source (e.g. 24-bit or float to 16-bit)."""
    out_bits = SUBTYPE_BITS.get(params.subtype, 32)
    return params.subtype != "FLOAT" and out_bits < SUBTYPE_BITS.get(take.subtype, 32)


class OutputFile:
    """A new audio file at ``path`` (a temporary name; the caller renames it into place), written by
    libsndfile through a Python file object: closing then skips libsndfile's fsync of every file (a
    window export writes thousands of small files; the journal's SHA-256 check catches a file lost to
    a power cut, and that take is redone)."""

    def __init__(self, path: Path, samplerate: int, channels: int, params: ConvertParams) -> None:
        fmt = "FLAC" if params.container == "flac" else "WAV"
        self._fh = open(path, "wb")  # noqa: SIM115 (closed in close())
        try:
            self._sf = sf.SoundFile(self._fh, "w", samplerate=samplerate, channels=channels,
                                    subtype=params.subtype, format=fmt)
        except BaseException:
            self._fh.close()
            raise
        if fmt == "WAV":
            send_command(self._sf, SFC_SET_ADD_PEAK_CHUNK, SF_FALSE)  # the PEAK chunk carries the time of writing

    def write(self, data: np.ndarray) -> None:
        self._sf.write(data)

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def close(self) -> None:
        if not self._fh.closed:
            try:
                self._sf.close()
            finally:
                self._fh.close()


def open_output(path: Path, samplerate: int, channels: int, params: ConvertParams) -> OutputFile:
    """A new audio file at ``path`` (see ``OutputFile``)."""
    return OutputFile(path, samplerate, channels, params)


def temp_path(final: Path) -> Path:
    """A hidden temporary name beside ``final`` for this process (renamed with os.replace when done)."""
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")
