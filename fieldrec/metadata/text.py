"""Cleaning of text a recordist typed: NFC, control characters dropped, length capped.

Used by the model's validators, so every way into a sidecar (CLI flags, the window, ``fieldrec edit``,
``fieldrec import``) stores text the same way. Newlines and tabs survive only in multi-line fields (notes).
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

#: Longest notes text in characters.
MAX_NOTES_CHARS = 20_000
#: Longest one-line text field in characters (a 300-character location fits).
MAX_TEXT_CHARS = 500
#: Longest tag / label in characters.
MAX_TAG_CHARS = 64
#: Most tags / labels in one list.
MAX_TAGS = 100


def clean_text(value: Any, limit: int = MAX_TEXT_CHARS, *, multiline: bool = False) -> str:
    """``value`` as NFC text without control characters (``\\n`` and ``\\t`` kept when ``multiline``),
    stripped, at most ``limit`` characters. ``None`` gives ``""``."""
    text = "" if value is None else str(value)
    text = unicodedata.normalize("NFC", text)
    allowed = {"\n", "\t"} if multiline else set()
    text = "".join(ch for ch in text if ch in allowed or unicodedata.category(ch) not in ("Cc", "Cs"))
    text = text.strip("\n\r\t ") if multiline else text.strip()
    return text[:limit]


def clean_list(value: Any, limit: int = MAX_TAG_CHARS, what: str = "a tag") -> list[str]:
    """A list of distinct, cleaned, non-empty strings from a list or comma-separated text.

    Raises ``ValueError`` (one line) for an item longer than ``limit`` or more than ``MAX_TAGS`` items.
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        text = clean_text(item, 10 * limit)
        if not text:
            continue
        if len(text) > limit:
            raise ValueError(f"{what} may have at most {limit} characters ({text[:20]!r}…)")
        if text not in out:
            out.append(text)
    if len(out) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} items")
    return out


def parse_number(value: Any, what: str, low: float | None = None, high: float | None = None) -> float | None:
    """A finite float from a number or text (``"47,25"`` allowed); empty gives ``None``.

    Raises ``ValueError`` naming ``what`` when it is not a number or outside ``[low, high]``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        number = float(value.strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {number}")
    if (low is not None and number < low) or (high is not None and number > high):
        lo = "" if low is None else f"{low:g}"
        hi = "" if high is None else f"{high:g}"
        raise ValueError(f"{what} must be between {lo} and {hi}, got {number:g}")
    return number


def parse_coordinate(value: Any, kind: str) -> float | None:
    """A latitude (``kind="latitude"``, ±90) or longitude (±180) in decimal degrees, rounded to 1e-7°.

    Empty input gives ``None``; anything else that is not a finite number in range raises ``ValueError``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    limit = 90.0 if kind == "latitude" else 180.0
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value.strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{kind} must be a number in decimal degrees, got {str(value)[:40]!r}") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise ValueError(f"{kind} must be between -{limit:g} and {limit:g} degrees, got {number:g}")
    return round(number, 7)
