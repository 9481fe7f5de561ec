"""The chunks fieldrec embeds, read back by independent readers (wavinfo, ffprobe, mediainfo, sox, soundfile,
guano-py), with hostile text, and cut off by a kill at every stage of embedding.

guano-py opens files with the standard library's ``wave``, which refuses WAVE_FORMAT_EXTENSIBLE (what
libsndfile writes in RF64 mode) before Python 3.12; so the test takes the ``guan`` chunk's bytes with its own
small RIFF walk (``_chunks_by_struct`` below, not fieldrec's reader) and hands them to
``guano.GuanoFile.from_string``, the reference parser of the GUANO text itself.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import guano
import numpy as np
import pytest
import soundfile as sf
import wavinfo

from fieldrec.metadata import Metadata, finish_sidecar, new_sidecar
from fieldrec.storage.chunk_map import build_chunks, metadata_from_embedded, read_embedded
from fieldrec.storage.embed import embed_in_place, take_hashes
from fieldrec.storage.riff import read_riff
from fieldrec.storage.take_file import finalise_file, rewrite_take
from fieldrec.storage.wav_writer import TakeWriter

HOSTILE_NOTE = "a </NOTE> b < c & d\nsecond line: with colon\x00 NUL, emoji 🐦‍⬛ and RTL שלום עולם \u202e!"
FULL = {
    "project": "Alps & <Dawn>", "session": "day 2", "scene": "12A", "take": 7, "circled": True,
    "recordist": "Zoë Müller", "licence": "CC-BY-4.0",
    "location": {"name": "Ridge " + "x" * 294, "latitude": 46.5012345, "longitude": 7.9012345,
                 "elevation_m": 1834.5, "accuracy_m": 4.0, "source": "gps"},
    "equipment": {"recorder": "MixPre-6 II", "microphone": "2x MKH 8040", "make": "Sound Devices",
                  "model": "MixPre-6 II", "serial": "S123", "windshield": "fur",
                  "microphones": [{"make": "Sennheiser", "model": "MKH 8040", "serial": "1", "pattern": "cardioid",
                                   "sensitivity_mv_pa": 25.0}],
                  "channels": [{"index": 1, "name": "L", "function": "LEFT", "preamp_gain_db": 42.0},
                               {"index": 2, "name": "R", "function": "RIGHT", "preamp_gain_db": 42.5}]},
    "environment": {"weather": "clear", "wind": "calm", "temperature_c": -3.5, "humidity_pct": 81.0,
                    "habitat": "larch forest", "noise": "road", "noise_sources": ["road", "stream"]},
    "subject": {"text": "dawn chorus", "labels": ["turmer", "erirub"], "vocabulary": "eBird"},
    "tags": ["dawn", "birds"], "notes": HOSTILE_NOTE,
}
START = datetime(2026, 11, 25, 5, 15, 30, tzinfo=UTC)


def _chunks_by_struct(path: Path) -> dict[bytes, bytes]:
    data = path.read_bytes()
    out, pos = {}, 12
    while pos + 8 <= len(data):
        cid, size = struct.unpack("<4sI", data[pos:pos + 8])
        key = cid + data[pos + 8:pos + 12] if cid == b"LIST" else cid
        out[key] = data[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    return out


def make_take(folder: Path, metadata: dict, frames: int = 48001, subtype: str = "PCM_24", channels: int = 2):
    """A closed TakeWriter WAV with known samples and its finished sidecar (not yet embedded)."""
    path = folder / "take.wav"
    rng = np.random.default_rng(7)
    if subtype == "FLOAT":
        samples = rng.uniform(-0.5, 0.5, (frames, channels)).astype(np.float32)
    else:
        samples = (rng.integers(-2**23, 2**23, (frames, channels)) << 8).astype(np.int32)
    w = TakeWriter(path, 48000, channels, "wav", subtype)
    w.write(samples)
    w.close()
    sc = new_sidecar(file_name=path.name, samplerate=48000, channels=channels, container="wav", subtype=subtype,
                     start=START, metadata=metadata, device_name="Scarlett 2i2", hostapi="ALSA")
    sc = finish_sidecar(sc, frames=frames, stop_reason="user", end=START,
                        analysis={"integrated_lufs": -23.45, "loudness_range_lu": 5.1, "true_peak_dbtp": -1.02,
                                  "momentary_max_lufs": -15.0, "short_term_max_lufs": -18.25})
    sc.markers = [{"frame": 480, "time_s": 0.01, "label": "owl </labl> & ü"},
                  {"frame": 24000, "time_s": 0.5, "label": "region", "length_frames": 4800}]
    return path, sc, samples


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("embedded")
    path, sc, samples = make_take(folder, FULL)
    final, warning = finalise_file(path, sc)
    assert warning is None
    return path, final, samples


def test_audio_is_bit_identical_and_hashes_say_what_they_cover(embedded):
    path, sc, samples = embedded
    data, sr = sf.read(str(path), dtype="int32", always_2d=True)
    assert sr == 48000 and np.array_equal(data, samples)
    whole, audio = take_hashes(path)
    assert (whole, audio) == (sc.file.sha256, sc.file.audio_sha256)
    import hashlib
    riff = read_riff(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == whole
    assert hashlib.sha256(riff.read(riff.data)).hexdigest() == audio
    assert riff.problems == [] and sc.file.bytes == path.stat().st_size
    assert sc.file.chunks == ["cue ", "LIST/adtl", "LIST/INFO", "bext", "iXML", "guan"]


def test_wavinfo_reads_bext_ixml_cues_and_labels(embedded):
    path, sc, _ = embedded
    info = wavinfo.WavInfoReader(str(path), info_encoding="utf-8")
    b = info.bext
    assert b.originator == "fieldrec" and b.originator_ref == sc.recording.uid
    assert b.originator_date == "2026-11-25" and b.originator_time == START.astimezone().strftime("%H:%M:%S")
    assert b.version == 2 and b.loudness_value == pytest.approx(-23.45) and b.max_true_peak == pytest.approx(-1.02)
    assert b.time_reference == round((START.astimezone() - START.astimezone().replace(
        hour=0, minute=0, second=0)).total_seconds() * 48000)
    assert "sSCENE=12A\r\n" in b.description and "sTAKE=007\r\n" in b.description
    assert "sTRK1=L\r\n" in b.description and "sNOTE=a </NOTE> b < c & d second line" in b.description
    assert b.coding_history.startswith("A=PCM,F=48000,W=24,M=stereo,T=fieldrec ")
    root = ET.fromstring(info.ixml.source)  # the raw XML, parsed by the standard XML parser
    assert root.findtext("SCENE") == "12A" and root.findtext("TAKE") == "007"
    assert root.findtext("CIRCLED") == "TRUE" and root.findtext("FILE_UID") == sc.recording.uid
    assert root.findtext("NOTE") == sc.metadata.notes  # exact hostile text survives escaping
    assert root.findtext("LOCATION/LOCATION_NAME") == sc.metadata.location.name
    assert root.findtext("LOCATION/LOCATION_GPS") == "46.5012345, 7.9012345"
    assert root.findtext("SPEED/FILE_SAMPLE_RATE") == "48000"
    tracks = root.findall("TRACK_LIST/TRACK")
    assert [(t.findtext("NAME"), t.findtext("FUNCTION")) for t in tracks] == [("L", "LEFT"), ("R", "RIGHT")]
    assert root.findtext("BEXT/BWF_ORIGINATOR_REFERENCE") == sc.recording.uid
    labels = {lab.name: lab.text for lab in info.cues.labels}
    assert [(c.name, c.sample_offset) for c in info.cues.cues] == [(1, 480), (2, 24000)]
    assert labels == {1: "owl </labl> & ü", 2: "region"}
    assert [(r.name, r.length) for r in info.cues.ranges] == [(2, 4800)]
    assert info.info.comment == sc.metadata.notes and info.info.artist == "Zoë Müller"


def test_ffprobe_and_mediainfo_read_bext_and_info(embedded):
    path, sc, _ = embedded
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    fmt = json.loads(out.stdout)
    tags = fmt["format"]["tags"]
    assert tags["encoded_by"] == "fieldrec" and tags["originator_reference"] == sc.recording.uid
    assert tags["coding_history"].startswith("A=PCM,F=48000,W=24")
    assert int(tags["time_reference"]) > 0 and tags["date"] == "2026-11-25"
    assert "sSCENE=12A" in tags["comment"]
    assert tags["title"] == "Alps & <Dawn> scene 12A take 007"
    assert int(fmt["streams"][0]["duration_ts"]) == 48001
    mi = subprocess.run(["mediainfo", "--Output=JSON", str(path)], capture_output=True, text=True, check=True)
    general = json.loads(mi.stdout)["media"]["track"][0]
    audio = json.loads(mi.stdout)["media"]["track"][1]
    assert int(audio["SamplingCount"]) == 48001 and audio["BitDepth"] == "24"
    assert general.get("Encoded_Application", general.get("Encoded_Library", "")).startswith("fieldrec")
    assert "12A" in json.dumps(general)


def test_sox_and_soundfile_open_it(embedded):
    path, _, _ = embedded
    for flag, want in (("-s", "48001"), ("-r", "48000"), ("-c", "2")):
        out = subprocess.run(["sox", "--i", flag, str(path)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == want
    assert sf.info(str(path)).frames == 48001


def test_guano_reference_parser_reads_the_guan_chunk(embedded):
    path, sc, _ = embedded
    body = _chunks_by_struct(path)[b"guan"]
    assert body.startswith(b"GUANO|Version: 1.0\n") and len(body) % 2 == 0
    g = guano.GuanoFile.from_string(body)
    assert g["GUANO|Version"] == "1.0"
    assert g["Loc Position"] == (pytest.approx(46.5012345), pytest.approx(7.9012345))
    assert g["Loc Elevation"] == 1834.5 and g["Loc Accuracy"] == 4.0
    assert g["Note"] == sc.metadata.notes and g["Samplerate"] == 48000
    assert g["Make"] == "Sound Devices" and g["Serial"] == "S123"
    assert float(g["Temperature Ext"]) == -3.5 and float(g["Humidity"]) == 81.0
    assert g["Original Filename"] == "take.wav" and g["fieldrec|Scene"] == "12A"
    assert g["Timestamp"].utcoffset() is not None
    assert g["Timestamp"] == START


def test_round_trip_model_to_chunks_and_back(embedded):
    path, sc, _ = embedded
    meta, markers = metadata_from_embedded(read_embedded(read_riff(path)), 48000)
    assert Metadata.model_validate(meta) == sc.metadata
    assert markers == [m.model_dump() for m in sc.markers]


def test_standard_fields_alone_map_back(tmp_path):
    """Without fieldrec's own iXML element (as another tool would see it), the standard homes still give
    the values back."""
    path, sc, _ = make_take(tmp_path, FULL)
    finalise_file(path, sc)
    raw = path.read_bytes()
    start = raw.index(b"<fieldrec:FIELDREC")
    end = raw.index(b"</fieldrec:FIELDREC>") + len(b"</fieldrec:FIELDREC>")
    stripped = raw[:start] + b" " * (end - start) + raw[end:]  # same size: chunk sizes stay right
    path.write_bytes(stripped)
    meta, _ = metadata_from_embedded(read_embedded(read_riff(path)), 48000)
    m = Metadata.model_validate(meta)
    want = sc.metadata
    assert (m.project, m.scene, m.take, m.circled, m.notes, m.recordist, m.licence) == (
        want.project, want.scene, want.take, want.circled, want.notes, want.recordist, want.licence)
    assert (m.location.name, m.location.latitude, m.location.longitude, m.location.elevation_m) == (
        want.location.name, want.location.latitude, want.location.longitude, want.location.elevation_m)
    assert m.location.source == "imported" and m.tags == want.tags
    assert [(c.index, c.name, c.function) for c in m.equipment.channels] == [(1, "L", "LEFT"), (2, "R", "RIGHT")]
    assert m.environment.temperature_c == -3.5 and m.subject.labels == ["turmer", "erirub"]


@pytest.mark.parametrize("cut", ["junk_header", "in_cue", "in_bext", "in_ixml", "in_guan", "all_in_junk",
                                 "junk_opened", "done"])
def test_a_kill_at_any_stage_of_embedding_leaves_an_openable_file(tmp_path, cut):
    """Each state a kill -9 can leave (embed_in_place writes the chunks inside one JUNK chunk, fsyncs, sets
    the JUNK size to 0, fsyncs, then rewrites the RIFF size): the file opens in soundfile, sox and ffprobe
    with every sample intact."""
    path, sc, samples = make_take(tmp_path, FULL, subtype="FLOAT", channels=1)
    before = path.read_bytes()
    chunks = build_chunks(sc, "test")
    blob = b"".join(body for _, body in chunks)
    junk = b"JUNK" + struct.pack("<I", len(blob))
    keep = {"junk_header": 0, "in_cue": 10, "in_bext": blob.index(b"bext") + 100,
            "in_ixml": blob.index(b"iXML") + 300, "in_guan": blob.index(b"guan") + 30}
    if cut in keep:
        path.write_bytes(before + junk[:5 if cut == "junk_header" else 8] + blob[:keep[cut]])
    elif cut == "all_in_junk":
        path.write_bytes(before + junk + blob)
    elif cut == "junk_opened":
        path.write_bytes(before + b"JUNK" + struct.pack("<I", 0) + blob)
    else:
        embed_in_place(path, chunks)
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    assert np.array_equal(data, samples)
    sox = subprocess.run(["sox", "--i", "-s", str(path)], capture_output=True, text=True, check=True)
    assert sox.stdout.strip() == str(len(samples))
    ff = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                        capture_output=True, text=True, check=True)
    assert int(json.loads(ff.stdout)["streams"][0]["duration_ts"]) == len(samples)
    riff = read_riff(path)
    assert (riff.riff_size + 8 == riff.file_size) == (cut == "done")


def test_edit_rewrites_chunks_with_audio_untouched_and_refuses_changed_audio(tmp_path):
    path, sc, samples = make_take(tmp_path, FULL)
    sc, _ = finalise_file(path, sc)
    edited = sc.model_copy(update={"metadata": sc.metadata.model_copy(update={"scene": "13"})})
    after = rewrite_take(path, edited)
    assert after.file.audio_sha256 == sc.file.audio_sha256 and after.file.sha256 != sc.file.sha256
    assert ET.fromstring(wavinfo.WavInfoReader(str(path)).ixml.source).findtext("SCENE") == "13"
    assert np.array_equal(sf.read(str(path), dtype="int32", always_2d=True)[0], samples)
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]  # no temp file left
    # flip one sample byte: the audio hash no longer matches, the edit is refused, nothing changes
    raw = bytearray(path.read_bytes())
    raw[read_riff(path).data.body + 10] ^= 0xFF
    path.write_bytes(bytes(raw))
    from fieldrec.storage.errors import StorageError
    with pytest.raises(StorageError, match="no longer matches"):
        rewrite_take(path, after)
    assert path.read_bytes() == bytes(raw)


def test_hostile_text_keeps_every_chunk_well_formed(tmp_path):
    nasty = dict(FULL, project="../../etc", scene="a/b\\c", notes="<![CDATA[ ]]> &amp; \ud800? \ufffe </BWFXML>",
                 recordist="x\r\ny: z", tags=["</x>", "a,b"])
    nasty["location"] = dict(FULL["location"], name="<" * 300)
    path, sc, _ = make_take(tmp_path, nasty)
    sc, warning = finalise_file(path, sc)
    assert warning is None
    chunks = _chunks_by_struct(path)
    root = ET.fromstring(chunks[b"iXML"])
    assert root.findtext("PROJECT") == "../../etc" and root.findtext("LOCATION/LOCATION_NAME") == "<" * 300
    assert guano.GuanoFile.from_string(chunks[b"guan"])["fieldrec|Recordist"] == sc.metadata.recordist
    assert chunks[b"bext"][:256].decode("ascii")  # pure ASCII
    assert len(chunks[b"bext"]) >= 602
    meta, _ = metadata_from_embedded(read_embedded(read_riff(path)), 48000)
    assert Metadata.model_validate(meta) == sc.metadata
    shutil.copy(path, tmp_path / "copy.wav")
    assert sf.info(str(tmp_path / "copy.wav")).frames == 48001
