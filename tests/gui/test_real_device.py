"""The window on a real PortAudio input: the private PulseAudio virtual device of tests/pulse_rig.py."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt

from fieldrec.recorder import TakeState

pytestmark = pytest.mark.audio

SR = 48000


def sine(seconds: float, hz: float = 1000.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([x, x], axis=1)


def test_record_a_fed_sine_from_the_virtual_device_by_name(make_window, gui_config, pulse_rig, qtbot):
    gui_config.device = pulse_rig.device_name
    gui_config.format_name = "WAV 32-bit float"
    w = make_window(gui_config)
    assert w.device_combo.currentData() == pulse_rig.device_name
    assert w.recorder is not None and w.recorder.state is TakeState.ARMED, w.banner.history
    feed = pulse_rig.feed(sine(6.0))
    try:
        # the views see the sine: spectrum peak at 1 kHz, peak meter near -6 dBFS
        qtbot.waitUntil(lambda: w.meters.bars.peak.max() > -7.0, timeout=10000)
        qtbot.waitUntil(lambda: abs((w.spectrum.peak_frequency() or 0) - 1000) < 15, timeout=5000)
        qtbot.mouseClick(w.record_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: w.recorder.status().elapsed_s >= 1.5, timeout=10000)
        result = w.stop().wait(30)
    finally:
        feed.wait(timeout=20)
    assert result.stop_reason == "user" and result.overflows == ()
    data, rate = sf.read(str(result.paths.audio), dtype="float32")
    assert rate == SR and len(data) == result.frames >= int(1.5 * SR)
    assert np.max(np.abs(data)) == pytest.approx(0.5, abs=0.01)


def test_unplugging_the_device_mid_take_is_shown_and_ends_the_take(make_window, gui_config, pulse_rig, qtbot):
    gui_config.device = pulse_rig.device_name
    w = make_window(gui_config)
    assert w.recorder is not None and w.recorder.state is TakeState.ARMED, w.banner.history
    assert w.record()
    qtbot.waitUntil(lambda: w.recorder.status().elapsed_s >= 0.5, timeout=10000)
    pulse_rig.unload_sink()  # the interface is gone
    qtbot.waitUntil(lambda: not w.is_recording(), timeout=20000)
    result = w.recorder.wait(30)  # the take finalises on its own thread after it ends
    assert result.stop_reason == "device_lost"
    qtbot.waitUntil(lambda: w.health.device.property("state") == "bad", timeout=5000)
    # the window says so on its next status tick after the take is final (not at the instant wait() returns)
    qtbot.waitUntil(lambda: any("device_lost" in t for _ts, _lvl, t in w.banner.history), timeout=5000)
    assert w.banner.level == "error"
    assert sf.info(str(result.paths.audio)).frames == result.frames > 0
    # a lost device is not an overflow and lost nothing: the window says the take ended because of it
    texts = [t for _ts, _lvl, t in w.banner.history]
    assert not any("OVERFLOW" in t or "audio is missing" in t for t in texts), texts
    assert any("because the input device was lost" in t for t in texts), texts
    assert w.health.overflows.text() == "Overflows 0"
