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
from fieldrec.audio.events import AudioEvent, EventTally
from fieldrec.audio.stream import Capture, ring_frames_for


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
    assert cap.active and not cap.device_lost and cap.ring.event_count == 0 and cap.lost_frame is None
    cap._stream.disconnect()  # the simulated "unplug"
    deadline = time.monotonic() + 5
    while not cap.device_lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cap.device_lost
    assert cap.lost_frame == cap.ring.write_count
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


class _Time:
    def __init__(self, adc: float) -> None:
        self.inputBufferAdcTime = adc


def test_capture_callback_records_input_overflow_where_the_gap_is_with_its_size():
    sr = 48000
    cap = Capture(resolve_device(SIMULATED), sr, 2, "int32", blocksize=64)
    block = np.arange(128, dtype=np.int32).reshape(64, 2)
    cb = cap.callback  # the very function the stream calls
    cap_events = EventTally(cap.ring, 0, sr)  # a take that starts at the stream's first frame
    t0 = 100.0
    cb(block, 64, _Time(t0), _Flags(False))
    cb(block, 64, _Time(t0 + 64 / sr), _Flags(True))  # flagged, but the blocks are contiguous: nothing lost
    cb(block, 64, _Time(t0 + (128 + 640) / sr), _Flags(True))  # 640 frames never arrived before this block
    cb(block, 64, _Time(0.0), _Flags(True))  # a backend without timestamps: size unknown
    assert cap.callback_count == 4 and cap.ring.write_count == 256
    cap_events.drain()
    assert cap_events.events == (
        AudioEvent("input_overflow", 64, 64 / sr, 0),
        AudioEvent("input_overflow", 128, 128 / sr, 640),
        AudioEvent("input_overflow", 192, 192 / sr, None),
    )
    totals = cap_events.totals
    assert (totals.events, totals.frames_lost, totals.unknown_loss_events) == (3, 640, 1)
    np.testing.assert_array_equal(cap.ring.latest(64), block)
    cap.close()


def test_capture_guarded_ring_overrun_becomes_an_event():
    cap = Capture(resolve_device(SIMULATED), 8000, 1, "int16", blocksize=100)
    cap.ring.guard = 0  # a writer that never reads
    block = np.zeros((100, 1), np.int16)
    pushes = cap.ring.capacity // 100 + 3
    tally = EventTally(cap.ring, 0, 8000)
    for i in range(pushes):
        cap.callback(block, 100, _Time(1.0 + i * 100 / 8000), _Flags(False))
    tally.drain()
    ev = tally.events
    assert len(ev) == 3 and all(e.kind == "ring_overrun" and e.frames_lost == 100 for e in ev)
    assert ev[0].frame == cap.ring.write_count == (cap.ring.capacity // 100) * 100
    assert tally.totals.frames_lost == 300
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
