"""Capture through real PortAudio from the private PulseAudio virtual input (tests/pulse_rig.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from fieldrec.audio import devices
from fieldrec.audio.devices import DeviceError, check_input_settings, list_input_devices, resolve_device
from fieldrec.audio.levels import to_float
from fieldrec.audio.stream import Capture, default_blocksize
from tests.pulse_rig import find_start, known_signal

pytestmark = pytest.mark.audio
RATE = 48000


def wait_until(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_rig_device_is_listed_and_resolves(pulse_rig):
    names = [d.name for d in list_input_devices()]
    assert pulse_rig.device_name in names and "simulated" in names
    dev = resolve_device(pulse_rig.device_name)  # exact name wins over the twin "fieldrec_vin2"
    assert dev.name == pulse_rig.device_name and dev.hostapi == "ALSA" and dev.max_input_channels >= 2
    assert resolve_device("FIELDREC_VIN2").name == "fieldrec_vin2"
    with pytest.raises(DeviceError, match=r"'fieldrec' is ambiguous; matches \d+: 'fieldrec_vin', \d+: 'fieldrec_vin2'"):
        resolve_device("fieldrec")
    assert resolve_device(str(dev.index)) == dev
    default = resolve_device(None)  # the ALSA default goes to PulseAudio, whose default source is the rig's
    assert not default.is_simulated and default.hostapi == "ALSA"
    devices.refresh()  # re-scan keeps the rig device
    assert resolve_device(pulse_rig.device_name).name == pulse_rig.device_name


def test_capture_is_bit_exact_to_the_fed_signal(pulse_rig, tmp_path):
    pattern = known_signal(4.0)
    dev = resolve_device(pulse_rig.device_name)
    cap = Capture(dev, RATE, 2, "float32")
    cap.ring.guard = 0  # nothing may be lost in this test: any overrun would be an event
    cursor = 0
    chunks = []
    cap.start()
    monitor = pulse_rig.arecord_monitor(7, tmp_path / "arecord.wav")
    feeder = pulse_rig.feed(pattern)
    while feeder.poll() is None:
        data, cursor, lost = cap.ring.read(cursor, RATE)
        cap.ring.guard = cursor
        assert lost == 0
        chunks.append(data)
        time.sleep(0.1)
    assert feeder.wait(timeout=30) == 0, "pacat failed (see the rig's pacat-*.log)"
    end_at = cap.ring.write_count + RATE // 2
    wait_until(lambda: cap.ring.write_count >= end_at, 10)
    cap.stop()
    chunks.append(cap.ring.read(cursor, 10**8)[0])
    captured = np.concatenate(chunks)
    assert cap.ring.event_count == 0 and not cap.device_lost and cap.error is None
    # no block size asked: fieldrec's (2048 frames at 48 kHz), and PortAudio delivers exactly that per callback
    assert cap.blocksize == default_blocksize(RATE) == 2048
    assert cap.ring.write_count == cap.callback_count * cap.blocksize
    monitor.wait(timeout=20)
    try:
        start = find_start(captured, pattern)
        got = captured[start:start + pattern.shape[0]]
        assert got.shape == pattern.shape, "capture ended before the whole pattern arrived"
        assert np.array_equal(got, pattern)
        assert not np.any(captured[:start]), "only silence precedes the pattern"
    except AssertionError:
        ref, _ = sf.read(tmp_path / "arecord.wav", dtype="float32")
        try:
            s = find_start(ref, pattern)
            rig_ok = np.array_equal(ref[s:s + pattern.shape[0]], pattern)
        except AssertionError:
            rig_ok = False
        pytest.fail(f"capture differs from the fed signal; arecord of the same device "
                    f"{'matched it, so the recorder lost data' if rig_ok else 'also differs: the rig itself glitched'}")
    cap.close()


def test_capture_notices_the_device_unplugged(pulse_rig):
    cap = Capture(resolve_device(pulse_rig.device_name), RATE, 2, "int16")
    cap.start()
    assert wait_until(lambda: cap.callback_count > 5, 10), "the virtual device delivered no blocks"
    assert not cap.device_lost
    pulse_rig.unload_sink()
    assert wait_until(lambda: cap.device_lost, 8), "the unplugged device went unnoticed"
    frames = cap.ring.write_count
    assert cap.lost_frame is not None and cap.lost_frame <= frames
    time.sleep(0.3)
    assert cap.ring.write_count == frames and not cap.active
    cap.close()  # no hang, no exception


def test_check_input_settings_refusals_name_what_is_supported(pulse_rig):
    dev = resolve_device(pulse_rig.device_name)
    # The pulse ALSA plugin remaps channels and resamples: it accepts 1..32 channels, 8 kHz..384 kHz.
    check_input_settings(dev, 48000, 2, "int32")
    check_input_settings(dev, 44100, 9, "float32")
    with pytest.raises(DeviceError, match=r"cannot capture 33 channels.*at most 32 input channels; "
                                          r"rates: 44100, 48000, 88200, 96000, 176400, 192000"):
        check_input_settings(dev, 48000, 33, "float32")
    with pytest.raises(DeviceError, match=r"cannot capture 1000000 Hz with 2 channels.*rates: 44100, 48000"):
        check_input_settings(dev, 1_000_000, 2, "float32")
    with pytest.raises(DeviceError, match="cannot capture 33 channels"):
        Capture(dev, 48000, 33, "float32")


@pytest.mark.parametrize(("dtype", "lsb"), [("int16", 2.0**-15), ("int32", 2.0**-31)])
def test_integer_capture_matches_the_fed_signal_within_conversion(pulse_rig, dtype, lsb):
    """The take captures PCM_16 as int16 and PCM_24/32 as int32: PulseAudio converts, we must not distort."""
    pattern = known_signal(2.0, seed=11)
    cap = Capture(resolve_device(pulse_rig.device_name), RATE, 2, dtype)
    cap.start()
    feeder = pulse_rig.feed(pattern)
    assert feeder.wait(timeout=30) == 0
    end_at = cap.ring.write_count + RATE // 2
    wait_until(lambda: cap.ring.write_count >= end_at, 10)
    cap.stop()
    data, _, lost = cap.ring.read(0, 10**8)
    cap.close()
    assert lost == 0 and data.dtype == np.dtype(dtype) and cap.ring.event_count == 0
    x = to_float(data, dtype).astype(np.float64)
    start = int(np.flatnonzero(np.abs(x[:, 0]) > 0.5)[0])
    got = x[start:start + pattern.shape[0]]
    assert got.shape == pattern.shape
    # PulseAudio scales float32 by 2**15 / 2**31 and rounds (measured: max error exactly half an LSB).
    err = np.abs(got - pattern.astype(np.float64))
    assert err.max() <= 0.5 * lsb * (1 + 1e-9), f"{err.max() / lsb:.3f} LSB"
