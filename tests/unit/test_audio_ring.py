"""FrameRing: push/read/latest, wrap-around, guarded overrun, lapped consumers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrec.audio.events import EventTally
from fieldrec.audio.ring import (
    EV_CUM_LOST,
    EV_CUM_UNKNOWN,
    INPUT_OVERFLOW,
    RING_OVERRUN,
    UNKNOWN_FRAMES,
    FrameRing,
)


def ramp(start: int, n: int, channels: int = 2) -> np.ndarray:
    """Frames whose value encodes their absolute position (channel c holds -position for c odd)."""
    pos = np.arange(start, start + n, dtype=np.int64)
    return np.stack([pos if c % 2 == 0 else -pos for c in range(channels)], axis=1).astype(np.int32)


def test_push_read_roundtrip_with_wrap():
    ring = FrameRing(10, 2, "int32")
    cur = 0
    got = []
    pos = 0
    for n in (3, 4, 5, 6, 2):
        assert ring.push(ramp(pos, n))
        pos += n
        data, cur, lost = ring.read(cur, 100)
        assert lost == 0
        got.append(data)
    assert ring.write_count == 20
    np.testing.assert_array_equal(np.concatenate(got), ramp(0, 20))


def test_latest_returns_newest_and_is_shorter_at_start():
    ring = FrameRing(8, 2, "int32")
    assert ring.latest(5).shape == (0, 2)
    ring.push(ramp(0, 3))
    np.testing.assert_array_equal(ring.latest(5), ramp(0, 3))
    ring.push(ramp(3, 9))
    np.testing.assert_array_equal(ring.latest(5), ramp(7, 5))
    np.testing.assert_array_equal(ring.latest(100), ramp(4, 8))


def test_lapped_consumer_gets_lost_frames_and_oldest_valid_cursor():
    ring = FrameRing(10, 2, "int32")
    ring.push(ramp(0, 25))  # only frames 15..24 remain
    data, cur, lost = ring.read(3, 100)
    assert lost == 12
    np.testing.assert_array_equal(data, ramp(15, 10))
    assert cur == 25


def test_guard_drops_block_and_records_overrun():
    ring = FrameRing(10, 2, "int32")
    ring.guard = 0
    assert ring.push(ramp(0, 8))
    assert not ring.push(ramp(8, 4))  # would overwrite frames 0..1 the guard has not read
    assert ring.write_count == 8
    rows, first, missed = ring.events_since(0)
    assert rows[:, :3].tolist() == [[RING_OVERRUN, 8, 4]] and first == 0 and missed == 0
    assert ring.dropped_frames == 4
    data, cur, lost = ring.read(ring.guard, 5)
    ring.guard = cur
    np.testing.assert_array_equal(data, ramp(0, 5))
    assert ring.push(ramp(8, 4))  # room now
    data, cur, lost = ring.read(cur, 100)
    assert lost == 0
    np.testing.assert_array_equal(data, ramp(5, 7))


def test_event_table_keeps_the_newest_rows_and_exact_running_totals():
    ring = FrameRing(4, 1, "float32", event_slots=2)
    for i in range(5):
        ring.record_event(INPUT_OVERFLOW, i, 10 * i if i != 3 else UNKNOWN_FRAMES)
    assert ring.event_count == 5
    rows, first, missed = ring.events_since(0)
    assert first == 3 and missed == 3  # events 0..2 were overwritten before anyone read them
    assert rows[:, 1].tolist() == [3, 4]
    # the running totals still count every event: 0 + 10 + 20 + 40 frames, one of unknown size
    assert rows[-1, EV_CUM_LOST] == 70 and rows[-1, EV_CUM_UNKNOWN] == 1


def test_tally_totals_stay_exact_when_rows_were_overwritten():
    ring = FrameRing(64, 1, "float32", event_slots=4)
    tally = EventTally(ring, 0, 1000, keep=2)
    for i in range(10):
        ring.record_event(INPUT_OVERFLOW, i, 5)
    tally.drain()  # 6 of the 10 rows are gone
    for i in range(10, 13):
        ring.record_event(RING_OVERRUN, i, 7)
    tally.drain()
    t = tally.totals
    assert (t.events, t.frames_lost, t.unknown_loss_events, t.events_truncated) == (13, 50 + 21, 0, True)
    assert len(tally.events) == 2


def test_bad_cursor_is_refused():
    ring = FrameRing(4, 1, "float32")
    with pytest.raises(ValueError, match="outside"):
        ring.read(5, 1)


@settings(max_examples=60, deadline=None)
@given(cap=st.integers(1, 64), blocks=st.lists(st.integers(1, 40), min_size=1, max_size=30),
       reads=st.lists(st.integers(1, 50), min_size=1, max_size=30))
def test_guarded_consumer_never_loses_and_sees_every_kept_frame(cap, blocks, reads):
    ring = FrameRing(cap, 2, "int32")
    ring.guard = 0
    cur = 0
    kept = []
    pos = 0
    got = []
    for i, n in enumerate(blocks):
        block = ramp(pos, n)
        pos += n
        if ring.push(block):
            kept.append(block)
        data, cur, lost = ring.read(cur, reads[i % len(reads)])
        ring.guard = cur
        assert lost == 0
        got.append(data)
    data, cur, lost = ring.read(cur, 10**6)
    got.append(data)
    expected = np.concatenate(kept) if kept else np.zeros((0, 2), np.int32)
    np.testing.assert_array_equal(np.concatenate(got), expected)
    rows, _, missed = ring.events_since(0)
    assert missed == 0
    dropped = int(rows[rows[:, 0] == RING_OVERRUN, 2].sum())
    assert dropped == pos - len(expected)


@settings(max_examples=60, deadline=None)
@given(cap=st.integers(1, 64), blocks=st.lists(st.integers(1, 100), min_size=1, max_size=20),
       step=st.integers(1, 80))
def test_unguarded_consumer_accounts_for_every_frame(cap, blocks, step):
    ring = FrameRing(cap, 2, "int32")
    cur = 0
    seen = 0
    lost_total = 0
    pos = 0
    for n in blocks:
        ring.push(ramp(pos, n))
        pos += n
        data, new, lost = ring.read(cur, step)
        if data.shape[0]:
            np.testing.assert_array_equal(data, ramp(new - data.shape[0], data.shape[0]))
        seen += data.shape[0]
        lost_total += lost
        cur = new
        np.testing.assert_array_equal(ring.latest(step), ramp(pos - min(step, cap, pos), min(step, cap, pos)))
    assert seen + lost_total == cur


def test_concurrent_readers_never_see_torn_or_misplaced_frames():
    """A producer thread laps a small ring as fast as it can while readers copy; every frame a reader gets
    must carry its own position (no torn copies, no frames from a later lap)."""
    import threading

    ring = FrameRing(97, 2, "int32")
    stop = threading.Event()
    blocks = [ramp(0, n) for n in (1, 5, 13, 31)]

    def produce():
        pos = 0
        i = 0
        while not stop.is_set() and pos < 3_000_000:
            b = blocks[i % 4] + np.array([pos, -pos], dtype=np.int32)
            ring.push(b)
            pos += b.shape[0]
            i += 1

    t = threading.Thread(target=produce, daemon=True)
    t.start()
    cur = 0
    checked = 0
    try:
        for _ in range(3000):
            data, new, lost = ring.read(cur, 64)
            n = data.shape[0]
            if n:
                np.testing.assert_array_equal(data, ramp(new - n, n))
            assert new - cur == n + lost
            cur = new
            tail = ring.latest(50)
            if tail.shape[0]:
                first = int(tail[0, 0])
                np.testing.assert_array_equal(tail, ramp(first, tail.shape[0]))
            checked += n + tail.shape[0]
    finally:
        stop.set()
        t.join(5)
    assert checked > 0



PRODUCER_FAULTS = """
import resource, sys, threading
import numpy as np
from fieldrec.audio.ring import FrameRing
ring = FrameRing(480000, 2, "float32")  # 10 s at 48 kHz / 2 ch, the default ring: 3.7 MiB
block = np.ones((2048, 2), np.float32)
def producer():  # a thread of its own, as the callback is: its faults are its own
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(ring.capacity // block.shape[0]):
        assert ring.push(block)
    print(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
t = threading.Thread(target=producer)
t.start()
t.join()
"""


def test_the_producer_takes_no_page_fault_on_the_rings_first_lap():
    """The ring's memory is written through when it is made, so the audio callback's copies never wait for the
    kernel to fault in a fresh page (with np.zeros' lazily mapped buffer: one fault per 4 KiB, about 900 here).
    A fresh interpreter: this process's heap may hold pages already faulted in by earlier tests."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", PRODUCER_FAULTS], capture_output=True, text=True, check=True)
    faults = int(out.stdout)
    assert faults < 50, f"{faults} page faults in the producer over the ring's first lap"
