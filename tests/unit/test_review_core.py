"""Qt-free review parts: Audacity/Raven marker exchange (round trip to the frame), `fieldrec markers`, the
overview cache, and the library index of a take without its sidecar."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrec.cli import main
from fieldrec.review.exchange import ExchangeError, export_markers, import_markers
from fieldrec.review.markers import TakeMarker, load_markers, save_markers
from fieldrec.review.overview import build_overview, load_or_build
from fieldrec.storage.errors import SidecarError
from tests.takes import copy_take, record_take

markers_st = st.lists(
    st.builds(TakeMarker, st.integers(0, 10**9), st.integers(0, 10**7),
              st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30).map(lambda t: " ".join(t.split()))),
    max_size=20, unique=True)


@settings(max_examples=60, deadline=None)
@given(markers=markers_st, rate=st.sampled_from([8000, 44100, 48000, 96000, 192000]),
       fmt=st.sampled_from(["audacity", "raven"]))
def test_round_trip_to_the_frame(markers, rate, fmt):
    text = export_markers(markers, rate, fmt)
    assert import_markers(text, rate) == sorted(markers)


def test_raven_table_layout_and_views():
    text = export_markers([TakeMarker(48000, 24000, "wren")], 48000, "raven")
    header, row = text.splitlines()
    assert header.split("\t") == ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
                                  "Low Freq (Hz)", "High Freq (Hz)", "Annotation"]
    assert row.split("\t") == ["1", "Spectrogram 1", "1", "1.000000000", "1.500000000", "0.0", "24000.0", "wren"]
    # as Raven saves it: every selection in each view, a label column of the user's name
    raven = ("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"
             "1\tWaveform 1\t1\t0.5\t0.75\t0\t12000\tWREN\n1\tSpectrogram 1\t1\t0.5\t0.75\t0\t12000\tWREN\n"
             "2\tWaveform 1\t1\t2\t2\t0\t12000\t\n")
    assert import_markers(raven, 48000) == [TakeMarker(24000, 12000, "WREN"), TakeMarker(96000, 0, "")]


def test_audacity_spectral_lines_and_errors():
    text = "1.5\t2.0\tsong\n\\\t1000.0\t4000.0\n3\t3\t\n"
    assert import_markers(text, 1000) == [TakeMarker(1500, 500, "song"), TakeMarker(3000, 0, "")]
    for bad, msg in (("1.0\n", "line 1: expected start"), ("x\t1\ty\n", "line 1: 'x' is not a time"),
                     ("2\t1\tz\n", "line 1: the end"), ("0\t1\ta\n-1\t2\tb\n", "line 2: time '-1'")):
        with pytest.raises(ExchangeError, match=msg):
            import_markers(bad, 48000)
    with pytest.raises(ExchangeError, match="not a Raven selection table"):
        import_markers("Selection\tView\n1\tx\n", 48000)
    with pytest.raises(ExchangeError, match="line 2: has 3 columns"):
        import_markers("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\n1\tW\t1\n", 48000)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    from tests.takes import record_take

    return record_take(tmp_path_factory.mktemp("markers"), 1.0, location="cli")


@pytest.fixture
def take(recorded, tmp_path) -> Path:
    return copy_take(recorded, tmp_path)


def test_cli_export_and_import(take, tmp_path, capsys):
    side = take.with_suffix(".json")
    save_markers(side, [TakeMarker(100, 0, "one"), TakeMarker(4800, 2400, "two")])
    out = tmp_path / "labels.txt"
    assert main(["markers", str(take), "--export", "audacity", "--out", str(out)]) == 0
    assert out.read_text() == "0.002083333\t0.002083333\tone\n0.100000000\t0.150000000\ttwo\n"
    assert main(["markers", str(side), "--export", "raven"]) == 0
    raven = capsys.readouterr().out
    assert raven.startswith("Selection\tView\tChannel\tBegin Time (s)")
    (tmp_path / "r.txt").write_text(raven.replace("two", "three"))
    assert main(["markers", str(take), "--import", str(tmp_path / "r.txt")]) == 0
    labels = [(m.frame, m.label) for m in load_markers(side)[0]]
    assert labels == [(100, "one"), (4800, "three"), (4800, "two")]
    assert main(["markers", str(take), "--import", str(out), "--replace"]) == 0
    assert [m.label for m in load_markers(side)[0]] == ["one", "two"]
    assert json.loads(side.read_text())["markers"][1] == {"frame": 4800, "time_s": 0.1, "label": "two",
                                                          "length_frames": 2400}


def test_cli_export_of_a_take_without_markers_says_the_file_is_empty(take, capsys):
    save_markers(take.with_suffix(".json"), [])
    assert main(["markers", str(take), "--export", "audacity"]) == 0
    out, err = capsys.readouterr()
    assert out == ""  # an empty label track is an empty file
    assert err == f"{take.with_suffix('.json').name}: the take has no markers; the audacity file is empty\n"
    assert main(["markers", str(take), "--export", "raven"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [out.splitlines()[0]] and out.startswith("Selection\t")  # the header only
    assert "the take has no markers; the raven file is empty" in err


@pytest.mark.parametrize("args, message", [
    (["--import", "{tmp}/missing.txt"], "missing.txt: no such file"),
    (["--import", "{tmp}/bad.txt"], "bad.txt: line 1: 'oops' is not a time"),
    (["--import", "{tmp}/late.txt"], "is outside the take"),
    (["--export", "raven", "--out", "{tmp}/no/such/dir/x.txt"], "cannot write"),
    (["--import", "{tmp}/bad.txt", "--out", "x"], "--out goes with --export"),
])
def test_cli_bad_input_is_one_line_exit_2(take, tmp_path, capsys, args, message):
    (tmp_path / "bad.txt").write_text("oops\t1\tx\n")
    (tmp_path / "late.txt").write_text("3600\t3600\tlate\n")
    assert main(["markers", str(take), *(a.format(tmp=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_cli_take_without_sidecar(tmp_path, capsys):
    sf.write(str(tmp_path / "x.wav"), np.zeros((10, 1)), 48000)
    assert main(["markers", str(tmp_path / "x.wav"), "--export", "raven"]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "x.json").write_text(json.dumps({"schema_version": 1, "audio": {}}))
    assert main(["markers", str(tmp_path / "x.json"), "--export", "raven"]) == 2
    assert "has no sample rate" in capsys.readouterr().err


def test_cli_library_needs_folders(tmp_path, capsys):
    assert main(["library", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_overview_cache_rebuilt_when_unreadable_or_unwritable(take, tmp_path, caplog):
    cache = tmp_path / "cache"
    ov, cached = load_or_build(take, cache)
    assert not cached and load_or_build(take, cache)[1]
    (entry,) = cache.iterdir()
    entry.write_bytes(b"not an npz")
    with caplog.at_level(logging.WARNING, logger="fieldrec.review.overview"):
        again, cached = load_or_build(take, cache)
    assert not cached and np.array_equal(again.maxs, ov.maxs) and "unreadable" in caplog.text
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING, logger="fieldrec.review.overview"):
        third, cached = load_or_build(take, blocker / "cache")
    assert not cached and np.array_equal(third.mins, ov.mins) and "not written" in caplog.text
    data, _ = sf.read(str(take), dtype="float32", always_2d=True)
    assert np.array_equal(ov.maxs[0], data[:512].max(axis=0)) and ov.maxs.shape[0] == -(-data.shape[0] // 512)


def test_overview_of_16_bit_and_float(tmp_path):
    rng = np.random.default_rng(3)
    x = (rng.uniform(-1, 1, (5000, 3)) * 0.9).astype(np.float32)
    for subtype in ("PCM_16", "FLOAT"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(str(path), x, 44100, subtype=subtype)
        back, _ = sf.read(str(path), dtype="float32", always_2d=True)
        ov = build_overview(path, bucket=100)
        assert np.array_equal(ov.mins[:, 2], back.reshape(50, 100, 3).min(axis=1)[:, 2])
        edges, mins, maxs = ov.envelope(0, 5000, 10)
        assert mins.shape == (10, 3) and np.array_equal(maxs.max(axis=0), back.max(axis=0))


def test_spectral_overview_shows_a_tone(tmp_path):
    sr = 8000
    t = np.arange(60 * sr) / sr
    x = np.stack([0.5 * np.sin(2 * np.pi * 1000 * t), np.zeros_like(t)], axis=1)
    path = tmp_path / "tone.wav"
    sf.write(str(path), x, sr, subtype="PCM_24")
    ov = build_overview(path)
    centres, db = ov.spectrogram(0, x.shape[0], 10)
    assert db.shape == (513, 10) and 0 < centres[0] < centres[-1] < x.shape[0]
    freqs = np.fft.rfftfreq(1024, 1 / sr)
    assert np.all(freqs[db.argmax(axis=0)] == 1000.0)
    # half the power (one of two channels) of a 0.5-amplitude sine: 20 log10(0.5) - 3 dB
    assert np.allclose(db.max(axis=0), 20 * np.log10(0.5) - 10 * np.log10(2), atol=0.1)
    assert ov.spectrogram(0, 40000, 10) is None  # too narrow: the view computes it from the file


def test_markers_saved_on_a_finished_take_reach_its_cue_chunk_too(tmp_path):
    import wavinfo

    from fieldrec.library.check import check_take

    audio = record_take(tmp_path, 1.0)
    side = audio.with_suffix(".json")
    before = json.loads(side.read_text())["file"]["audio_sha256"]
    save_markers(side, [TakeMarker(4800, 0, "owl"), TakeMarker(9600, 2400, "wren region")])
    data = json.loads(side.read_text())
    assert data["file"]["audio_sha256"] == before  # the audio samples untouched
    cues = list(wavinfo.WavInfoReader(str(audio)).cues.each_cue())
    assert [c[1] for c in cues] == [4800, 9600]
    assert check_take(audio).problems == []  # chunks equal the sidecar


def test_markers_are_not_saved_into_a_take_whose_audio_changed(tmp_path):
    audio = record_take(tmp_path, 0.5)
    side = audio.with_suffix(".json")
    raw = bytearray(audio.read_bytes())
    raw[5000] ^= 0xFF  # one sample (inside the data chunk) changed outside fieldrec
    audio.write_bytes(bytes(raw))
    with pytest.raises(SidecarError, match="no longer matches"):
        save_markers(side, [TakeMarker(100, 0, "x")])
    assert json.loads(side.read_text())["markers"] == []


def test_markers_are_not_saved_into_a_sidecar_the_model_refuses(tmp_path):
    audio = record_take(tmp_path, 0.5)
    side = audio.with_suffix(".json")
    data = json.loads(side.read_text())
    data["audio"]["container"] = "mp3"
    side.write_text(json.dumps(data))
    with pytest.raises(SidecarError, match="does not pass the schema"):
        save_markers(side, [TakeMarker(100, 0, "x")])
