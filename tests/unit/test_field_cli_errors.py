"""Every bad field flag or schedule is one line on stderr and exit 2 (fieldrec.field_cli through cli.main)."""

from __future__ import annotations

import pytest

from fieldrec.cli import main


@pytest.mark.parametrize("args, message", [
    (["schedule", "{bad}"], "needs a place; add [location]"),
    (["schedule", "{bad}", "--lat", "95", "--lon", "0"], "latitude"),
    (["schedule", "{bad}", "--lat", "51"], "give both --lat and --lon"),
    (["schedule", "{good}", "--from", "tomorrow"], "--from: 'tomorrow' is not an ISO time"),
    (["schedule", "{good}", "--count", "0"], "--count must be at least 1"),
    (["record", "--device", "simulated", "--schedule", "{bad}", "--out", "{out}"], "needs a place"),
    (["record", "--device", "simulated", "--trigger", "level:-30dBFS", "--post-roll", "soon", "--out", "{out}"],
     "--post-roll: cannot read the duration"),
    (["record", "--device", "simulated", "--monitor", "x", "--monitor-gain=loud", "--out", "{out}"], "not a gain"),
    (["record", "--device", "simulated", "--monitor", "x", "--monitor-channels", "3", "--out", "{out}"],
     "monitor channel 3 asked for"),
    (["record", "--device", "simulated", "--split-size", "big", "--out", "{out}"], "not a size"),
    (["record", "--device", "simulated", "--split", "0.5s", "--out", "{out}"], "split at 1 s or longer"),
])
def test_bad_field_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    (tmp_path / "bad.toml").write_text('[[period]]\nstart = "sunrise"\nduration = "1h"\n')
    (tmp_path / "good.toml").write_text('[[period]]\nstart = "05:00"\nduration = "1h"\n')
    argv = [a.format(bad=tmp_path / "bad.toml", good=tmp_path / "good.toml", out=tmp_path / "o") for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_schedule_with_a_location_from_the_command_line(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text('[[period]]\nstart = "sunrise"\nduration = "1h"\n')
    assert main(["schedule", str(tmp_path / "bad.toml"), "--lat", "51.5", "--lon", "0", "--count", "2",
                 "--from", "2026-03-01T00:00"]) == 0
    out = capsys.readouterr().out
    assert "at 51.5000, 0.0000" in out and len(out.strip().splitlines()) == 3


def test_a_monitor_that_cannot_open_is_a_warning_and_the_take_goes_on(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["record", "--device", "simulated", "--format", "float", "--duration", "1", "--pre-roll", "0.2s",
                 "--monitor", "no-such-headphones", "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert "warning: no output device matches 'no-such-headphones'" in cap.err
    import json

    import soundfile as sf

    [side] = out.glob("*.json")
    doc = json.loads(side.read_text())
    pre = doc["metadata"]["field"]["pre_roll"]["frames"]
    assert 0 <= pre <= 9600  # at most the 0.2 s asked (less, even none, when the input has just opened)
    assert sf.info(str(side.with_suffix(".wav"))).frames == 48000 + pre  # --duration counts from the start
    assert doc["recording"]["stop_reason"] == "duration"


def test_a_channel_subset_with_names_reaches_the_channel_map(tmp_path, capsys):
    import json

    import soundfile as sf

    out = tmp_path / "o"
    assert main(["record", "--device", "simulated", "--channels", "4,2", "--channel-name", "1=hydrophone",
                 "--duration", "0.5", "--format", "float", "--out", str(out), "--quiet"]) == 0
    [side] = out.glob("*.json")
    doc = json.loads(side.read_text())
    chans = doc["metadata"]["equipment"]["channels"]
    assert [(c["index"], c["device_channel"], c["name"]) for c in chans] == [(1, 4, "hydrophone"), (2, 2, "In 2")]
    assert sf.info(str(side.with_suffix(".wav"))).channels == 2 and doc["audio"]["channels"] == 2
    import wavinfo

    tracks = wavinfo.WavInfoReader(str(side.with_suffix(".wav"))).ixml.track_list  # iXML TRACK_LIST
    assert [(t.channel_index, t.name) for t in tracks] == [("1", "hydrophone"), ("2", "In 2")]
