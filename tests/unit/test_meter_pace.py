"""The meter thread's pace follows whoever reads the meters (fieldrec.recorder.MeterPace), on explicit times."""

from __future__ import annotations

import pytest

from fieldrec.recorder import METER_BATCH_S, METER_IDLE_S, METER_LEAD_S, MeterPace


def test_nobody_reading_means_idle_batches() -> None:
    pace = MeterPace()
    assert pace.wait(100.0) == METER_IDLE_S
    assert pace.read(100.0)  # one read says nothing about a pace yet; the meter thread is woken to measure now
    assert pace.wait(100.01) == METER_IDLE_S
    assert pace.read(100.1)  # the second one gives the pace: the thread plans afresh
    assert not pace.read(100.2)  # a steady reader needs no wake-ups


def test_a_window_at_frame_rate_gets_the_shortest_batches() -> None:
    pace = MeterPace()
    for i in range(20):
        pace.read(10.0 + i / 30)
    assert pace.wait(10.0 + 19 / 30 + 0.001) == METER_BATCH_S


def test_a_4_hz_reader_gets_a_batch_just_before_each_read() -> None:
    pace = MeterPace()
    for i in range(12):
        pace.read(50.0 + 0.25 * i)
    last = 50.0 + 0.25 * 11
    assert pace.every == pytest.approx(0.25)
    # right after a read: the next batch ends METER_LEAD_S before the next read
    assert last + 0.01 + pace.wait(last + 0.01) == pytest.approx(last + 0.25 - METER_LEAD_S)
    # too close to the next read for a useful batch: the one after it
    late = last + 0.25 - METER_LEAD_S - 0.01
    assert late + pace.wait(late) == pytest.approx(last + 0.5 - METER_LEAD_S)


def test_a_reader_that_stops_lets_the_meters_idle_and_a_new_pace_is_learnt() -> None:
    pace = MeterPace()
    for i in range(8):
        pace.read(0.25 * i)
    assert pace.wait(0.25 * 7 + 2 * METER_IDLE_S + 0.01) == METER_IDLE_S
    pace.read(30.0)  # after a long pause the interval starts afresh rather than averaging the pause in
    pace.read(30.0 + 1 / 30)
    assert pace.every == pytest.approx(1 / 30)
    assert pace.wait(30.04) == METER_BATCH_S
