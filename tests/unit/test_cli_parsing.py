"""Command-line parsing that needs no device: durations, formats, bad metadata flags."""

import pytest

from fieldrec.cli import UsageError, _format_from_args, main, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5", 5), ("2.5", 2.5), ("90s", 90), ("1m30s", 90), ("1.5m", 90), ("2h", 7200), ("1h30m", 5400),
     ("00:05:00", 300), ("05:30", 330), ("10min", 600)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5 minutes", "-3", "0", "1h-2m", "nan", "1e400"])
def test_bad_durations_are_one_line_errors(text):
    with pytest.raises(UsageError) as err:
        parse_duration(text)
    assert "\n" not in str(err.value)


def test_formats():
    assert _format_from_args("wav24") == ("wav", "PCM_24")
    assert _format_from_args("FLOAT") == ("wav", "FLOAT")
    assert _format_from_args("flac") == ("flac", "PCM_24")
    with pytest.raises(UsageError, match="choose one of"):
        _format_from_args("mp3")


def test_unknown_subcommand_exits_2(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("fieldrec ")


def test_signed_levels_need_no_equals_sign():
    from fieldrec.cli import build_parser, join_signed_values

    parser = build_parser()
    argv = ["record", "--monitor-gain", "-6dB", "--detrigger", "-45dBFS", "--max-take", "10m"]
    args = parser.parse_args(join_signed_values(argv, parser))
    assert (args.monitor_gain, args.detrigger) == ("-6dB", "-45dBFS")
    # a flag that takes no value leaves the next word alone; an '=' form is kept as written
    joined = join_signed_values(["export", "a", "--dry-run", "-6dB", "--max-true-peak=-1"], parser)
    assert joined == ["export", "a", "--dry-run", "-6dB", "--max-true-peak=-1"]


def test_a_bad_signed_level_is_a_usage_error_not_an_option(capsys):
    # before the join, argparse said "expected one argument"; now the level itself is judged
    assert main(["record", "--device", "simulated", "--duration", "1", "--monitor", "nowhere",
                 "--monitor-gain", "-6dBX"]) == 2
    err = capsys.readouterr().err
    assert "-6dBX" in err and "expected one argument" not in err
