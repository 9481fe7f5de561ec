"""The take metadata: cleaning and field-named messages (shared by the CLI and the window)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldrec.metadata import MetadataError, empty_metadata, parse_coordinate, validate_metadata


def test_empty_input_gives_every_field():
    clean, errors = validate_metadata(None)
    assert errors == {}
    assert clean == empty_metadata()


def test_full_record_round_trips():
    data = {
        "location": {"name": "  Oak ridge ", "latitude": "47.1", "longitude": 8.5},
        "equipment": {"recorder": "Zoom F3", "microphone": "2x LOM Uši Pro"},
        "notes": "dawn chorus\nwind from W",
        "tags": ["birds", "dawn", "birds", " "],
        "project": {"name": "kept for later model versions"},
    }
    clean, errors = validate_metadata(data)
    assert errors == {}
    assert clean["location"] == {"name": "Oak ridge", "latitude": 47.1, "longitude": 8.5}
    assert clean["equipment"]["microphone"] == "2x LOM Uši Pro"
    assert clean["notes"] == "dawn chorus\nwind from W"
    assert clean["tags"] == ["birds", "dawn"]
    assert clean["project"] == {"name": "kept for later model versions"}


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("latitude", 999, "between -90 and 90"),
        ("latitude", "-90.5", "between -90 and 90"),
        ("longitude", 180.01, "between -180 and 180"),
        ("longitude", "east", "must be a number"),
        ("latitude", "nan", "between -90 and 90"),
        ("latitude", float("inf"), "between -90 and 90"),
    ],
)
def test_bad_coordinates_name_the_field(field, value, fragment):
    clean, errors = validate_metadata({"location": {field: value}})
    assert list(errors) == [f"location.{field}"]
    assert fragment in errors[f"location.{field}"]
    assert clean["location"][field] is None
    assert "\n" not in str(MetadataError(errors))


def test_comma_decimal_and_blank_coordinates():
    assert parse_coordinate("47,25", "latitude") == 47.25
    assert parse_coordinate("  ", "longitude") is None
    assert parse_coordinate(None, "latitude") is None


def test_tags_from_text_and_long_tag_message():
    clean, errors = validate_metadata({"tags": "birds, wind ,, rain"})
    assert clean["tags"] == ["birds", "wind", "rain"] and errors == {}
    _, errors = validate_metadata({"tags": ["x" * 65]})
    assert "at most 64 characters" in errors["tags"]


def test_control_characters_are_removed_but_newlines_kept_in_notes():
    clean, _ = validate_metadata({"notes": "a\x00b\x1b[31mc\nd", "location": {"name": "x\ty\x07"}})
    assert clean["notes"] == "ab[31mc\nd"
    assert clean["location"]["name"] == "xy"


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_latitude_is_accepted_only_in_range(value):
    try:
        out = parse_coordinate(value, "latitude")
    except ValueError as err:
        assert not (math.isfinite(value) and abs(value) <= 90)
        assert "latitude" in str(err)
    else:
        assert out is not None and abs(out) <= 90


@given(st.text(max_size=300))
def test_any_text_is_cleaned_without_error(text):
    clean, errors = validate_metadata({"location": {"name": text}, "notes": text, "equipment": text})
    assert set(errors) <= {"tags"}
    assert all(ord(c) >= 32 for c in clean["location"]["name"])
