"""The one table of recording formats: CLI name, label, container, libsndfile subtype, sample type, widths.

Everything that needs to know about a format (the CLI's ``--format``, the window's format list, the writer,
disk-space estimates, clip levels, the sidecar schema) reads it from here. Import-light and Qt-free: no
audio, storage or analysis imports, so every floor may use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """One recording format. ``bits`` of the stored sample; ``dtype`` the capture delivers so the file is
    bit-exact; ``sample_bytes`` per sample on disk (uncompressed); ``clip_level`` the |x| (full scale 1.0)
    at or above which a sample counts as clipped."""

    name: str
    label: str
    container: str
    subtype: str
    bits: int
    dtype: str
    sample_bytes: int
    is_float: bool = False

    @property
    def clip_level(self) -> float:
        if self.is_float:
            return 1.0
        return pcm_clip_level(self.bits)


def pcm_clip_level(bits: int) -> float:
    """(2^(bits-1) - 1) / 2^(bits-1): the largest positive integer sample, e.g. 32767/32768 for 16 bit."""
    full = float(1 << (bits - 1))
    return (full - 1.0) / full


#: CLI name -> format, in the order people are offered them.
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("wav16", "WAV 16-bit", "wav", "PCM_16", 16, "int16", 2),
        Format("wav24", "WAV 24-bit", "wav", "PCM_24", 24, "int32", 3),
        Format("wav32", "WAV 32-bit", "wav", "PCM_32", 32, "int32", 4),
        Format("float", "WAV 32-bit float", "wav", "FLOAT", 32, "float32", 4, is_float=True),
        Format("flac16", "FLAC 16-bit", "flac", "PCM_16", 16, "int16", 2),
        Format("flac24", "FLAC 24-bit", "flac", "PCM_24", 24, "int32", 3),
    )
}
#: Other spellings the CLI accepts.
ALIASES = {"wavf32": "float", "flac": "flac24", "wav": "wav24"}
#: libsndfile subtype -> stored bits, for files fieldrec did not write (analysis of any PCM file).
PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "DPCM_8": 8, "DPCM_16": 16}
CONTAINERS = tuple(dict.fromkeys(f.container for f in FORMATS.values()))
SUBTYPES = tuple(dict.fromkeys(f.subtype for f in FORMATS.values()))
COMMON_RATES = (44100, 48000, 88200, 96000, 176400, 192000)


class FormatError(ValueError):
    """An unknown format; ``str(err)`` is one line naming the choices."""


def format_by_name(name: str) -> Format:
    """The format for a CLI name such as ``wav24`` (case, ``-`` and ``_`` ignored); raises FormatError."""
    key = name.lower().replace("-", "").replace("_", "")
    key = ALIASES.get(key, key)
    try:
        return FORMATS[key]
    except KeyError:
        raise FormatError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}") from None


def format_for(container: str, subtype: str) -> Format:
    """The format stored as ``container``/``subtype`` (e.g. ``"wav"``, ``"PCM_24"``); raises FormatError."""
    for f in FORMATS.values():
        if f.container == container and f.subtype == subtype:
            return f
    raise FormatError(f"{container.upper()} {subtype} is not offered; choose one of: "
                      + ", ".join(f.label for f in FORMATS.values()))


def clip_level_for_subtype(subtype: str) -> float:
    """Clip level for any libsndfile subtype (integer PCM by its bits; float and lossy: 1.0)."""
    bits = PCM_BITS.get(subtype)
    return pcm_clip_level(bits) if bits else 1.0


def sample_bytes(subtype: str) -> int:
    """Bytes per stored sample of a subtype fieldrec records; raises FormatError for others."""
    for f in FORMATS.values():
        if f.subtype == subtype:
            return f.sample_bytes
    raise FormatError(f"unknown subtype {subtype!r}; use one of {', '.join(SUBTYPES)}")


def capture_dtype(subtype: str) -> str:
    """NumPy dtype the capture delivers for a bit-exact file of ``subtype`` (PCM_24 keeps the top 24 bits
    of int32)."""
    for f in FORMATS.values():
        if f.subtype == subtype:
            return f.dtype
    raise FormatError(f"unknown subtype {subtype!r}; use one of {', '.join(SUBTYPES)}")
