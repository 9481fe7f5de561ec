"""FieldSignal (deterministic field scene) and SimulatedStream (real-time-paced callbacks)."""

import threading
import time

import numpy as np
import pytest

from fieldrec.audio.levels import peak_of, to_float
from fieldrec.audio.simulated import FieldSignal, SimulatedStream


def test_render_is_deterministic_and_independent_of_block_sizes():
    whole = FieldSignal(48000, 3, seed=5).render(30000)
    sig = FieldSignal(48000, 3, seed=5)
    parts = np.concatenate([sig.render(n) for n in (1, 399, 4096, 7, 10000, 15497)])
    assert parts.dtype == np.float32 and parts.shape == (30000, 3)
    np.testing.assert_array_equal(whole, parts)
    assert not np.array_equal(whole, FieldSignal(48000, 3, seed=6).render(30000))


def test_scene_levels_birds_and_clipping():
    sr = 48000
    x = FieldSignal(sr, 2, seed=1).render(sr * 13).astype(np.float64)
    over = np.abs(x) > 1.0
    assert over.any(), "a knock exceeding full scale happens within 13 s"
    # Clipping is brief: a few milliseconds per knock, not a stuck signal.
    assert over[:, 0].sum() < 0.02 * sr * 3
    rms_db = 20 * np.log10(np.sqrt(np.mean(x**2, axis=0)))
    assert np.all((rms_db > -45) & (rms_db < -15))
    # Birds: a good share of energy between 2 and 8 kHz; wind: energy below 200 Hz.
    spec = np.abs(np.fft.rfft(x[: sr * 4, 0])) ** 2
    f = np.fft.rfftfreq(sr * 4, 1 / sr)
    bird = spec[(f > 2000) & (f < 8000)].sum() / spec.sum()
    wind = spec[f < 200].sum() / spec.sum()
    assert bird > 0.05 and wind > 0.05
    # Channels are related but not identical.
    c = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    assert -0.9 < c < 0.99


def test_to_float_scales_integer_full_scale():
    assert to_float(np.array([[-32768, 16384]], np.int16)).tolist() == [[-1.0, 0.5]]
    assert to_float(np.array([[-(2**31), 2**30]], np.int32)).tolist() == [[-1.0, 0.5]]
    f = to_float(np.array([[0.25, -2.0]], np.float32))
    assert f.dtype == np.float32 and f.tolist() == [[0.25, -2.0]]
    with pytest.raises(ValueError, match="int16, int32 or float32"):
        to_float(np.zeros((1, 1), np.uint8))


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_peak_of_is_the_peak_of_the_float_samples(dtype):
    rng = np.random.default_rng(3)
    if dtype == "float32":
        x = (0.3 * rng.standard_normal((4000, 3))).astype(np.float32)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min // 3, info.max // 3, (4000, 3)).astype(dtype)
        x[17, 1] = info.min  # the most negative code: |x| = full scale, which int abs() cannot hold
        x[99, 2] = info.max
    got = peak_of(x)
    assert got.dtype == np.float64 and got.shape == (3,)
    np.testing.assert_allclose(got, np.abs(to_float(x).astype(np.float64)).max(axis=0), rtol=1e-7)
    if dtype != "float32":
        assert got[1] == 1.0 and got[2] == info.max / -info.min
    assert peak_of(x[:0]).tolist() == [0.0, 0.0, 0.0]
    assert peak_of(x[:, 1]).tolist() == [got[1]]  # one channel as a 1-D block
    with pytest.raises(ValueError, match="int16, int32 or float32"):
        peak_of(np.zeros((1, 1), np.uint8))


@pytest.mark.parametrize("dtype", ["int16", "int32", "float32"])
def test_simulated_stream_paces_blocks_and_converts_type(dtype):
    got = []
    finished = threading.Event()

    def cb(indata, frames, time_info, status):
        assert not status.input_overflow
        got.append(indata.copy())

    s = SimulatedStream(48000, 2, dtype, 480, cb, finished.set, seed=3)
    t0 = time.monotonic()
    s.start()
    assert s.active
    time.sleep(1.0)
    s.stop()
    elapsed = time.monotonic() - t0
    assert finished.wait(2) and not s.active
    frames = sum(b.shape[0] for b in got)
    # Real-time pace, generous bounds: no more than elapsed time allows, and not starved.
    assert frames <= 48000 * elapsed + 480
    assert frames >= 48000 * 0.5
    data = np.concatenate(got)
    assert data.dtype == np.dtype(dtype)
    ref = FieldSignal(48000, 2, seed=3).render(data.shape[0])
    if dtype == "float32":
        np.testing.assert_array_equal(data, ref)
    else:
        fs = 32768.0 if dtype == "int16" else 2.0**31
        expect = np.clip(np.rint(ref.astype(np.float64) * fs), -fs, fs - 1)
        np.testing.assert_array_equal(data.astype(np.float64), expect)


def test_simulated_stream_disconnect_finishes_without_stop():
    finished = threading.Event()
    s = SimulatedStream(8000, 1, "float32", 80, lambda *a: None, finished.set)
    s.start()
    s.disconnect()
    assert finished.wait(2)
    assert not s.active
    s.close()


def test_a_late_callback_overflows_the_simulated_buffer_like_a_device():
    """A callback that blocks for longer than the stream's buffer (here 0.5 s against 0.1 s) loses blocks,
    and the next callback is told so with ``status.input_overflow``, as PortAudio does."""
    seen: list[bool] = []
    done = threading.Event()

    def callback(indata, frames, time_info, status):
        seen.append(bool(status.input_overflow))
        if len(seen) == 5:
            time.sleep(0.5)  # a blocking callback: exactly what fieldrec's callback never does
        if len(seen) >= 12:
            done.set()

    stream = SimulatedStream(48000, 2, "float32", 480, callback, buffer_seconds=0.1)
    stream.start()
    try:
        assert done.wait(10)
    finally:
        stream.close()
    assert seen[:5] == [False] * 5
    assert seen[5] is True  # the first callback after the stall is told (later ones only if the busy
    # machine starves the stream again, which a loaded CI box may do)
    assert stream.blocks_lost >= 30  # 0.5 s late, 0.1 s buffered: about 40 blocks of 10 ms gone
