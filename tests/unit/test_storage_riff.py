"""The tolerant RIFF reader and the chunk parsers, on bytes shaped like real recorders' mistakes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from fieldrec.metadata import Metadata
from fieldrec.metadata.presets import (
    PresetError,
    delete_preset,
    list_presets,
    load_preset,
    merge,
    save_preset,
)
from fieldrec.metadata.sidecar import Sidecar
from fieldrec.storage.chunk_map import metadata_from_embedded, read_embedded
from fieldrec.storage.chunks import Bext, description_lines, guano_parse, ixml_parse, parse_description
from fieldrec.storage.embed import embed_in_place, rewrite_with_chunks, take_hashes
from fieldrec.storage.errors import StorageError
from fieldrec.storage.riff import (
    SMALL_FILE_BYTES,
    RiffError,
    hash_wav,
    iter_subchunks,
    pack_chunk,
    pack_list,
    read_riff,
)
from fieldrec.storage.take_file import finalise_file

FMT = pack_chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16))
DATA = pack_chunk(b"data", b"\x01\x02" * 50)


def wav(path: Path, *chunks: bytes, size_error: int = 0) -> Path:
    body = b"WAVE" + b"".join(chunks)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + size_error) + body)
    return path


def test_riff_size_a_few_bytes_wrong_and_odd_chunk_without_pad(tmp_path):
    odd = b"ODD1" + struct.pack("<I", 3) + b"xyz"  # no pad byte
    path = wav(tmp_path / "a.wav", FMT, odd, pack_chunk(b"guan", b"GUANO|Version:1.0\nNote:hi\n"), DATA,
               size_error=-3)
    riff = read_riff(path)
    assert [c.id for c in riff.chunks] == [b"fmt ", b"ODD1", b"guan", b"data"]
    assert any("no pad byte" in p for p in riff.problems) and any("RIFF size" in p for p in riff.problems)
    assert riff.read(riff.data) == b"\x01\x02" * 50
    assert read_embedded(riff).guano == {"GUANO|Version": "1.0", "Note": "hi"}


def test_garbage_and_truncated_chunks_are_problems_not_crashes(tmp_path):
    path = wav(tmp_path / "b.wav", FMT, DATA, b"\x00\x01\x02\x03garbage!")
    assert any("garbage" in p for p in read_riff(path).problems)
    path = wav(tmp_path / "c.wav", FMT, DATA, b"bext" + struct.pack("<I", 9999) + b"short")
    riff = read_riff(path)
    assert riff.chunks[-1].truncated and any("cut off" in p for p in riff.problems)
    (tmp_path / "d.wav").write_bytes(b"OggS not a wave file")
    with pytest.raises(RiffError, match="not a WAVE file"):
        read_riff(tmp_path / "d.wav")
    with pytest.raises(RiffError, match="cannot open"):
        read_riff(tmp_path / "missing.wav")
    with pytest.raises(RiffError, match="no data chunk"):
        read_riff(wav(tmp_path / "e.wav", FMT)).data  # noqa: B018


def test_rf64_sizes_come_from_ds64(tmp_path):
    audio = b"\x05\x06" * 20
    ds64 = pack_chunk(b"ds64", struct.pack("<QQQI", 0, len(audio), 20, 0))
    body = b"WAVE" + ds64 + FMT + b"data" + struct.pack("<I", 0xFFFFFFFF) + audio
    path = tmp_path / "r.wav"
    path.write_bytes(b"RF64" + struct.pack("<I", 0xFFFFFFFF) + body)
    riff = read_riff(path)
    assert riff.data.size == len(audio) and riff.read(riff.data) == audio
    result = embed_in_place(path, [("guan", pack_chunk(b"guan", b"GUANO|Version: 1.0\n"))])
    riff = read_riff(path)
    assert riff.riff_size + 8 == riff.file_size == result.bytes and riff.find(b"guan") is not None


def test_bext_description_with_garbage_after_nul_and_non_ascii(tmp_path):
    raw = bytearray(Bext(description="sSCENE=4\r\nsTAKE=2\r\n", originator="Zo\xebm").pack())
    raw[30:40] = b"\0\xff\xfegarbage"
    raw[256:261] = "Zoë".encode()[:5].ljust(5, b"\0")
    b = Bext.parse(bytes(raw))
    assert b.description_fields() == {"SCENE": "4", "TAKE": "2"} and b.originator == "Zoë"
    latin = bytearray(raw)
    latin[256:260] = b"Zo\xebm"
    assert Bext.parse(bytes(latin)).originator == "Zoëm"  # not UTF-8: latin-1
    assert parse_description("dSCENE=7\nzTAKE=3\nno key here\nsNOTE=a=b") == {"SCENE": "7", "TAKE": "3",
                                                                               "NOTE": "a=b"}


def test_description_fits_256_ascii_bytes_and_cuts_the_note_last():
    text = description_lines([("SCENE", "1"), ("TAKE", "002"), ("NOTE", "ü" + "n" * 400)])
    assert len(text.encode("ascii")) <= 256 and text.startswith("sSCENE=1\r\nsTAKE=002\r\nsNOTE=un")
    assert text.endswith("\r\n")


def test_guano_without_space_and_malformed_ixml():
    assert guano_parse(b"GUANO|Version:1.0\nNote:a\\nb\nLoc Position:1 2\n\0pad") == {
        "GUANO|Version": "1.0", "Note": "a\nb", "Loc Position": "1 2"}
    with pytest.raises(ValueError, match="not well-formed"):
        ixml_parse(b"<BWFXML><NOTE>x</BWFXML>")


def test_a_malformed_ixml_is_reported_and_the_rest_is_read(tmp_path):
    path = wav(tmp_path / "m.wav", FMT, pack_chunk(b"iXML", b"<BWFXML><SCENE>1</BWFXML>"),
               pack_chunk(b"bext", Bext(description="sSCENE=9\r\n").pack()), DATA)
    e = read_embedded(read_riff(path))
    assert any("iXML" in p and "malformed" in p for p in e.problems)
    meta, _ = metadata_from_embedded(e)
    assert meta["scene"] == "9"


def test_list_subchunks_tolerate_missing_pad():
    body = b"INFO" + b"INAM" + struct.pack("<I", 3) + b"abc" + b"ICMT" + struct.pack("<I", 2) + b"hi"
    assert iter_subchunks(body) == [(b"INAM", b"abc"), (b"ICMT", b"hi")]
    assert iter_subchunks(pack_list(b"INFO", [(b"INAM", b"abc")])[8:]) == [(b"INAM", b"abc")]
    with pytest.raises(ValueError, match="4 bytes"):
        pack_chunk(b"toolong", b"")


@pytest.mark.parametrize("size", [100, SMALL_FILE_BYTES + 2])  # one read in this thread; two threads
def test_both_hash_paths_give_the_digests_of_the_bytes_with_progress(tmp_path, size):
    import hashlib
    samples = bytes(range(256)) * (size // 256) + b"\x07" * (size % 256)
    path = wav(tmp_path / "h.wav", FMT, b"data" + struct.pack("<I", len(samples)) + samples)
    seen = []
    got = hash_wav(path, progress=lambda done, total: seen.append((done, total)))
    assert got == (hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(samples).hexdigest())
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)


def test_hashes_and_embedding_refusals(tmp_path):
    path = wav(tmp_path / "h.wav", FMT, DATA)
    import hashlib
    assert hash_wav(path) == (hashlib.sha256(path.read_bytes()).hexdigest(),
                              hashlib.sha256(b"\x01\x02" * 50).hexdigest())
    assert take_hashes(path) == hash_wav(path)
    short = wav(tmp_path / "s.wav", FMT, b"data" + struct.pack("<I", 1000) + b"\0" * 10)
    with pytest.raises(StorageError, match="runs past the end"):
        embed_in_place(short, [])
    with pytest.raises(StorageError, match="refusing to edit"):
        rewrite_with_chunks(short, [], None)
    with pytest.raises(StorageError, match="no longer matches"):
        rewrite_with_chunks(path, [], "0" * 64)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_finalise_file_turns_an_embedding_failure_into_a_warning(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(b"not a wave at all")
    sc = Sidecar(file={"name": "x.wav"}, audio={"samplerate": 8000, "channels": 1, "container": "wav",
                                                "subtype": "PCM_16"})
    out, warning = finalise_file(path, sc)
    assert "not embedded" in warning and out.file.sha256 is None
    assert path.read_bytes() == b"not a wave at all"


def test_presets_round_trip_and_refuse_bad_names(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    save_preset("field kit", {"equipment": {"recorder": "F3"}, "project": "P"})
    assert list_presets() == ["field kit"] and load_preset("field kit")["project"] == "P"
    merged = merge(load_preset("field kit"), {"equipment": {"microphone": "M"}, "project": "Q"})
    assert Metadata.model_validate(merged).equipment.recorder == "F3" and merged["project"] == "Q"
    for bad in ("../x", "a/b", ""):
        with pytest.raises(PresetError, match="not allowed"):
            save_preset(bad, {})
    with pytest.raises(PresetError, match="latitude"):
        save_preset("bad", {"location": {"latitude": 100}})
    (tmp_path / "fieldrec" / "presets" / "broken.json").write_text("{not json")
    with pytest.raises(PresetError, match="cannot be read"):
        load_preset("broken")
    (tmp_path / "fieldrec" / "presets" / "empty.json").write_text("[]")
    with pytest.raises(PresetError, match="no metadata"):
        load_preset("empty")
    (tmp_path / "fieldrec" / "presets" / "invalid.json").write_text('{"metadata": {"take": 0}}')
    with pytest.raises(PresetError, match="take"):
        load_preset("invalid")
    delete_preset("field kit")
    with pytest.raises(PresetError, match="no preset"):
        delete_preset("field kit")
    with pytest.raises(PresetError, match="no preset named"):
        load_preset("field kit")


def test_guano_accuracy_is_the_68_percent_radius_when_the_location_says_95():
    from fieldrec.metadata.model import Location
    from fieldrec.storage.chunk_map import guano_accuracy_m

    assert guano_accuracy_m(Location(accuracy_m=10.0)) == 10.0  # typed by hand: no convention stated
    assert guano_accuracy_m(Location(accuracy_m=10.0, accuracy_confidence=0.95)) == 6.17
    assert guano_accuracy_m(Location(accuracy_m=10.0, accuracy_confidence=0.95, accuracy_68_m=6.2)) == 6.2


def test_a_bext_start_is_its_date_plus_time_reference_else_its_time():
    from datetime import datetime

    from fieldrec.storage.chunk_map import bext_start
    day = "2026-05-03"
    assert bext_start(Bext(origination_date=day, time_reference=6 * 3600 * 48000 + 24000), 48000) == \
        datetime(2026, 5, 3, 6, 0, 0, 500000)
    assert bext_start(Bext(origination_date=day, origination_time="06-01-02"), 48000) == datetime(2026, 5, 3, 6, 1, 2)
    assert bext_start(Bext(origination_date=day, origination_time="late"), None) == datetime(2026, 5, 3)
    assert bext_start(Bext(origination_date="", origination_time="06:00:00"), 48000) is None
