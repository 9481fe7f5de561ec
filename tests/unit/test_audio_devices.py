"""Device naming rules and Capture on the simulated source."""

import time

import numpy as np
import pytest

from fieldrec.audio import devices
from fieldrec.audio.devices import (
    SIMULATED,
    DeviceError,
    DeviceInfo,
    check_input_settings,
    match_device,
    resolve_device,
)
from fieldrec.audio.stream import Capture, CaptureEvent, ring_frames_for


def test_simulated_resolves_by_name_and_index():
    assert resolve_device("simulated").index == -1
    assert resolve_device("  Simulated ").name == SIMULATED
    assert resolve_device(-1).is_simulated
    assert any(d.is_simulated for d in devices.list_input_devices())
    assert not any(d.is_simulated for d in devices.list_input_devices(include_simulated=False))


def test_unknown_name_lists_candidates():
    with pytest.raises(DeviceError, match="no input device matches 'no-such-mic-xyz'.*simulated"):
        resolve_device("no-such-mic-xyz")
    with pytest.raises(DeviceError, match="no input device has index 4242"):
        resolve_device(4242)


def test_name_rules_exact_wins_substring_unique_ambiguous_lists():
    fake = [DeviceInfo(0, "USB Mic", "ALSA", 2, 48000.0), DeviceInfo(1, "USB Mic Pro", "ALSA", 4, 48000.0),
            DeviceInfo(2, "Zoom F3", "ALSA", 2, 96000.0)]
    # The naming rules over a given list; the real PortAudio listing is covered by the integration tests.
    assert match_device("usb mic", fake).index == 0
    assert match_device("zoom", fake).index == 2
    assert match_device("2", fake).index == 2
    assert match_device(1, fake).index == 1
    assert match_device("SIMULATED", fake).is_simulated
    with pytest.raises(DeviceError, match=r"ambiguous; matches 0: 'USB Mic', 1: 'USB Mic Pro'"):
        match_device("usb", fake)
    with pytest.raises(DeviceError, match=r"no input device matches 'rode'; inputs are 0: 'USB Mic'"):
        match_device("rode", fake)


def test_check_settings_on_simulated():
    sim = resolve_device(SIMULATED)
    check_input_settings(sim, 192000, 8, "int32")
    with pytest.raises(DeviceError, match="at most 32 channels"):
        check_input_settings(sim, 48000, 33, "float32")
    with pytest.raises(DeviceError, match="8000-384000 Hz, not 500000"):
        check_input_settings(sim, 500000, 2, "float32")
    with pytest.raises(DeviceError, match="use one of int16, int32, float32"):
        check_input_settings(sim, 48000, 2, "float64")


def test_ring_size_bounds():
    assert ring_frames_for(48000, 2, "float32", 10) == 480000
    assert ring_frames_for(8000, 1, "int16", 1) * 2 == 2 * 1024 * 1024
    assert ring_frames_for(192000, 32, "float32", 10) * 32 * 4 <= 64 * 1024 * 1024


def test_capture_on_simulated_source_fills_ring_and_notices_loss():
    cap = Capture(resolve_device(SIMULATED), 48000, 2, "int16", blocksize=480)
    cap.start()
    deadline = time.monotonic() + 5
    while cap.ring.write_count < 24000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cap.ring.write_count >= 24000 and cap.callback_count >= 50
    assert cap.active and not cap.device_lost and cap.events() == []
    cap._stream.disconnect()  # the simulated "unplug"
    deadline = time.monotonic() + 5
    while not cap.device_lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cap.device_lost
    assert [e.kind for e in cap.events()] == ["device_lost"]
    cap.close()
    assert cap.error is None


def test_capture_stop_is_not_a_lost_device():
    cap = Capture(resolve_device(SIMULATED), 44100, 1, "float32")
    cap.start()
    time.sleep(0.2)
    cap.stop()
    time.sleep(0.1)
    assert not cap.active and not cap.device_lost
    cap.close()


class _Flags:
    def __init__(self, overflow: bool) -> None:
        self.input_overflow = overflow


def test_capture_callback_records_input_overflow_at_ring_position():
    cap = Capture(resolve_device(SIMULATED), 48000, 2, "int32", blocksize=64)
    block = np.arange(128, dtype=np.int32).reshape(64, 2)
    cb = cap.callback  # the very function the stream calls
    cb(block, 64, None, _Flags(False))
    cb(block, 64, None, _Flags(True))
    assert cap.callback_count == 2 and cap.ring.write_count == 128
    assert cap.events() == [CaptureEvent("input_overflow", 128, 0)]
    np.testing.assert_array_equal(cap.ring.latest(64), block)
    cap.close()


def test_capture_guarded_ring_overrun_becomes_an_event():
    cap = Capture(resolve_device(SIMULATED), 8000, 1, "int16", blocksize=100)
    cap.ring.guard = 0  # a writer that never reads
    block = np.zeros((100, 1), np.int16)
    pushes = cap.ring.capacity // 100 + 3
    for _ in range(pushes):
        cap.callback(block, 100, None, _Flags(False))
    ev = cap.events()
    assert ev and all(e.kind == "ring_overrun" and e.frames == 100 for e in ev)
    assert ev[0].frame == cap.ring.write_count == (cap.ring.capacity // 100) * 100
    cap.close()


def test_callback_error_in_simulated_stream_is_reported():
    cap = Capture(resolve_device(SIMULATED), 8000, 1, "float32", blocksize=80)
    cap.start()
    cap._stream._callback = lambda *a: 1 / 0  # fault on purpose: the stream thread's callback raises
    deadline = time.monotonic() + 5
    while not cap.device_lost and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cap.device_lost and "ZeroDivisionError" in (cap.error or "")
    cap.close()
