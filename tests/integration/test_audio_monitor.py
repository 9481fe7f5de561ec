"""Headphone monitoring through the virtual PulseAudio rig: what reaches a second null sink equals the input
with the gain applied, and a monitor output that fails leaves the capture intact."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sounddevice as sd
from pulse_rig import RATE, find_start, known_signal

from fieldrec.audio.channels import parse_channel_pair
from fieldrec.audio.devices import resolve_device, resolve_output_device
from fieldrec.audio.monitor import Monitor, MonitorError, parse_gain_db
from fieldrec.audio.stream import Capture

pytestmark = pytest.mark.audio


@pytest.fixture
def out_sink(pulse_rig):
    pulse_rig.load_out_sink()
    yield pulse_rig
    pulse_rig.unload_out_sink()


def wait_frames(cap: Capture, frames: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while cap.ring.write_count < frames and time.monotonic() < deadline:
        time.sleep(0.05)


def start_in_signal(data: np.ndarray, sig: np.ndarray, scale: float) -> int:
    """Where ``sig * scale`` begins in ``data`` (its marker frames, then its first samples)."""
    want = (sig[:80] * np.float32(scale)).astype(np.float32)
    for h in np.flatnonzero(np.all(np.abs(data - want[0]) < 1e-7, axis=1)):
        if h + 80 <= len(data) and np.allclose(data[h:h + 80], want, atol=1e-7, rtol=0):
            return int(h)
    raise AssertionError("the fed signal (with gain) is not in the monitor output")


@pytest.mark.slow
def test_monitor_output_equals_the_input_with_the_gain_applied(out_sink, tmp_path):
    rig = out_sink
    sig = known_signal(4.0)
    cap = Capture(resolve_device(rig.device_name), RATE, 2, "float32")
    rec = rig.parec_out_sink(tmp_path / "out.f32")
    mon = Monitor(rig.out_device_name, RATE, 2, gain_db=parse_gain_db("-6dB"), latency="high", prefill_s=0.15)
    try:
        cap.start()
        mon.start()
        mon.attach(cap.ring)
        feeder = rig.feed(sig)
        feeder.wait(30)
        wait_frames(cap, int(5.5 * RATE), 20)
        time.sleep(1.0)  # let the monitor play out what it has queued
        st = mon.status()
    finally:
        mon.close()
        cap.close()
        rec.terminate()
        rec.wait(10)
    out = np.fromfile(tmp_path / "out.f32", dtype="<f4").reshape(-1, 2)
    g = np.float32(10 ** (-6 / 20))
    i = start_in_signal(out, sig, g)
    n = min(len(sig), len(out) - i)
    assert n >= 3 * RATE, f"only {n} frames of the signal reached the monitor sink ({st})"
    if st.underruns == 0:
        np.testing.assert_allclose(out[i:i + n], sig[:n] * g, atol=1e-7, rtol=0)
    else:  # a busy machine: the monitor counted gaps; every played stretch must still be the input
        pytest.fail(f"monitor underran on this run ({st.summary()}); the capture is checked separately")
    assert st.failed is None and st.running
    assert st.latency_s is not None and 0 < st.latency_s < 2.0
    assert "latency" in st.summary() and "-6.0 dB" in st.summary()
    # the capture itself is untouched by the monitor
    data, _, lost = cap.ring.read(0, cap.ring.write_count)
    j = find_start(data, sig)
    assert lost == 0 and np.array_equal(data[j:j + len(sig)], sig)


@pytest.mark.slow
def test_a_failing_monitor_sink_leaves_the_capture_intact(out_sink):
    rig = out_sink
    sig = known_signal(3.0)
    cap = Capture(resolve_device(rig.device_name), RATE, 2, "float32")
    mon = Monitor(rig.out_device_name, RATE, 2, channels=parse_channel_pair("2,1", 2), latency="high")
    try:
        cap.start()
        mon.start()
        mon.attach(cap.ring)
        feeder = rig.feed(sig)
        time.sleep(1.5)
        rig.suspend_out_sink()  # the headphone output stops taking audio mid-take
        feeder.wait(30)
        wait_frames(cap, int(4.5 * RATE), 20)
        data, cursor, lost = cap.ring.read(0, cap.ring.write_count)
        deadline = time.monotonic() + 10
        st = mon.status()
        while st.failed is None and time.monotonic() < deadline:
            time.sleep(0.2)
            st = mon.status()
        mon.feed(sig[:100])  # feeding a failed monitor is harmless
        time.sleep(0.5)
        _more, _cursor, lost_after = cap.ring.read(cursor, cap.ring.write_count - cursor)
        frames_after = cap.ring.write_count
    finally:
        rig.suspend_out_sink(False)  # else closing waits for ALSA's own timeout
        mon.close()
        cap.close()
    assert st.failed is not None, st
    assert "FAILED" in st.summary() and "recording goes on" in st.summary()
    j = find_start(data, sig)
    assert lost == 0 and np.array_equal(data[j:j + len(sig)], sig)
    assert lost_after == 0 and frames_after > cursor  # the capture kept running after the monitor failed
    assert cap.ring.dropped_frames == 0 and cap.lost_frame is None


def test_monitor_devices_and_settings_that_cannot_work(out_sink):
    with pytest.raises(MonitorError, match="no output device matches 'no-such-headphones'"):
        Monitor("no-such-headphones", RATE, 2)
    with pytest.raises(MonitorError, match="has 32 output channels, the take 33; choose a pair"):
        Monitor(out_sink.out_device_name, RATE, 33)
    with pytest.raises(MonitorError, match="must be one or two of"):
        Monitor(out_sink.out_device_name, RATE, 2, channels=(0, 5))
    for bad in ("loud", "+40dB"):
        with pytest.raises(MonitorError):
            parse_gain_db(bad)
    with pytest.raises(MonitorError, match="cannot open monitor output 'rig_monitor_out' at 7 Hz"):
        Monitor(out_sink.out_device_name, 7, 2)
    assert resolve_output_device(None).name == "default"  # PortAudio's default output (PulseAudio here)
    assert parse_gain_db("+3 dB") == 3.0 and parse_gain_db(-6) == -6.0
    mono = Monitor(out_sink.out_device_name, RATE, 4, channels=parse_channel_pair("3", 4))
    try:
        assert mono.out_channels == 2 and mono.columns == (2,)
        mono.start()
        x = np.arange(12, dtype=np.int16).reshape(3, 4) * 1000
        mono.feed(x)
        got = np.zeros((3, 2), np.float32)
        mono.buffer.read_into(got)
        assert np.array_equal(got[:, 0], x[:, 2] / np.float32(32768)) and np.array_equal(got[:, 0], got[:, 1])
    finally:
        mono.close()
    mono.close()  # closing twice is harmless
    with pytest.raises(MonitorError, match="cannot start monitor output 'rig_monitor_out'"):
        mono.start()  # a stream PortAudio no longer has, as after a device is gone

    def gone():
        raise sd.PortAudioError("Unanticipated host error [PaErrorCode -9999]")

    mono.failed = None
    mono._quietly(gone)  # what stop() and close() do when the device has vanished: record it, never raise
    assert mono.failed == "Unanticipated host error [PaErrorCode -9999]"
