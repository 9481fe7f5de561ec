"""The recordist's metadata model: cleaning, field-named messages, unknown keys kept (CLI and window share it)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from fieldrec.metadata import Metadata, MetadataError, empty_metadata, parse_coordinate, validate_metadata


def test_empty_input_gives_every_field():
    clean, errors = validate_metadata(None)
    assert errors == {}
    assert clean == empty_metadata()
    assert clean["location"] == {"name": "", "latitude": None, "longitude": None, "elevation_m": None,
                                 "accuracy_m": None, "source": None}


def test_full_record_round_trips():
    data = {
        "location": {"name": "  Oak ridge ", "latitude": "47.1", "longitude": 8.5, "grid": "JN47"},
        "equipment": {"recorder": "Zoom F3", "microphone": "2x LOM Uši Pro", "cable": "XLR"},
        "notes": "dawn chorus\nwind from W",
        "tags": ["birds", "dawn", "birds", " "],
        "future_field": {"name": "kept for later model versions"},
    }
    clean, errors = validate_metadata(data)
    assert errors == {}
    assert clean["location"]["name"] == "Oak ridge" and clean["location"]["latitude"] == 47.1
    assert clean["location"]["grid"] == "JN47"  # unknown keys kept at every level
    assert clean["equipment"]["cable"] == "XLR"
    assert clean["equipment"]["microphone"] == "2x LOM Uši Pro"
    assert clean["notes"] == "dawn chorus\nwind from W"
    assert clean["tags"] == ["birds", "dawn"]
    assert clean["future_field"] == {"name": "kept for later model versions"}
    assert validate_metadata(clean) == (clean, {})


def test_every_new_field_validates_and_round_trips():
    data = {
        "project": "Alpine dawn", "session": "day 2", "scene": "12A", "take": "3", "circled": "yes",
        "recordist": "A. Muster", "licence": "CC-BY-4.0",
        "location": {"name": "Ridge", "latitude": 46.5, "longitude": 7.9, "elevation_m": "1834,5",
                     "accuracy_m": 4, "source": "GPS"},
        "time": {"start_utc": "2026-11-25T05:15:00Z", "start_local": "2026-11-25T06:15:00+01:00",
                 "utc_offset": "+01:00", "timezone": "Europe/Zurich"},
        "equipment": {"make": "Sound Devices", "model": "MixPre-6 II", "serial": "X123", "windshield": "fur",
                      "microphones": [{"make": "Sennheiser", "model": "MKH 8040", "serial": "1",
                                       "pattern": "cardioid", "sensitivity_mv_pa": 25}],
                      "channels": [{"index": 2, "name": "R", "function": "right", "preamp_gain_db": 40},
                                   {"index": 1, "name": "L", "function": "LEFT", "microphone": "MKH 8040"}]},
        "environment": {"weather": "clear", "wind": "calm", "temperature_c": -3.5, "humidity_pct": 80,
                        "habitat": "larch forest", "noise": "road far below", "noise_sources": "road, stream"},
        "subject": {"text": "dawn chorus", "labels": ["turmer", "erirub"], "vocabulary": "eBird codes"},
        "tags": "dawn", "notes": "n",
    }
    clean, errors = validate_metadata(data)
    assert errors == {}
    m = Metadata.model_validate(clean)
    assert (m.take, m.circled, m.location.elevation_m, m.location.source) == (3, True, 1834.5, "gps")
    assert [c.index for c in m.equipment.channels] == [1, 2]  # sorted by index
    assert m.equipment.channel(2).function == "RIGHT" and m.equipment.channel(2).preamp_gain_db == 40
    assert m.environment.noise_sources == ["road", "stream"]
    assert m.equipment.microphones[0].sensitivity_mv_pa == 25
    assert Metadata.model_validate(m.model_dump(mode="json")) == m


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"location": {"latitude": 999}}, "location.latitude", "between -90 and 90"),
        ({"location": {"latitude": "-90.5"}}, "location.latitude", "between -90 and 90"),
        ({"location": {"longitude": 180.01}}, "location.longitude", "between -180 and 180"),
        ({"location": {"longitude": "east"}}, "location.longitude", "must be a number"),
        ({"location": {"latitude": "nan"}}, "location.latitude", "between -90 and 90"),
        ({"location": {"latitude": float("inf")}}, "location.latitude", "between -90 and 90"),
        ({"location": {"elevation_m": "high"}}, "location.elevation_m", "elevation must be a number"),
        ({"location": {"accuracy_m": -1}}, "location.accuracy_m", "accuracy must be between 0"),
        ({"location": {"source": "dowsing"}}, "location.source", "'manual', 'gps' or 'imported'"),
        ({"take": 0}, "take", "greater than or equal to 1"),
        ({"take": "three"}, "take", "integer"),
        ({"circled": "perhaps"}, "circled", "boolean"),
        ({"environment": {"humidity_pct": 120}}, "environment.humidity_pct", "humidity must be between 0 and 100"),
        ({"environment": {"temperature_c": "warm"}}, "environment.temperature_c", "temperature"),
        ({"equipment": {"channels": [{"index": 1}, {"index": 1}]}}, "equipment.channels", "once"),
        ({"equipment": {"channels": [{"index": 0}]}}, "equipment.channels.0.index", "greater than or equal to 1"),
        ({"equipment": {"channels": [{"index": 1, "function": "SIDEWAYS"}]}}, "equipment.channels.0.function",
         "LEFT"),
        ({"equipment": {"microphones": [{"sensitivity_mv_pa": "x"}]}},
         "equipment.microphones.0.sensitivity_mv_pa", "sensitivity"),
        ({"time": {"utc_offset": "1 hour"}}, "time.utc_offset", "pattern"),
        ({"project": {"name": "x"}}, "project", "must be text"),
        ({"tags": ["x" * 65]}, "tags", "at most 64 characters"),
    ],
)
def test_bad_values_name_the_field_and_are_emptied(data, field, fragment):
    clean, errors = validate_metadata(data)
    assert field in errors, errors
    assert fragment in errors[field]
    assert "\n" not in str(MetadataError(errors))
    assert validate_metadata(clean)[1] == {}  # what is left is valid
    with pytest.raises(ValidationError):
        Metadata.model_validate(data)


def test_a_bad_field_keeps_the_good_ones():
    clean, errors = validate_metadata({"location": {"name": "Ridge", "latitude": 999}, "scene": "4"})
    assert list(errors) == ["location.latitude"]
    assert clean["location"]["name"] == "Ridge" and clean["scene"] == "4"


def test_not_an_object_is_one_error():
    clean, errors = validate_metadata("text")  # type: ignore[arg-type]
    assert errors == {"metadata": "metadata must be an object, got str"} and clean == empty_metadata()


def test_comma_decimal_and_blank_coordinates():
    assert parse_coordinate("47,25", "latitude") == 47.25
    assert parse_coordinate("  ", "longitude") is None
    assert parse_coordinate(None, "latitude") is None
    with pytest.raises(ValueError, match="decimal degrees"):
        parse_coordinate(True, "latitude")


def test_tags_from_text_and_long_tag_message():
    clean, errors = validate_metadata({"tags": "birds, wind ,, rain"})
    assert clean["tags"] == ["birds", "wind", "rain"] and errors == {}
    _, errors = validate_metadata({"tags": [f"t{i}" for i in range(101)]})
    assert "at most 100" in errors["tags"]


def test_control_characters_are_removed_but_newlines_and_format_characters_kept():
    family = "👨\u200d👩\u200d👧"  # emoji joined by ZERO WIDTH JOINER (a format character)
    clean, _ = validate_metadata({"notes": "a\x00b\x1b[31mc\nd " + family,
                                  "location": {"name": "x\ty\x07 \u05e9\u05dc\u05d5\u05dd"}})
    assert clean["notes"] == "ab[31mc\nd " + family
    assert clean["location"]["name"] == "xy שלום"


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
    clean, errors = validate_metadata({"location": {"name": text}, "notes": text, "equipment": text,
                                       "scene": text})
    assert set(errors) <= {"tags"}
    assert all(ord(c) >= 32 for c in clean["location"]["name"])
