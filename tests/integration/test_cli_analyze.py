"""`fieldrec analyze`: JSON keys and values for known signals, a readable table, and bad files reported
one line each while the other files are still analysed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.readers import fieldrec_cmd, isolated_env

KEYS = {"file", "samplerate", "channels", "duration_s", "sample_peak_dbfs", "true_peak_dbtp", "rms_dbfs",
        "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs", "loudness_range_lu", "clipped_samples",
        "clip_events", "dc_offset", "noise_floor_dbfs", "snr_db", "spectral_centroid_hz", "peaks", "per_channel"}


def analyze(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(fieldrec_cmd("analyze", *args), capture_output=True, text=True, timeout=120,
                          env=isolated_env(tmp_path))


@pytest.fixture
def files(tmp_path):
    sr = 48000
    t = np.arange(10 * sr) / sr
    sine = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    good = tmp_path / "sine-23.wav"
    sf.write(good, np.column_stack([sine, sine]), sr, subtype="FLOAT")
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros((sr, 1)), sr, subtype="PCM_16")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    truncated = tmp_path / "truncated.wav"
    sf.write(truncated, np.column_stack([sine, sine]), sr, subtype="PCM_24")
    truncated.write_bytes(truncated.read_bytes()[: 44 + 3 * 2 * sr])  # header says 10 s, 1 s is left
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2)), sr, subtype="PCM_24")
    return {"good": good, "silent": silent, "text": text, "truncated": truncated, "empty": empty}


def test_json_for_a_known_sine(tmp_path, files):
    proc = analyze(tmp_path, "--json", str(files["good"]))
    assert proc.returncode == 0, proc.stderr
    (result,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert KEYS <= set(result)
    assert result["samplerate"] == 48000 and result["channels"] == 2
    assert result["duration_s"] == pytest.approx(10.0)
    assert result["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)  # EBU Tech 3341 case 1
    assert result["sample_peak_dbfs"] == pytest.approx(-23.0, abs=0.01)
    assert result["rms_dbfs"] == pytest.approx(-26.01, abs=0.02)  # sine RMS is peak - 3.01 dB
    assert result["clipped_samples"] == 0 and result["clip_events"] == 0
    assert result["spectral_centroid_hz"] == pytest.approx(1000, rel=0.02)
    assert result["peaks"][0]["hz"] == pytest.approx(1000, abs=12)
    assert len(result["per_channel"]) == 2


def test_silence_gives_null_loudness(tmp_path, files):
    proc = analyze(tmp_path, "--json", str(files["silent"]))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["integrated_lufs"] is None and result["sample_peak_dbfs"] is None
    assert result["clipped_samples"] == 0


def test_bad_files_are_reported_and_the_rest_analysed(tmp_path, files):
    names = [files[k] for k in ("text", "good", "truncated", "empty", "silent")]
    proc = analyze(tmp_path, "--json", *map(str, names), str(tmp_path / "missing.wav"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    analysed = [json.loads(line)["file"] for line in proc.stdout.splitlines()]
    assert [Path(f).name for f in analysed] == ["sine-23.wav", "silence.wav"]
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 4
    for name, line in zip(["notes.wav", "truncated.wav", "empty.wav", "missing.wav"], errors, strict=True):
        assert line.startswith("error:") and line.count(name) == 1  # the file is named once, then the reason


def test_table_on_a_terminal_is_readable(tmp_path, files):
    proc = analyze(tmp_path, str(files["good"]))
    assert proc.returncode == 0
    assert "integrated" in proc.stdout and "LUFS" in proc.stdout and "-23.0" in proc.stdout


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path, files):
    # `fieldrec analyze ... | head -1`: the pipe closes before the output is written; no error line, exit 141
    import os

    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first line
    try:
        proc = subprocess.run(fieldrec_cmd("analyze", str(files["good"]), str(files["silent"])), stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=isolated_env(tmp_path))
    finally:
        os.close(write)
    assert proc.returncode == 141
    assert proc.stderr == ""
