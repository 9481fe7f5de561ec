"""``fieldrec gui --device --samplerate --channels --format --out``: the window's start values, and bad values
refused in one line before any window opens (issue 11, "Also")."""

from __future__ import annotations

import subprocess

import pytest

from fieldrec.cli import _gui_start_values, build_parser
from fieldrec.gui.app import apply_start_values
from fieldrec.gui.config import load_config
from tests.readers import fieldrec_cmd, isolated_env


def test_flags_are_what_the_window_opens_with(make_window, gui_config, tmp_path, qtbot):
    out = tmp_path / "elsewhere"
    args = build_parser().parse_args(["gui", "--device", "SIMULATED", "--samplerate", "96000", "--channels", "4",
                                      "--format", "flac16", "--out", str(out)])
    w = make_window(apply_start_values(gui_config, _gui_start_values(args)))
    assert w.device_combo.currentData() == "simulated"
    assert w.rate_combo.currentData() == 96000 and w.channels_spin.value() == 4
    assert w.format_combo.currentText() == "FLAC 16-bit" and w.folder_edit.text() == str(out)
    s = w.recorder.status()
    assert (s.samplerate, s.channels) == (96000, 4)  # the input opened with them
    w.close()
    remembered = load_config(gui_config.settings_path)  # remembered as if chosen in the window
    assert (remembered.samplerate, remembered.channels, remembered.format_name) == (96000, 4, "FLAC 16-bit")


@pytest.mark.parametrize("flags, says", [
    (["--format", "mp3"], "unknown format 'mp3'"),
    (["--samplerate", "0"], "--samplerate must be positive"),
    (["--channels", "-2"], "--channels must be positive"),
    (["--device", "no-such-interface-xyz"], "no-such-interface-xyz"),
    (["--out", "{file}/takes"], "cannot use the output folder"),
])
def test_bad_start_values_are_one_line_and_exit_2(tmp_path, flags, says):
    afile = tmp_path / "a-file"
    afile.write_text("not a folder")
    flags = [f.replace("{file}", str(afile)) for f in flags]
    proc = subprocess.run(fieldrec_cmd("gui", *flags), capture_output=True, text=True, timeout=60,
                          env=isolated_env(tmp_path, {"QT_QPA_PLATFORM": "offscreen"}), stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fieldrec: error: ") and says in lines[0], proc.stderr
