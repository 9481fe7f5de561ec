"""MeterBank and its pieces on plain arrays: known answers from physics and BS.1770."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from fieldrec.analysis.clipping import ClipCounter, pcm_clip_level
from fieldrec.analysis.kweighting import k_weighting_sos
from fieldrec.analysis.loudness import channel_weights
from fieldrec.analysis.meters import MeterBank, MeterSnapshot
from fieldrec.analysis.true_peak import TruePeakMeter, interpolator_phases, oversampling_factor

FS = 48000


LEVEL_KEYS = (
    "sample_peak_dbfs",
    "true_peak_dbtp",
    "rms_dbfs",
    "integrated_lufs",
    "momentary_max_lufs",
    "short_term_max_lufs",
    "loudness_range_lu",
    "noise_floor_dbfs",
    "snr_db",
)

def tone(
    freq: float, amp: float, seconds: float, fs: int = FS, phase: float = 0.0, ch: int = 2
) -> np.ndarray:
    t = np.arange(int(round(seconds * fs))) / fs
    x = amp * np.sin(2 * np.pi * freq * t + phase)
    return np.repeat(x[:, None], ch, axis=1)


def field_like(seconds: float, fs: int, seed: int = 0) -> np.ndarray:
    """Pink-ish noise, chirps and a few bursts, stereo: something like a field recording."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    noise = signal.lfilter([1.0], [1.0, -0.97], rng.normal(0, 0.004, (n, 2)), axis=0)
    chirp = 0.2 * signal.chirp(t % 1.5, 2000, 1.5, 6000)[:, None] * (np.sin(np.pi * t / 3.0) ** 8)[:, None]
    burst = np.zeros((n, 2))
    for start in rng.uniform(0, seconds - 0.3, 4):
        i = int(start * fs)
        burst[i : i + int(0.2 * fs)] += 0.5 * rng.normal(0, 0.3, (int(0.2 * fs), 2))
    return np.clip(noise + chirp * [1.0, 0.7] + burst, -1.0, 1.0)


def test_full_scale_sine_reads_0_dbfs_peak_and_minus_3_rms() -> None:
    bank = MeterBank(FS, 2)
    bank.process(tone(997.0, 1.0, 1.0, phase=np.pi / 2))  # phase 90 deg: sample 0 is exactly 1.0
    r = bank.result()
    assert round(r["sample_peak_dbfs"], 2) == 0.00
    assert r["rms_dbfs"] == pytest.approx(-3.0103, abs=0.01)
    assert r["per_channel"][1]["rms_dbfs"] == pytest.approx(-3.0103, abs=0.01)
    snap = bank.snapshot()
    assert snap.rms_dbfs[0] == pytest.approx(-3.0103, abs=0.01)  # live 300 ms window
    assert snap.max_peak_dbfs == (0.0, 0.0)


def test_hard_clipped_sine_counts_26000_samples_in_2000_events() -> None:
    x = np.clip(tone(1000.0, 1.5, 1.0), -1.0, 1.0)
    bank = MeterBank(FS, 2)
    bank.process(x)
    r = bank.result()
    assert [c["clipped_samples"] for c in r["per_channel"]] == [26000, 26000]
    assert [c["clip_events"] for c in r["per_channel"]] == [2000, 2000]
    assert (r["clipped_samples"], r["clip_events"]) == (52000, 4000)


@pytest.mark.parametrize("block", [1, 5, 13, 24, 480])
def test_clip_runs_across_block_boundaries_count_once(block: int) -> None:
    x = np.abs(np.clip(tone(1000.0, 1.5, 0.05, ch=1), -1.0, 1.0))
    cc = ClipCounter(1, 1.0)
    for i in range(0, x.shape[0], block):
        cc.process(x[i : i + block])
    assert (int(cc.samples[0]), int(cc.events[0])) == (1300, 100)


