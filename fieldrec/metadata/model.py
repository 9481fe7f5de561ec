"""Validation of the take metadata dict (see docs/sidecar.schema.json, ``metadata``).

``validate_metadata`` never raises for bad values: it returns the cleaned dict and a mapping from field path
(``"location.latitude"``) to a message a person can act on, so a form can show the message at the field and
the CLI can print it on one line.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Any

MAX_NOTES_CHARS = 20_000
MAX_TEXT_CHARS = 500
MAX_TAG_CHARS = 64
MAX_TAGS = 100


class MetadataError(ValueError):
    """Invalid metadata; ``str(err)`` is one line naming the field."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def empty_metadata() -> dict[str, Any]:
    """A metadata dict with every field present and empty."""
    return {
        "location": {"name": "", "latitude": None, "longitude": None},
        "equipment": {"recorder": "", "microphone": ""},
        "notes": "",
        "tags": [],
    }


def _clean_text(value: Any, limit: int, *, multiline: bool = False) -> str:
    text = "" if value is None else str(value)
    text = unicodedata.normalize("NFC", text)
    allowed = {"\n", "\t"} if multiline else set()
    text = "".join(ch for ch in text if ch in allowed or unicodedata.category(ch)[0] != "C")
    text = text.strip() if not multiline else text.strip("\n\r\t ")
    return text[:limit]


def parse_coordinate(value: Any, kind: str) -> float | None:
    """Parse a latitude (``kind="latitude"``, ±90) or longitude (±180) in decimal degrees.

    Empty input gives ``None``. Raises ``ValueError`` with a one-line message for anything else that is not a
    finite number in range.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    limit = 90.0 if kind == "latitude" else 180.0
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{kind} must be a number in decimal degrees, got {str(value)[:40]!r}") from None
    if not math.isfinite(number) or abs(number) > limit:
        raise ValueError(f"{kind} must be between -{limit:g} and {limit:g} degrees, got {number:g}")
    return round(number, 7)


def _clean_tags(value: Any) -> tuple[list[str], str | None]:
    if value is None:
        return [], None
    items = value.split(",") if isinstance(value, str) else list(value)
    tags: list[str] = []
    for item in items:
        tag = _clean_text(item, 10 * MAX_TAG_CHARS)
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            return tags, f"a tag may have at most {MAX_TAG_CHARS} characters ({tag[:20]!r}…)"
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        return tags[:MAX_TAGS], f"at most {MAX_TAGS} tags"
    return tags, None


def validate_metadata(data: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean and check a metadata dict.

    Returns ``(clean, errors)``. ``clean`` always has every field (invalid values replaced by empty ones);
    ``errors`` maps a field path to a message. Unknown top-level keys are kept as they are (the model grows).
    """
    data = dict(data or {})
    clean = empty_metadata()
    errors: dict[str, str] = {}

    location = data.pop("location", None) or {}
    if not isinstance(location, dict):
        errors["location"] = "location must be an object with name, latitude and longitude"
        location = {}
    clean["location"]["name"] = _clean_text(location.get("name"), MAX_TEXT_CHARS)
    for kind in ("latitude", "longitude"):
        try:
            clean["location"][kind] = parse_coordinate(location.get(kind), kind)
        except ValueError as err:
            errors[f"location.{kind}"] = str(err)
    for key, value in location.items():
        if key not in clean["location"]:
            clean["location"][key] = value

    equipment = data.pop("equipment", None) or {}
    if isinstance(equipment, str):
        equipment = {"recorder": equipment}
    if not isinstance(equipment, dict):
        errors["equipment"] = "equipment must be an object with recorder and microphone"
        equipment = {}
    for key in ("recorder", "microphone"):
        clean["equipment"][key] = _clean_text(equipment.get(key), MAX_TEXT_CHARS)

    clean["notes"] = _clean_text(data.pop("notes", ""), MAX_NOTES_CHARS, multiline=True)
    clean["tags"], tag_error = _clean_tags(data.pop("tags", None))
    if tag_error:
        errors["tags"] = tag_error

    clean.update(data)  # fields of later model versions travel untouched
    return clean, errors


def new_take_metadata(
    location: str = "",
    latitude: float | str | None = None,
    longitude: float | str | None = None,
    recorder: str = "",
    microphone: str = "",
    notes: str = "",
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """The metadata dict from plain values (the CLI's flags)."""
    return {
        "location": {"name": location, "latitude": latitude, "longitude": longitude},
        "equipment": {"recorder": recorder, "microphone": microphone},
        "notes": notes,
        "tags": list(tags or []),
    }
