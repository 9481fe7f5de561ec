"""Naming: hostile text becomes one safe, readable path component; reserving never overwrites."""

import unicodedata
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrec.storage.errors import StorageError, TemplateError
from fieldrec.storage.naming import (
    MAX_COMPONENT_BYTES,
    expand_template,
    reserve_take_path,
    sanitize_component,
)

WHEN = datetime(2026, 11, 25, 10, 15, 0)


def assert_safe(name: str) -> None:
    assert name
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert ".." not in name
    assert name not in (".", "..")
    assert not name.startswith((".", "-"))
    assert not name.endswith((".", " "))
    assert len(name.encode("utf-8")) <= MAX_COMPONENT_BYTES + 1  # +1 for a "_" after a Windows device name
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name)
    assert not set(name) & set('<>:"|?*')
    assert name.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}


@pytest.mark.parametrize(("text", "expected"), [
    ("../../etc/passwd", "etc-passwd"),
    ("a/b\\c", "a-b-c"),
    ("x\x00y\x1bz\n", "xyz"),
    ("CON", "CON_"),
    ("nul.wav", "nul_.wav"),
    ("Waldrand Süd", "Waldrand-Süd"),
    ("Waldrand Su\u0308d", "Waldrand-Süd"),  # decomposed ü is NFC-normalised
    ("🐦 dawn chorus", "🐦-dawn-chorus"),
    ("...", "untitled"),
    ("", "untitled"),
    ("   ", "untitled"),
    ("-rf", "rf"),
    (".hidden", "hidden"),
    ("x\u202egnp.exe", "xgnp.exe"),  # right-to-left override removed
    ('what? "this": <that>|*', "what-this-that"),
])
def test_sanitize_hostile_names(text: str, expected: str) -> None:
    out = sanitize_component(text)
    assert out == expected
    assert_safe(out)


def test_sanitize_caps_length_without_splitting_characters() -> None:
    for text in ("a" * 500, "ü" * 500, "🐦" * 500):
        out = sanitize_component(text)
        assert len(out.encode("utf-8")) <= MAX_COMPONENT_BYTES
        assert len(out.encode("utf-8")) > MAX_COMPONENT_BYTES - 4
        out.encode("utf-8").decode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_sanitize_property(text: str) -> None:
    out = sanitize_component(text)
    assert_safe(out)
    assert sanitize_component(out) == out  # idempotent
    assert unicodedata.normalize("NFC", out) == out


def test_expand_template_fields_and_collapse() -> None:
    assert expand_template("{date}_{time}_{location}", when=WHEN, location="Oak ridge") == "2026-11-25_101500_Oak-ridge"
    assert expand_template("{date}_{time}_{location}", when=WHEN) == "2026-11-25_101500"
    assert expand_template("{date}_{time}_{location}", when=WHEN, location="  ") == "2026-11-25_101500"
    assert expand_template("{location}_{date}", when=WHEN, location="") == "2026-11-25"
    assert expand_template("{date}_{location}_{time}", when=WHEN) == "2026-11-25_101500"
    assert expand_template("{date}_{take:03d}", when=WHEN, take=7) == "2026-11-25_007"
    assert expand_template("{location}", when=WHEN, location="../../etc/passwd") == "etc-passwd"
    assert expand_template("{location}_{tags}", when=WHEN, location="Süd", tags=["owl", "night"]) == "Süd_owl-night"


def test_expand_template_long_field_keeps_the_rest() -> None:
    out = expand_template("{date}_{time}_{location}_{take}", when=WHEN, location="Waldrand " * 40, take=12)
    assert out.startswith("2026-11-25_101500_Waldrand-") and out.endswith("_12")
    assert len(out.encode("utf-8")) <= 80


def test_expand_template_errors() -> None:
    with pytest.raises(TemplateError, match="unknown field {colour}"):
        expand_template("{date}_{colour}", when=WHEN)
    with pytest.raises(TemplateError, match="not supported"):
        expand_template("{location.__class__}", when=WHEN, location="x")
    with pytest.raises(TemplateError, match="malformed"):
        expand_template("{date", when=WHEN)
    with pytest.raises(TemplateError, match="cannot format"):
        expand_template("{take:03d}", when=WHEN, take="x")


def test_reserve_numbers_collisions_and_never_overwrites(tmp_path) -> None:
    first = reserve_take_path(tmp_path, "take", "wav")
    assert first == tmp_path / "take.wav" and first.stat().st_size == 0
    first.write_bytes(b"precious")
    second = reserve_take_path(tmp_path, "take", ".wav")
    assert second.name == "take-2.wav"
    (tmp_path / "take-3.json").write_text("{}")  # a sidecar without audio also blocks the name
    third = reserve_take_path(tmp_path, "take", "wav")
    assert third.name == "take-4.wav"
    assert first.read_bytes() == b"precious"
    assert reserve_take_path(tmp_path, "../evil", "wav").parent == tmp_path


def test_reserve_bad_folder_and_ext(tmp_path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        reserve_take_path(tmp_path / "missing", "take", "wav")
    with pytest.raises(StorageError, match="extension"):
        reserve_take_path(tmp_path, "take", "json")
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    with pytest.raises(StorageError, match="does not exist"):
        reserve_take_path(not_a_folder, "take", "wav")
    # a read-only folder is tested in tests/integration/test_storage_diskfull.py (read-only mount)


@settings(max_examples=80, deadline=None)
@given(location=st.text(max_size=120), take=st.integers(min_value=0, max_value=10**6))
def test_expand_template_property(location: str, take: int) -> None:
    out = expand_template("{date}_{time}_{location}_{take}", when=WHEN, location=location, take=take)
    assert_safe(out)
    assert out.startswith("2026-11-25_101500_") and out.endswith(str(take))
    assert "__" not in out


@settings(max_examples=60, deadline=None)
@given(stem=st.text(max_size=100))
def test_reserve_stays_in_folder_property(tmp_path_factory, stem: str) -> None:
    folder = tmp_path_factory.mktemp("takes")
    path = reserve_take_path(folder, stem, "wav")
    assert path.parent == folder and path.exists() and path.stat().st_size == 0
    assert reserve_take_path(folder, stem, "wav") != path


def test_a_field_that_sanitises_to_nothing_vanishes_with_its_separator():
    assert expand_template("{project}_{scene}_{take:03d}", project="..", scene="/", take=7) == "007"
    assert expand_template("{project}_{scene}", project="../Alps/..", scene="1/2") == "Alps_1-2"
