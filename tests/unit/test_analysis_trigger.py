"""The trigger state machine on synthetic tone bursts (fieldrec.analysis.trigger)."""

from __future__ import annotations

import numpy as np
import pytest

from fieldrec.analysis.trigger import (
    DEFAULT_DETRIGGER_DB,
    TriggerDetector,
    TriggerSpec,
    TriggerSpecError,
    parse_trigger,
)

SR = 48000


def tone(seconds: float, freq: float, amp: float, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    x = amp * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1)


def silence(seconds: float, channels: int = 2, seed: int = 1) -> np.ndarray:
    return 1e-4 * np.random.default_rng(seed).standard_normal((int(seconds * SR), channels))  # about -80 dBFS


def run(spec: TriggerSpec, x: np.ndarray, block: int | None = 1024, seed: int = 0) -> list:
    det = TriggerDetector(spec, SR, x.shape[1])
    events = []
    if block is None:  # random block sizes
        rng = np.random.default_rng(seed)
        i = 0
        while i < len(x):
            n = int(rng.integers(1, 5000))
            events += det.process(x[i:i + n])
            i += n
    else:
        for i in range(0, len(x), block):
            events += det.process(x[i:i + block])
    return events + det.flush()


def bursts(n: int, on_s: float, off_s: float, freq: float = 1000.0, amp: float = 0.3):
    parts, onsets, ends = [silence(off_s)], [], []
    pos = parts[0].shape[0]
    for k in range(n):
        b = tone(on_s, freq, amp)
        onsets.append(pos)
        parts.append(b)
        pos += b.shape[0]
        ends.append(pos)
        parts.append(silence(off_s, seed=k + 2))
        pos += parts[-1].shape[0]
    return np.concatenate(parts), onsets, ends


def test_one_event_per_burst_with_start_at_the_first_crossing_and_post_roll_after_the_end():
    x, onsets, ends = bursts(3, 0.5, 3.0)
    spec = parse_trigger("level:-30dBFS", post_roll_s=1.0, min_trigger_s=0.1)
    ev = run(spec, x)
    starts = [e for e in ev if e.kind == "start"]
    stops = [e for e in ev if e.kind == "stop"]
    assert len(starts) == len(stops) == 3
    thr = 10 ** (-30 / 20)
    det = TriggerDetector(spec, SR, 2)
    for s, e, on, end in zip(starts, stops, onsets, ends, strict=True):
        # the first sample of the burst whose magnitude reaches the threshold
        assert s.frame == on + int(np.flatnonzero(np.abs(x[on:, 0]) >= thr)[0])
        assert s.confirmed_frame >= s.frame + det.min_trigger  # confirmed later, pre-roll counts from .frame
        assert s.level_db == pytest.approx(20 * np.log10(0.3), abs=0.05)
        assert e.reason == "post_roll"
        # the first quiet window begins at most one window after the burst's last frame
        assert det.post_roll <= e.frame - end < det.post_roll + det.window


def test_events_do_not_depend_on_block_sizes():
    x, _, _ = bursts(3, 0.4, 1.5)
    spec = parse_trigger("level:-30dBFS", post_roll_s=0.5)
    assert run(spec, x, block=None, seed=3) == run(spec, x, block=480) == run(spec, x, block=len(x))


def test_a_short_click_below_the_minimum_trigger_time_starts_nothing():
    x = np.concatenate([silence(1), tone(0.03, 1000, 0.5), silence(2)])
    assert run(parse_trigger("level:-30dBFS", min_trigger_s=0.1), x) == []
    assert len(run(parse_trigger("level:-30dBFS", min_trigger_s=0.02), x)) == 2


def test_a_new_trigger_during_post_roll_cancels_the_stop():
    x, onsets, ends = bursts(2, 0.5, 0.6)
    ev = run(parse_trigger("level:-30dBFS", post_roll_s=1.0), x)
    assert [e.kind for e in ev] == ["start", "stop"]
    assert ev[1].frame > ends[1]


def test_a_level_between_detrigger_and_threshold_neither_stops_nor_cancels_the_post_roll():
    # loud burst, then a long tail 3 dB below the threshold (above the default de-trigger 6 dB below)
    thr = -30.0
    tail_amp = 10 ** ((thr - 3) / 20)
    x = np.concatenate([silence(1), tone(0.5, 1000, 0.3), tone(3.0, 1000, tail_amp), silence(3)])
    ev = run(parse_trigger("level:-30dBFS", post_roll_s=1.0), x)
    assert [e.kind for e in ev] == ["start", "stop"]
    tail_end = int(4.5 * SR)
    assert ev[1].frame - tail_end >= SR  # the post-roll started after the tail, not at its start
    assert DEFAULT_DETRIGGER_DB == 6.0 and parse_trigger("level:-30dBFS").detrigger == -36.0
    # with the de-trigger level set at the threshold, the tail is quiet and the take ends 1 s into it
    ev2 = run(parse_trigger("level:-30dBFS", post_roll_s=1.0, detrigger_db=-30.0), x)
    assert ev2[1].frame < int(1.5 * SR) + SR + int(0.02 * SR) + 1


