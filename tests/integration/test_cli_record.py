"""`fieldrec record` end to end from the simulated source: files read back by soundfile, sox and ffprobe,
the sidecar validated against the published schema, and every bad input refused in one line."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.readers import ffprobe_info, fieldrec_cmd, isolated_env, sox_info, validate_sidecar


def run_fieldrec(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(fieldrec_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=isolated_env(tmp_path), stdin=subprocess.DEVNULL)


def only_take(folder: Path, ext: str = ".wav") -> tuple[Path, dict]:
    audio = sorted(folder.glob(f"*{ext}"))
    assert len(audio) == 1, list(folder.iterdir())
    sidecar = audio[0].with_suffix(".json")
    return audio[0], json.loads(sidecar.read_text())


def test_record_five_seconds_with_location(tmp_path):
    out = tmp_path / "takes"
    proc = run_fieldrec(tmp_path, "record", "--device", "simulated", "--duration", "5", "--location", "Oak ridge",
                        "--lat", "47.1", "--lon", "8.5", "--tag", "birds", "--tag", "dawn", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    audio, meta = only_take(out)
    assert audio.name.endswith("_Oak-ridge.wav")  # the space becomes a dash (storage.naming)
    assert str(audio) in proc.stdout and str(audio.with_suffix(".json")) in proc.stdout

    info = sf.info(str(audio))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (48000, 2, 5 * 48000, "PCM_24")
    assert sox_info(audio) == {"samplerate": 48000, "channels": 2, "frames": 240000}
    probe = ffprobe_info(audio)
    assert (probe["samplerate"], probe["channels"], probe["frames"]) == (48000, 2, 240000)
    assert probe["codec"] == "pcm_s24le"

    validate_sidecar(meta)
    assert meta["audio"]["frames"] == 240000 and meta["audio"]["duration_s"] == 5.0
    assert meta["file"]["name"] == audio.name and meta["file"]["bytes"] == audio.stat().st_size
    import hashlib

    assert meta["file"]["sha256"] == hashlib.sha256(audio.read_bytes()).hexdigest()
    assert meta["recording"]["stop_reason"] == "duration"
    assert meta["recording"]["state"] == "complete"
    assert meta["recording"]["device"]["name"] == "simulated"
    assert meta["recording"]["overflows"] == []
    assert meta["metadata"]["location"] == {"name": "Oak ridge", "latitude": 47.1, "longitude": 8.5,
                                            "elevation_m": None, "accuracy_m": None, "source": "manual"}
    assert meta["metadata"]["tags"] == ["birds", "dawn"]
    assert meta["recording"]["start_utc"].endswith("Z")
    analysis = meta["analysis"]
    assert analysis is not None
    x, _ = sf.read(str(audio), dtype="float64")
    assert analysis["sample_peak_dbfs"] == pytest.approx(20 * np.log10(np.max(np.abs(x))), abs=0.01)
    assert analysis["channels"] == 2


@pytest.mark.parametrize(("fmt", "ext", "subtype"), [("wav16", ".wav", "PCM_16"), ("float", ".wav", "FLOAT"),
                                                     ("flac24", ".flac", "PCM_24")])
def test_formats_and_rates(tmp_path, fmt, ext, subtype):
    proc = run_fieldrec(tmp_path, "record", "-d", "simulated", "-t", "1", "-r", "96000", "-c", "4", "-f", fmt,
                        "-o", str(tmp_path / "o"), "-q")
    assert proc.returncode == 0, proc.stderr
    audio, meta = only_take(tmp_path / "o", ext)
    info = sf.info(str(audio))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (96000, 4, 96000, subtype)
    assert sox_info(audio)["frames"] == 96000
    validate_sidecar(meta)


def test_two_takes_never_overwrite(tmp_path):
    out = tmp_path / "o"
    for _ in range(2):
        proc = run_fieldrec(tmp_path, "record", "-d", "simulated", "-t", "0.5", "-o", str(out), "-q",
                            "--name", "same-name")
        assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.glob("*.wav"))
    assert len(names) == 2 and names[0] != names[1]
    assert len(list(out.glob("*.json"))) == 2


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--device", "no-such-interface"], "no-such-interface"),
        (["--device", "simulated", "--samplerate", "1000000"], "1000000"),
        (["--device", "simulated", "--channels", "99"], "channels"),
        (["--device", "simulated", "--lat", "999"], "--lat"),
        (["--device", "simulated", "--lon", "-180.5"], "--lon"),
        (["--device", "simulated", "--lat", "north"], "--lat"),
        (["--device", "simulated", "--duration", "five minutes"], "duration"),
        (["--device", "simulated", "--format", "mp3"], "mp3"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, fragment):
    duration = [] if "--duration" in args else ["--duration", "1"]
    out = tmp_path / "o"
    proc = run_fieldrec(tmp_path, "record", *args, *duration, "--quiet", "--out", str(out))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert fragment in lines[0]
    assert not list(out.glob("*.wav")) if out.exists() else True


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run_fieldrec(tmp_path, "record", "-d", "simulated", "-t", "1", "--out", str(blocker / "takes"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "output folder" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def _wait_for_frames(path: Path, seconds: float, samplerate: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if path.exists() and sf.info(str(path)).frames >= seconds * samplerate:
                return
        except RuntimeError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{path} did not reach {seconds} s")


def test_ctrl_c_stops_cleanly(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen(fieldrec_cmd("record", "-d", "simulated", "-o", str(out), "-q"), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=isolated_env(tmp_path))
    try:
        deadline = time.monotonic() + 30
        while not list(out.glob("*.wav")) and time.monotonic() < deadline:
            time.sleep(0.05)
        _wait_for_frames(next(out.glob("*.wav")), 2.0, 48000)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    audio, meta = only_take(out)
    validate_sidecar(meta)
    assert meta["recording"]["stop_reason"] == "user"
    assert meta["audio"]["frames"] == sf.info(str(audio)).frames >= 2 * 48000


def test_kill_9_leaves_a_readable_file(tmp_path):
    """A crash mid-take: the WAV opens everywhere with all but at most about a second of the audio."""
    out = tmp_path / "o"
    proc = subprocess.Popen(fieldrec_cmd("record", "-d", "simulated", "-r", "48000", "-c", "2", "-o", str(out),
                                         "-q"), env=isolated_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not list(out.glob("*.wav")) and time.monotonic() < deadline:
            time.sleep(0.05)
        audio = next(out.glob("*.wav"))
        _wait_for_frames(audio, 3.0, 48000)
        started = time.monotonic()
        time.sleep(1.0)
        # what the take has captured by now, measured by the wall clock since 3 s were on disk
        expected_s = 3.0 + (time.monotonic() - started)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    info = sf.info(str(audio))
    assert info.samplerate == 48000 and info.channels == 2
    seconds = info.frames / 48000
    assert expected_s - 1.2 <= seconds <= expected_s + 0.5
    assert abs(sox_info(audio)["frames"] - info.frames) <= 0
    assert abs(ffprobe_info(audio)["frames"] - info.frames) <= 1
    x, _ = sf.read(str(audio))
    assert len(x) == info.frames and np.isfinite(x).all()
    meta = json.loads(audio.with_suffix(".json").read_text())
    validate_sidecar(meta)
    assert meta["recording"]["state"] == "recording"  # the take never reached its stop: a crash, visibly


def test_disk_full_stops_the_take_with_valid_files(tmp_path):
    """A 3 MB disk at 48 kHz/8 ch/32-bit (1.5 MB/s): the low-space warning comes first, then the take stops
    with a valid file and a sidecar that says disk_full, and the command exits 1 with one error line."""
    from tests.filesystems import mounted_tmpfs

    with mounted_tmpfs(tmp_path / "disk", "size=3m") as disk:
        proc = run_fieldrec(tmp_path, "record", "-d", "simulated", "-r", "48000", "-c", "8", "-f", "wav32",
                            "-t", "30", "-o", str(disk), "-q")
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "disk nearly full" in proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "disk is full" in errors[0]
        audio, meta = only_take(disk)
        validate_sidecar(meta)
        assert meta["recording"]["stop_reason"] == "disk_full"
        info = sf.info(str(audio))
        assert info.frames == meta["audio"]["frames"] > 0
        assert sox_info(audio)["frames"] == info.frames
        assert ffprobe_info(audio)["frames"] == info.frames


def test_a_short_take_without_a_terminal_is_measured_whole(tmp_path):
    # nobody reads the meters (-q): the meter thread sleeps its idle pace (2 s), longer than the take; the stop
    # wakes it and the analysis still covers every frame from the take's first
    out = tmp_path / "takes"
    proc = run_fieldrec(tmp_path, "record", "-d", "simulated", "-t", "1", "-q", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    _audio, meta = only_take(out)
    assert meta["audio"]["frames"] == 48000
    assert meta["analysis"]["frames"] == 48000 and not meta["analysis"].get("partial")
    assert meta["analysis"]["true_peak_dbtp"] is not None


def test_the_status_line_on_a_terminal_shows_the_take_meters_as_it_records(tmp_path):
    # stderr is a terminal (a pty): the line measures the meters on its own wake-up (Recorder.meters(measure=True))
    import os
    import pty

    out = tmp_path / "takes"
    master, slave = pty.openpty()
    proc = subprocess.Popen(fieldrec_cmd("record", "-d", "simulated", "-t", "3", "-o", str(out)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=isolated_env(tmp_path))
    os.close(slave)
    said = b""
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            said += chunk
    finally:
        os.close(master)
        proc.wait(timeout=60)
    assert proc.returncode == 0, said.decode(errors="replace")
    audio, meta = only_take(out)
    line = re.compile(r"0:00:0(\d)  peak dBFS \[\s*(-?[\d.]+) +(-?[\d.]+)\]  TP +(-?[\d.]+) dBTP")
    shown = [m for m in (line.search(part) for part in said.decode(errors="replace").split("\r")) if m]
    # lines before 3 s are drawn while recording (once the take has ended the line shows the input's monitor)
    during = [(int(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4))) for m in shown
              if int(m.group(1)) < 3]
    assert len(during) >= 6, said[-500:]  # about four a second, each with both channels and the true peak
    tps = [tp for _s, _a, _b, tp in during]
    assert tps == sorted(tps)  # the take's maximum so far never goes down
    final_tp = meta["analysis"]["true_peak_dbtp"]
    assert max(tps) <= final_tp + 0.05  # never more than the take's analysis says (the line rounds to 0.1)
    # the last line drawn at 0:00:02 (at 2.75 s or later) measured the bank at most a second and one line (0.25 s)
    # before, so at least the take's first 1.25 s (one 40 ms input block to spare): its true peak is at least theirs
    from fieldrec.analysis.true_peak import TruePeakMeter

    data, rate = sf.read(str(audio), frames=int(1.25 * 48000), dtype="float64")
    meter = TruePeakMeter(rate, 2)
    meter.process(data)
    measured_by_then = 20 * np.log10(meter.max_abs.max())
    assert [tp for sec, _a, _b, tp in during if sec == 2][-1] >= measured_by_then - 0.05
    peak = 20 * np.log10(np.abs(sf.read(str(audio), dtype="float64")[0]).max(axis=0))
    assert all(a <= peak[0] + 0.05 and b <= peak[1] + 0.05 for _s, a, b, _tp in during)


def test_the_status_line_measures_the_meter_bank_once_a_second_and_keeps_the_take_readings_at_the_end(tmp_path):
    # the line is drawn 4 times a second; its peaks come from the newest audio on every line, the meter bank
    # (true peak, loudness, clips) is brought up to date once a second, on the line's own thread
    import io

    from fieldrec.cli import _LiveLine
    from fieldrec.recorder import Recorder, TakeSettings

    rec = Recorder(TakeSettings(device="simulated", samplerate=48000, channels=2, out_dir=tmp_path))
    try:
        take = rec.record({})
        deadline = time.monotonic() + 20
        while take.frames < 48000 and time.monotonic() < deadline:
            time.sleep(0.02)
        calls = []
        real = rec.meters

        def meters(measure=False):  # the real method; only how it is called is noted
            calls.append(measure)
            return real(measure=measure)

        rec.meters = meters
        line = _LiveLine(io.StringIO())
        shown = [line.render(rec, now=100.0 + 0.25 * i) for i in range(8)]  # two seconds of lines
        assert calls == [True, True]  # at 100.0 and 101.0, each bringing the bank up to the newest frame
        peaks = re.compile(r"peak dBFS \[\s*(-?\d+\.\d) +(-?\d+\.\d)\]  TP +(-?\d+\.\d) dBTP")
        assert all(peaks.search(text) for text in shown), shown
        rec.stop()
        result = take.wait(30)
        last = line.render(rec, final=True, now=103.0)  # the take is over: no measuring, its readings stay
        assert calls == [True, True]
        tp = float(peaks.search(last).group(3))
        assert tp == float(peaks.search(shown[-1]).group(3))
        assert tp <= result.analysis["true_peak_dbtp"] + 0.05
    finally:
        rec.close()
