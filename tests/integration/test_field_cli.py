"""The field flags from the command line: `fieldrec schedule FILE`, and `fieldrec record` with a trigger,
pre-roll, a channel subset, headphone monitoring and GPS, through the virtual device, gpsfake and the rig's
output sink."""

from __future__ import annotations

import json
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf
from nmea_rig import ALT_MSL, LAT, LON, gpsfake

from fieldrec.field.gps import GpsReader
from tests.pulse_rig import RATE
from tests.readers import fieldrec_cmd, isolated_env, validate_sidecar

SCHEDULE = """
[location]
latitude = 51.5072
longitude = -0.1276
timezone = "Europe/London"

[[period]]
name = "dawn chorus"
start = "civil_dawn-30m"
end = "sunrise+1h"
duty = "10m/30m"

[[period]]
name = "evening"
start = "20:00"
duration = "1h"
from = 2026-06-01
"""


def test_schedule_command_prints_the_next_periods_in_local_time_and_utc(tmp_path):
    f = tmp_path / "dawn.toml"
    f.write_text(SCHEDULE)
    out = subprocess.run(fieldrec_cmd("schedule", str(f), "--count", "12", "--from", "2026-06-01T00:00"),
                         capture_output=True, text=True, env=isolated_env(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("dawn.toml: 2 period(s) at 51.5072, -0.1276, times in Europe/London and UTC")
    periods = lines[1:]
    assert len(periods) == 12
    assert all("BST  (" in p and " UTC)" in p for p in periods)
    assert sum("evening" in p for p in periods) >= 2 and "0:10:00  dawn chorus" in periods[0]
    assert "2026-06-01 20:00:00 - 2026-06-01 21:00:00 BST  (2026-06-01 19:00:00 - 2026-06-01 20:00:00 UTC)" \
        in out.stdout


def test_bad_schedules_and_flags_are_one_line_and_exit_2(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[[period]]\nstart = "sunrise"\nduration = "1h"\n')
    env = isolated_env(tmp_path)
    for args, message in (
        (("schedule", str(f)), "needs a place; add [location]"),
        (("schedule", str(tmp_path / "none.toml")), "cannot read the schedule"),
        (("record", "--device", "simulated", "--trigger", "level:loud", "--out", str(tmp_path)), "not a level"),
        (("record", "--device", "simulated", "--pre-roll", "90s", "--out", str(tmp_path)), "outside 0-60 s"),
        (("record", "--device", "simulated", "--channels", "1,1", "--out", str(tmp_path)), "listed twice"),
        (("record", "--device", "simulated", "--gps", "bluetooth", "--out", str(tmp_path)), "not a GPS source"),
    ):
        out = subprocess.run(fieldrec_cmd(*args), capture_output=True, text=True, env=env, timeout=60)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def burst_feed(n: int) -> np.ndarray:
    """Channel 2 has tone bursts in quiet noise, channel 1 only noise."""
    t = np.arange(RATE // 2) / RATE
    rng = np.random.default_rng(9)
    parts = []
    for _ in range(n):
        parts.append(1e-3 * rng.standard_normal((2 * RATE, 2)))
        b = 1e-3 * rng.standard_normal((RATE // 2, 2))
        b[:, 1] = 0.3 * np.sin(2 * np.pi * 1000 * t)
        parts.append(b)
    parts.append(1e-3 * rng.standard_normal((2 * RATE, 2)))
    return np.concatenate(parts).astype(np.float32)


@pytest.mark.audio
@pytest.mark.slow
def test_record_with_a_trigger_pre_roll_a_channel_subset_monitor_and_gps(pulse_rig, tmp_path):
    pulse_rig.load_out_sink()
    sig = burst_feed(2)
    out_dir = tmp_path / "takes"
    try:
        with gpsfake(tmp_path) as port:
            with GpsReader(f"gpsd:127.0.0.1:{port}", retry_s=0.3) as gps:  # gpsd is up and has its fix
                gps.wait_for(lambda f: f.state == "3d", timeout=30)
            proc = subprocess.Popen(
                fieldrec_cmd("record", "--device", pulse_rig.device_name, "--format", "float", "--out", str(out_dir),
                             "--channels", "2,1", "--trigger", "level:-30dBFS", "--pre-roll", "500ms",
                             "--post-roll", "0.5s", "--min-trigger", "50ms", "--run-for", "12s",
                             "--monitor", pulse_rig.out_device_name, "--monitor-channels", "1", "--monitor-gain=-6dB",
                             "--gps", f"gpsd:127.0.0.1:{port}"),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=isolated_env(tmp_path))
            head = []
            while not any(line.startswith("armed for") for line in head):  # the input is open and listening
                line = proc.stderr.readline()
                assert line, "".join(head)
                head.append(line)
            time.sleep(0.5)
            feeder = pulse_rig.feed(sig)
            feeder.wait(30)
            stdout, stderr = proc.communicate(timeout=60)
            stderr = "".join(head) + stderr
    finally:
        pulse_rig.unload_out_sink()
    assert proc.returncode == 0, stderr
    sides = sorted(out_dir.glob("*.json"), key=lambda p: json.loads(p.read_text())["recording"]["start_utc"])
    assert len(sides) == 2, stdout + stderr
    for side in sides:
        doc = json.loads(side.read_text())
        validate_sidecar(doc)
        assert doc["recording"]["blocksize"] == 0  # with headphones the input keeps PortAudio's small blocks
        data, _ = sf.read(str(side.with_suffix(".wav")), dtype="float32", always_2d=True)
        f = doc["metadata"]["field"]
        chans = doc["metadata"]["equipment"]["channels"]
        assert [(c["index"], c["device_channel"], c["name"]) for c in chans] == [(1, 2, "In 2"), (2, 1, "In 1")]
        pre = f["pre_roll"]["frames"]
        assert pre == RATE // 2 and f["started_by"] == "trigger" and doc["recording"]["stop_reason"] == "trigger"
        loud = np.flatnonzero(np.abs(data[:, 0]) >= np.float32(10 ** -1.5))
        assert loud[0] == pre  # the burst (fed on device channel 2) is file channel 1, from the pre-roll's end
        assert np.max(np.abs(data[:, 1])) < 0.01  # device channel 1 carried only noise
        loc = doc["metadata"]["location"]
        assert loc["source"] == "gps" and loc["latitude"] == pytest.approx(LAT, abs=1e-6)
        assert loc["longitude"] == pytest.approx(LON, abs=1e-6) and loc["elevation_m"] == pytest.approx(ALT_MSL)
    assert "monitor -> rig_monitor_out -6.0 dB" in stderr


def test_a_schedule_in_utc_names_the_zone_once(tmp_path):
    f = tmp_path / "utc.toml"
    f.write_text('[location]\nlatitude = 0\nlongitude = 0\ntimezone = "UTC"\n\n'
                 '[[period]]\nstart = "06:00"\nduration = "1h"\n')
    out = subprocess.run(fieldrec_cmd("schedule", str(f), "--count", "1", "--from", "2026-06-01T00:00"),
                         capture_output=True, text=True, env=isolated_env(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["utc.toml: 1 period(s) at 0.0000, 0.0000, times in UTC",
                                       "2026-06-01 06:00:00 - 2026-06-01 07:00:00 UTC  1:00:00  period 1"]
