"""The whole take through real PortAudio: `fieldrec record` from the private PulseAudio virtual input
(tests/pulse_rig.py). The file must hold the fed signal sample for sample, and unplugging the device mid-take
must leave a valid file and a sidecar that says where the audio ended."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fieldrec.audio.stream import UNATTENDED_BLOCK_S, default_blocksize
from tests.pulse_rig import find_start, known_signal
from tests.readers import ffprobe_info, fieldrec_cmd, isolated_env, sox_info, validate_sidecar

pytestmark = pytest.mark.audio
RATE = 48000


def only_take(folder: Path, ext: str = ".wav") -> tuple[Path, dict]:
    (audio,) = folder.glob(f"*{ext}")
    return audio, json.loads(audio.with_suffix(".json").read_text())


def wait_for_file(folder: Path, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(folder.glob("*.wav"))
        # a take's file is reserved empty before its header is written: wait for a header before asking
        if found and found[0].stat().st_size > 1024 and sf.info(str(found[0])).frames > RATE // 2:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("the take did not start writing")


@pytest.mark.parametrize(("fmt", "bits", "dtype"), [("float", None, "float32"), ("wav24", 24, "int32"),
                                                     ("wav16", 16, "int16")])
def test_recorded_file_is_bit_exact_to_the_fed_signal(pulse_rig, tmp_path, fmt, bits, dtype):
    fed = known_signal(4.0, quantise_bits=bits)
    out = tmp_path / "o"
    rec = subprocess.Popen(fieldrec_cmd("record", "--device", pulse_rig.device_name, "-r", str(RATE), "-c", "2",
                                        "-f", fmt, "-t", "7", "-o", str(out), "-q"),
                           env=isolated_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_file(out)
        monitor = pulse_rig.arecord_monitor(6, tmp_path / "arecord.wav")  # to tell rig gaps from ours
        feeder = pulse_rig.feed(fed)
        assert feeder.wait(timeout=30) == 0
        stdout, stderr = rec.communicate(timeout=30)
        monitor.wait(timeout=30)
    finally:
        rec.kill()
    assert rec.returncode == 0, stderr
    audio, meta = only_take(out)
    validate_sidecar(meta)
    assert meta["recording"]["device"]["name"] == pulse_rig.device_name
    assert meta["recording"]["overflows"] == [], meta["recording"]["overflows"]
    # nobody watches `fieldrec record` at frame rate: it asks for 0.34 s blocks (UNATTENDED_BLOCK_S), and the
    # fed signal still arrives sample for sample
    assert meta["recording"]["blocksize"] == default_blocksize(RATE, UNATTENDED_BLOCK_S) == 16384
    got, sr = sf.read(str(audio), dtype="float32")
    assert sr == RATE and got.shape[1] == 2
    start = find_start(got, fed)
    if not np.array_equal(got[start:start + len(fed)], fed):
        ref, _ = sf.read(str(tmp_path / "arecord.wav"), dtype="float32")
        rig_ok = np.array_equal(ref[find_start(ref, fed):][: len(fed)], fed) if len(ref) else False
        bad = np.flatnonzero(np.any(got[start:start + len(fed)] != fed, axis=1))
        pytest.fail(f"{len(bad)} frames differ, first at {bad[0]}; arecord of the same input "
                    f"{'is exact, so the recorder' if rig_ok else 'differs too, so the rig'} lost them")
    assert sox_info(audio)["frames"] == len(got) == meta["audio"]["frames"]
    assert ffprobe_info(audio)["frames"] == len(got)


def test_unplugging_the_device_mid_take_keeps_a_valid_file(pulse_rig, tmp_path):
    out = tmp_path / "o"
    rec = subprocess.Popen(fieldrec_cmd("record", "--device", pulse_rig.device_name, "-r", str(RATE), "-c", "2",
                                        "-o", str(out), "-q"),
                           env=isolated_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        feeder = pulse_rig.feed(known_signal(3.0))
        audio = wait_for_file(out)
        time.sleep(1.0)
        pulse_rig.unload_sink()  # the interface is unplugged
        stdout, stderr = rec.communicate(timeout=30)
        feeder.kill()
    finally:
        rec.kill()
    assert rec.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "device was lost" in stderr and str(audio) in stderr
    _, meta = only_take(out)
    validate_sidecar(meta)
    frames = sf.info(str(audio)).frames
    assert meta["recording"]["stop_reason"] == "device_lost"
    assert meta["audio"]["frames"] == frames >= RATE
    lost = [e for e in meta["recording"]["overflows"] if e["kind"] == "device_lost"]
    assert len(lost) == 1 and lost[0]["frame"] == frames
    assert sox_info(audio)["frames"] == frames


def test_devices_command_lists_the_virtual_input_and_the_simulated_source(pulse_rig, tmp_path):
    env = isolated_env(tmp_path)
    proc = subprocess.run(fieldrec_cmd("devices", "--json"), capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    devices = {d["name"]: d for d in json.loads(proc.stdout)}
    rig = devices[pulse_rig.device_name]
    assert rig["hostapi"] == "ALSA" and rig["max_input_channels"] >= 2 and rig["index"] >= 0
    assert set(rig) == {"index", "name", "hostapi", "max_input_channels", "default_samplerate"}
    assert devices["simulated"]["index"] == -1
    table = subprocess.run(fieldrec_cmd("devices"), capture_output=True, text=True, env=env, timeout=60)
    assert table.returncode == 0 and pulse_rig.device_name in table.stdout and "host API" in table.stdout


def _thread_faults(pid: int, name: str) -> int:
    """Minor page faults so far of the thread of ``pid`` named ``name`` (/proc/<pid>/task/<tid>/stat)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (task / "comm").read_text().strip() == name:
            return int((task / "stat").read_text().rsplit(")", 1)[1].split()[7])
    raise AssertionError(f"no thread {name!r} in process {pid}")


def test_the_meter_thread_reuses_its_memory_instead_of_faulting_in_fresh_pages(pulse_rig, tmp_path):
    """`record` keeps freed memory (malloc_tuning). With glibc's defaults, in a process with PortAudio's
    PulseAudio input the meter thread's temporaries (about 190 kB each for a 0.25 s batch at 48 kHz / 2 ch)
    went back to the system when freed and came back as fresh zeroed pages: about 790 page faults a second of
    audio (3,500 in this window); with the setting, a few a second."""
    out = tmp_path / "o"
    feeder = pulse_rig.feed((0.1 * np.random.default_rng(1).standard_normal((16 * RATE, 2))).astype(np.float32))
    rec = subprocess.Popen(fieldrec_cmd("record", "--device", pulse_rig.device_name, "-r", str(RATE), "-c", "2",
                                        "-f", "wav24", "-t", "10", "-o", str(out), "-q"),
                           env=isolated_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_file(out)
        time.sleep(1.5)
        before = _thread_faults(rec.pid, "fieldrec-meters")
        time.sleep(4.5)  # two of the meter thread's batches (every 2 s when nobody reads the meters)
        faults = _thread_faults(rec.pid, "fieldrec-meters") - before
    finally:
        rec.kill()
        rec.wait(timeout=10)
        feeder.kill()
        feeder.wait(timeout=10)
    assert faults < 300, f"{faults} page faults in the meter thread over 4.5 s of audio"
