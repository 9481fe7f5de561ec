"""Broadcast WAVE (EBU Tech 3285) ``bext`` chunk contents, for libsndfile's SFC_SET_BROADCAST_INFO.

The bext chunk carries the take's start as date, time and *time reference* (samples since local
midnight), which editors use to line takes up on a timeline. It is known when a take starts, so it is
written into the header before the first sample: it survives a crash like the rest of the header.
"""

import ctypes
import unicodedata
from dataclasses import dataclass
from datetime import datetime

#: Channel counts with a conventional name in the coding history; others are written as "M=<n>ch".
_MODES = {1: "mono", 2: "stereo"}
_BITS = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32}


class _SFBroadcastInfo(ctypes.Structure):
    """Layout of libsndfile's SF_BROADCAST_INFO (sndfile.h, 256-byte coding history)."""

    _fields_ = [
        ("description", ctypes.c_char * 256),
        ("originator", ctypes.c_char * 32),
        ("originator_reference", ctypes.c_char * 32),
        ("origination_date", ctypes.c_char * 10),
        ("origination_time", ctypes.c_char * 8),
        ("time_reference_low", ctypes.c_uint32),
        ("time_reference_high", ctypes.c_uint32),
        ("version", ctypes.c_short),
        ("umid", ctypes.c_char * 64),
        ("loudness_value", ctypes.c_int16),
        ("loudness_range", ctypes.c_int16),
        ("max_true_peak_level", ctypes.c_int16),
        ("max_momentary_loudness", ctypes.c_int16),
        ("max_short_term_loudness", ctypes.c_int16),
        ("reserved", ctypes.c_char * 180),
        ("coding_history_size", ctypes.c_uint32),
        ("coding_history", ctypes.c_char * 256),
    ]


def ascii_text(text: str) -> str:
    """``text`` as printable ASCII, as EBU Tech 3285 requires: accents dropped ("Süd" → "Sud"), other
    characters (emoji, CJK, control) removed, whitespace runs made single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if " " <= ch <= "~" or ch.isspace())
    return " ".join(kept.split())


def _fit(text: str, size: int) -> bytes:
    """ASCII bytes of ``text``, cut to leave room for a terminating NUL."""
    return ascii_text(text).encode("ascii")[: size - 1]


@dataclass(frozen=True)
class BroadcastInfo:
    """What goes into the bext chunk.

    ``origination`` is the local start time of the take; ``time_reference`` the start in samples since
    local midnight (at the file's sample rate); ``coding_history`` one line such as
    ``"A=PCM,F=48000,W=24,M=stereo,T=fieldrec 0.1.0"`` (libsndfile appends its own line).
    Text is stored as ASCII (the standard's rule; readers such as wavinfo reject anything else) via
    ``ascii_text``, cut to the field sizes (description 255 characters, originator 31). The full
    text stays in the sidecar.
    """

    description: str
    originator: str
    originator_reference: str
    origination: datetime
    time_reference: int
    coding_history: str = ""

    @classmethod
    def for_take(cls, start_local: datetime, samplerate: int, channels: int, subtype: str,
                 description: str = "", originator: str = "fieldrec", originator_reference: str = "",
                 software: str = "fieldrec") -> "BroadcastInfo":
        """bext for a take starting at ``start_local`` (an aware or naive local datetime)."""
        midnight = start_local.replace(hour=0, minute=0, second=0, microsecond=0)
        since_midnight = (start_local - midnight).total_seconds()
        mode = _MODES.get(channels, f"{channels}ch")
        history = f"A=PCM,F={samplerate},W={_BITS.get(subtype, 0)},M={mode},T={software}"
        return cls(description, originator, originator_reference, start_local,
                   round(since_midnight * samplerate), history)

    def to_bytes(self) -> bytes:
        """The SF_BROADCAST_INFO struct as libsndfile expects it."""
        info = _SFBroadcastInfo()
        info.description = _fit(self.description, 256)
        info.originator = _fit(self.originator, 32)
        info.originator_reference = _fit(self.originator_reference, 32)
        info.origination_date = self.origination.strftime("%Y-%m-%d").encode("ascii")
        info.origination_time = self.origination.strftime("%H:%M:%S").encode("ascii")
        info.time_reference_low = self.time_reference & 0xFFFFFFFF
        info.time_reference_high = (self.time_reference >> 32) & 0xFFFFFFFF
        info.version = 1
        history = _fit(self.coding_history, 254) + b"\r\n" if self.coding_history else b""
        info.coding_history = history
        info.coding_history_size = len(history)
        return bytes(info)