def test_pcm_clip_level() -> None:
    assert pcm_clip_level(16) == 32767 / 32768
    assert pcm_clip_level(24) == (2**23 - 1) / 2**23


def test_clip_latch_is_reset_by_user_but_counts_stay() -> None:
    bank = MeterBank(FS, 2)
    x = tone(1000.0, 0.5, 0.1)
    x[100, 1] = 1.0
    bank.process(x)
    snap = bank.snapshot()
    assert snap.clip_latched == (False, True) and snap.clipped_samples == (0, 1)
    bank.reset_clips()
    snap = bank.snapshot()
    assert (
        snap.clip_latched == (False, False) and snap.clipped_samples == (0, 1) and snap.clip_events == (0, 1)
    )
    bank.process(tone(1000.0, 0.5, 0.1))
    assert bank.snapshot().clip_latched == (False, False)
    x[200, 0] = -1.0
    bank.process(x)
    assert bank.snapshot().clip_latched == (True, True)


def test_silence_gives_none_loudness_and_no_warnings() -> None:
    bank = MeterBank(FS, 2)
    bank.process(np.zeros((5 * FS, 2), dtype=np.float32))
    r = bank.result()
    for key in (*LEVEL_KEYS, "spectral_centroid_hz"):
        assert r[key] is None, key
    assert r["peaks"] == [] and r["clipped_samples"] == 0
    snap = bank.snapshot()
    assert snap.momentary_lufs is None and snap.integrated_lufs is None
    assert snap.peak_dbfs == (float("-inf"), float("-inf"))


def test_snapshot_peak_is_since_previous_snapshot_and_max_is_held() -> None:
    bank = MeterBank(FS, 1)
    bank.process(tone(1000.0, 0.5, 0.1, ch=1))
    first = bank.snapshot()
    bank.process(tone(1000.0, 0.1, 0.1, ch=1))
    second = bank.snapshot()
    assert first.peak_dbfs[0] == pytest.approx(-6.02, abs=0.01)
    assert second.peak_dbfs[0] == pytest.approx(-20.0, abs=0.01)
    assert second.max_peak_dbfs[0] == pytest.approx(-6.02, abs=0.01)
    assert second.frames == int(0.2 * FS)
    # the interpolator delays by 16 samples, so the loud tail shows in the second interval; the third is clean
    bank.process(tone(1000.0, 0.1, 0.1, ch=1))
    third = bank.snapshot()
    assert third.true_peak_dbtp[0] == pytest.approx(-20.0, abs=0.05)
    assert third.max_true_peak_dbtp[0] == pytest.approx(-6.02, abs=0.05)


def test_momentary_none_before_400_ms() -> None:
    bank = MeterBank(FS, 2)
    bank.process(tone(1000.0, 0.5, 0.39))
    assert bank.snapshot().momentary_lufs is None
    bank.process(tone(1000.0, 0.5, 0.02))
    assert bank.snapshot().momentary_lufs == pytest.approx(-6.02, abs=0.1)


def test_dc_offset_noise_floor_and_snr() -> None:
    rng = np.random.default_rng(3)
    fs = 44100
    quiet = rng.normal(0, 10 ** (-60 / 20), (10 * fs, 2))  # -60 dBFS RMS noise
    loud = quiet.copy() + tone(440.0, 0.5, 10.0, fs)  # sine at -9.03 dBFS RMS on top
    x = np.concatenate([quiet, loud]) + [0.01, -0.02]
    bank = MeterBank(fs, 2)
    bank.process(x)
    r = bank.result()
    assert [c["dc_offset"] for c in r["per_channel"]] == pytest.approx([0.01, -0.02], abs=1e-4)
    # the 100 ms windows include the DC: floor = 10 log10(1e-6 + mean of 0.01^2, 0.02^2)
    floor = 10 * np.log10(1e-6 + (0.01**2 + 0.02**2) / 2)
    assert r["noise_floor_dbfs"] == pytest.approx(floor, abs=0.3)
    loud_db = 10 * np.log10(0.125 + 1e-6 + (0.01**2 + 0.02**2) / 2)
    assert r["snr_db"] == pytest.approx(loud_db - floor, abs=0.3)