def test_band_trigger_fires_on_a_tone_in_the_band_and_not_on_a_louder_one_outside():
    in_band = tone(0.6, 4000, 10 ** (-30 / 20))  # -33 dBFS RMS
    out_band = tone(0.6, 300, 0.5)  # -9 dBFS RMS, 24 dB louder, 2.7 octaves below the band
    high_out = tone(0.6, 16000, 0.5)
    x = np.concatenate([silence(1), out_band, silence(2), high_out, silence(2), in_band, silence(2)])
    spec = parse_trigger("band:2k-8k:-45dBFS", post_roll_s=0.5)
    ev = run(spec, x)
    assert [e.kind for e in ev] == ["start", "stop"]
    onset = int(6.2 * SR)
    assert onset <= ev[0].frame <= onset + int(0.02 * SR)
    assert ev[0].level_db == pytest.approx(-33.0, abs=1.0)
    # the same louder out-of-band tones trip a plain level trigger
    assert len(run(parse_trigger("level:-45dBFS", post_roll_s=0.5), x)) == 6


def test_rms_trigger_uses_the_window_start_and_the_project_rms_convention():
    x = np.concatenate([silence(1), tone(1.0, 1000, 0.1), silence(2)])  # -23.0 dBFS RMS, -20 dBFS peak
    assert run(parse_trigger("level:rms:-22dBFS"), x) == []
    ev = run(parse_trigger("level:rms:-24dBFS"), x)
    assert ev[0].frame % int(0.02 * SR) == 0 and ev[0].frame == SR
    assert ev[0].level_db == pytest.approx(-23.01, abs=0.05)


def test_max_take_splits_a_continuous_sound_and_min_gap_keeps_the_takes_apart():
    x = np.concatenate([tone(6.0, 1000, 0.3), silence(2)])
    ev = run(parse_trigger("level:-30dBFS", max_take_s=2.0, min_gap_s=0.5, post_roll_s=0.2), x)
    pairs = [(a.frame, b.frame, b.reason) for a, b in zip(ev[::2], ev[1::2], strict=True)]
    first = int(np.flatnonzero(np.abs(x[:, 0]) >= 10 ** (-1.5))[0])
    assert pairs[0] == (first, first + 2 * SR, "max_take")
    assert pairs[1][0] == first + int(2.5 * SR) and pairs[1][2] == "max_take"
    assert pairs[2][0] == pairs[1][1] + SR // 2 and pairs[2][2] == "post_roll"
    assert len(pairs) == 3
    # without a gap the next take begins on the very frame the previous one ended
    ev0 = run(parse_trigger("level:-30dBFS", max_take_s=2.0, post_roll_s=0.2), x)
    assert ev0[2].frame == ev0[1].frame


def test_flush_closes_a_take_that_is_still_running():
    x = np.concatenate([silence(0.5), tone(1.0, 1000, 0.3)])
    ev = run(parse_trigger("level:-30dBFS"), x)
    assert [(e.kind, e.reason) for e in ev] == [("start", None), ("stop", "end")]
    assert ev[1].frame == len(x)


def test_mono_blocks_and_wrong_channel_counts():
    det = TriggerDetector(parse_trigger("level:-30dBFS", min_trigger_s=0.0), SR, 1)
    assert det.process(tone(0.1, 1000, 0.3, channels=1)[:, 0])[0].kind == "start"
    with pytest.raises(ValueError, match="expects 1 channels"):
        det.process(np.zeros((10, 2)))


@pytest.mark.parametrize("text, message", [
    ("level", "not a trigger"),
    ("level:loud", "not a level"),
    ("level:+3dBFS", "at or below 0 dBFS"),
    ("band:2k:-40dBFS", "not a band"),
    ("band:8k-2k:-40dBFS", "0 < low < high"),
    ("band:2x-8k:-40dBFS", "not a frequency"),
    ("sound:-30", "not a trigger"),
])
def test_bad_trigger_texts_say_what_is_wrong(text, message):
    with pytest.raises(TriggerSpecError, match=message):
        parse_trigger(text)


def test_bad_options_and_a_band_above_nyquist():
    with pytest.raises(TriggerSpecError, match="above the trigger level"):
        parse_trigger("level:-30dBFS", detrigger_db=-20.0)
    with pytest.raises(TriggerSpecError, match="post roll must be >= 0"):
        parse_trigger("level:-30dBFS", post_roll_s=-1.0)
    with pytest.raises(TriggerSpecError, match="maximum take length"):
        parse_trigger("level:-30dBFS", max_take_s=0.0)
    with pytest.raises(TriggerSpecError, match="window must be longer"):
        parse_trigger("level:-30dBFS", window_s=0.0)
    with pytest.raises(TriggerSpecError, match="needs a band"):
        TriggerSpec("band", -40.0).validate()
    with pytest.raises(TriggerSpecError, match="half the sample rate"):
        TriggerDetector(parse_trigger("band:2k-30k:-40dBFS"), 48000, 1)
    spec = parse_trigger("band:2k-8kHz:-45")
    assert spec.band_hz == (2000.0, 8000.0)
    assert spec.as_dict()["detrigger_dbfs"] == -51.0