def test_k_weighting_matches_bs1770_table_at_48k() -> None:
    sos = k_weighting_sos(48000)
    np.testing.assert_allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-8)
    np.testing.assert_allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585], atol=1e-8)
    np.testing.assert_allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621], atol=1e-8)


@pytest.mark.parametrize("fs", [44100, 88200, 96000, 176400, 192000])
def test_k_weighting_response_is_the_same_at_any_rate(fs: int) -> None:
    freqs = np.array([20.0, 50.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 15000.0])
    _, ref = signal.sosfreqz(k_weighting_sos(48000), worN=freqs, fs=48000)
    _, got = signal.sosfreqz(k_weighting_sos(fs), worN=freqs, fs=fs)
    diff = 20 * np.log10(np.abs(got)) - 20 * np.log10(np.abs(ref))
    assert np.max(np.abs(diff)) < 0.05, diff


def test_channel_weights() -> None:
    assert list(channel_weights(1)) == [1.0]
    assert list(channel_weights(5)) == [1.0, 1.0, 1.0, 1.41, 1.41]
    assert list(channel_weights(6)) == [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]
    assert list(channel_weights(4)) == [1.0] * 4


@pytest.mark.parametrize("fs", [44100, 48000, 96000, 192000])
@pytest.mark.parametrize("freq_ratio", [0.11, 0.23, 0.37])
def test_true_peak_of_sines_between_samples(fs: int, freq_ratio: float) -> None:
    """A sine's true peak is its amplitude wherever the samples fall (up to 0.4 fs)."""
    x = tone(freq_ratio * fs, 0.7, 0.2, fs, phase=0.3, ch=1)
    x[: fs // 100] *= np.linspace(0, 1, fs // 100)[:, None]  # soft start, no step overshoot
    tp = TruePeakMeter(fs, 1)
    tp.process(x)
    got = 20 * np.log10(tp.max_abs[0])
    want = 20 * np.log10(0.7)
    if oversampling_factor(fs) == 1:  # 192 kHz is not oversampled: sample peak, may read low
        assert want - 0.4 - 3.0 <= got <= want + 0.2
    else:
        assert want - 0.4 <= got <= want + 0.2, got


def direct_true_peak(x: np.ndarray, fs: int) -> np.ndarray:
    """Per-channel true peak by the direct FIR of every phase (np.correlate), from silence before ``x``."""
    phases = interpolator_phases(oversampling_factor(fs))
    ext = np.concatenate([np.zeros((phases.shape[1] - 1, x.shape[1])), x])
    return np.array([max(np.abs(x[:, c]).max(), *(np.abs(np.correlate(ext[:, c], h, "valid")).max()
                                                   for h in phases[1:])) for c in range(x.shape[1])])


@pytest.mark.parametrize("fs", [44100, 48000, 96000])
@pytest.mark.parametrize("kind", ["noise", "square", "silence", "quiet"])
def test_true_peak_equals_the_direct_fir(fs: int, kind: str) -> None:
    """The float32 FFT screen plus the float64 refinement of its candidates give the direct FIR's value, for
    any split; a square wave's overshoots are thousands of equal candidates."""
    rng = np.random.default_rng(fs)
    n = fs // 2
    x = {"noise": 0.3 * rng.standard_normal((n, 2)),
         "square": np.repeat(0.9 * np.sign(np.sin(2 * np.pi * 1000 * (np.arange(n) + 0.5) / fs))[:, None], 2, 1),
         "silence": np.zeros((n, 2)),
         "quiet": 1e-6 * rng.standard_normal((n, 2))}[kind]
    want = direct_true_peak(x, fs)

    for block in (7, 333, n):
        tp = TruePeakMeter(fs, 2)
        for i in range(0, n, block):
            tp.process(x[i : i + block])
        np.testing.assert_allclose(tp.max_abs, want, rtol=1e-12, atol=0.0)


def test_block_true_peaks_are_the_direct_firs_although_only_blocks_near_the_maximum_are_refined() -> None:
    """process_t returns each block's true peak for the live bar: float64-exact where a block comes near the
    take maximum (refined), the float32 screen's value (within 1e-6) where it stays below it; the take
    maximum is the float64 value whatever was refined."""
    fs, n, block = 48000, 48000, 2400
    rng = np.random.default_rng(7)
    x = 0.3 * rng.standard_normal((n, 2)) * np.repeat(rng.uniform(0.1, 1.0, (n // block, 1)), block, 0)
    phases = interpolator_phases(oversampling_factor(fs))
    ext = np.concatenate([np.zeros((phases.shape[1] - 1, 2)), x])
    y = np.stack([np.abs(np.stack([np.correlate(ext[:, c], h, "valid") for h in phases[1:]])).max(axis=0)
                  for c in range(2)], axis=1)  # (n, 2): the largest |y_p| at each input position
    tp = TruePeakMeter(fs, 2)
    for i in range(0, n, block):
        got = tp.process_t(np.ascontiguousarray(x[i : i + block].T))
        want = np.maximum(np.abs(x[i : i + block]).max(axis=0), y[i : i + block].max(axis=0))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0.0)
    np.testing.assert_allclose(tp.max_abs, direct_true_peak(x, fs), rtol=1e-12, atol=0.0)


def test_oversampling_factors() -> None:
    assert [oversampling_factor(fs) for fs in (44100, 48000, 88200, 96000, 192000)] == [5, 4, 3, 2, 1]


def feed(x: np.ndarray, fs: int, block: int) -> dict:
    bank = MeterBank(fs, x.shape[1])
    for i in range(0, x.shape[0], block):
        bank.process(x[i : i + block])
    return bank.result()




def assert_same(a: dict, b: dict) -> None:
    for key in LEVEL_KEYS:
        if a[key] is None or b[key] is None:
            assert a[key] is b[key], key
        else:
            assert abs(a[key] - b[key]) <= 0.01, (key, a[key], b[key])
    assert (a["clipped_samples"], a["clip_events"]) == (b["clipped_samples"], b["clip_events"])
    for ca, cb in zip(a["per_channel"], b["per_channel"], strict=True):
        assert abs(ca["true_peak_dbtp"] - cb["true_peak_dbtp"]) <= 0.01
        assert ca["dc_offset"] == pytest.approx(cb["dc_offset"], abs=1e-9)
    assert a["spectral_centroid_hz"] == pytest.approx(b["spectral_centroid_hz"], rel=1e-5)


@pytest.fixture(scope="module")
def field_4s() -> np.ndarray:
    x = field_like(4.0, 44100, seed=1)
    x[1000:1010] = 1.0  # a clip run
    return x


@pytest.fixture(scope="module")
def field_4s_whole(field_4s: np.ndarray) -> dict:
    return feed(field_4s, 44100, field_4s.shape[0])


@pytest.mark.parametrize("block", [1, 7, 480, 4096])
def test_streaming_equals_whole_file(field_4s: np.ndarray, field_4s_whole: dict, block: int) -> None:
    assert_same(field_4s_whole, feed(field_4s, 44100, block))


@settings(max_examples=6, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=30000), min_size=1, max_size=12))
def test_streaming_any_split(field_4s: np.ndarray, field_4s_whole: dict, sizes: list[int]) -> None:
    whole = field_4s_whole
    bank = MeterBank(44100, 2)
    pos, k = 0, 0
    while pos < field_4s.shape[0]:
        n = sizes[k % len(sizes)]
        bank.process(field_4s[pos : pos + n])
        pos += n
        k += 1
    assert_same(whole, bank.result())


def test_snapshot_from_another_thread_while_processing() -> None:
    x = field_like(3.0, 48000, seed=4).astype(np.float32)
    bank = MeterBank(48000, 2)
    snaps: list[MeterSnapshot] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            snaps.append(bank.snapshot())

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(0, x.shape[0], 960):
            bank.process(x[i : i + 960])
    finally:
        done.set()
        t.join(timeout=10)
    assert not t.is_alive()
    frames = [s.frames for s in snaps]
    assert frames == sorted(frames) and len(snaps) > 1
    assert bank.snapshot().frames == x.shape[0]


def test_reset_starts_a_new_take() -> None:
    bank = MeterBank(FS, 2)
    bank.process(np.clip(tone(1000.0, 1.5, 1.0), -1, 1))
    bank.reset()
    bank.process(tone(1000.0, 0.25, 1.0))
    r = bank.result()
    assert r["clipped_samples"] == 0 and r["duration_s"] == 1.0
    assert r["sample_peak_dbfs"] == pytest.approx(-12.04, abs=0.01)


def test_bad_block_shape_is_refused() -> None:
    bank = MeterBank(FS, 2)
    with pytest.raises(ValueError, match="expected blocks of shape"):
        bank.process(np.zeros((10, 3)))


@pytest.mark.parametrize("block", [7, 333])
def test_pieces_stream_without_gathering(block: int) -> None:
    """LoudnessMeter and TruePeakMeter themselves (no MeterBank gathering) with tiny blocks."""
    from fieldrec.analysis.loudness import LoudnessMeter

    x = field_like(0.5, 44100, seed=5)
    whole_l, whole_t = LoudnessMeter(44100, 2), TruePeakMeter(44100, 2)
    whole_l.process(x)
    whole_t.process(x)
    part_l, part_t = LoudnessMeter(44100, 2), TruePeakMeter(44100, 2)
    for i in range(0, x.shape[0], block):
        part_l.process(x[i : i + block])
        part_t.process(x[i : i + block])
    assert part_l.momentary_max_lufs == pytest.approx(whole_l.momentary_max_lufs, abs=0.01)
    assert part_l.integrated_lufs == pytest.approx(whole_l.integrated_lufs, abs=0.01)
    np.testing.assert_allclose(part_t.max_abs, whole_t.max_abs, rtol=1e-9)


def test_integer_blocks_are_scaled_to_full_scale() -> None:
    x = np.round(tone(1000.0, 0.5, 0.5) * 32768).astype(np.int16)
    bank = MeterBank(FS, 2, clip_level=pcm_clip_level(16))
    bank.process(x)
    assert bank.result()["sample_peak_dbfs"] == pytest.approx(-6.02, abs=0.01)


def test_a_snapshot_with_nothing_measured_since_the_previous_is_built_once() -> None:
    """A frame-rate reader takes two or three snapshots per measured batch: between batches the readings are
    the previous ones with no live peak, and they are not computed again (the gated loudness, LRA, dB
    conversions); a new block or a clip reset gives new readings."""
    import dataclasses

    bank = MeterBank(FS, 2)
    bank.process(tone(1000.0, 1.0, 1.5))  # clips: the lamps latch
    first = bank.snapshot()
    second = bank.snapshot()
    silent = (float("-inf"), float("-inf"))
    assert second == dataclasses.replace(first, peak_dbfs=silent, true_peak_dbtp=silent)
    assert first.integrated_lufs is not None and second.clip_latched == (True, True)
    assert bank.snapshot() is second  # built once
    bank.reset_clips()
    third = bank.snapshot()
    assert third.clip_latched == (False, False) and third.peak_dbfs == silent
    bank.process(tone(1000.0, 0.5, 0.1))
    fourth = bank.snapshot()
    assert fourth.peak_dbfs[0] == pytest.approx(-6.02, abs=0.01) and fourth.frames == int(1.6 * FS)
    bank.reset()
    assert bank.snapshot().frames == 0
