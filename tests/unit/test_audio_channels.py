"""Channel subsets (fieldrec.audio.channels) and the ring's column push, on the simulated and the real device."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fieldrec.audio.channels import ChannelSpecError, parse_channel_pair, parse_channels
from fieldrec.audio.devices import DeviceError, resolve_device
from fieldrec.audio.ring import EV_FRAMES, EV_KIND, RING_OVERRUN, FrameRing
from fieldrec.audio.stream import Capture


def test_counts_lists_and_ranges():
    two = parse_channels("2")
    assert two.device_channels == (1, 2) and two.open_channels == 2 and two.is_all and two.keep == (0, 1)
    sub = parse_channels("1,2,5", max_channels=8)
    assert sub.open_channels == 5 and sub.keep == (0, 1, 4) and not sub.is_all
    assert sub.names == ("In 1", "In 2", "In 5")
    assert parse_channels("1-3,7").device_channels == (1, 2, 3, 7)
    named = parse_channels("5,1", names=["hydrophone", "left"])
    assert named.tracks() == [{"index": 1, "device_channel": 5, "name": "hydrophone"},
                              {"index": 2, "device_channel": 1, "name": "left"}]
    assert parse_channels(3).channels == 3


@pytest.mark.parametrize("spec, message", [
    ("0", "at least 1"), ("1,x", "not a channel list"), ("3-1", "ranges go upwards"), ("0,1", "count from 1"),
    ("1,2,1", "channel 1 is listed twice"), ("1,9", "the device has 8 input channels"), ("1-", "not a channel list"),
])
def test_bad_channel_lists(spec, message):
    with pytest.raises(ChannelSpecError, match=message):
        parse_channels(spec, max_channels=8)
    with pytest.raises(ChannelSpecError, match="2 channel names for 3 channels"):
        parse_channels("3", names=["a", "b"])


def test_monitor_pairs():
    assert parse_channel_pair(None, 4) is None and parse_channel_pair("all", 4) is None
    assert parse_channel_pair("3,4", 4) == (2, 3) and parse_channel_pair("2", 4) == (1,)
    for bad, message in (("1,2,3", "one channel or a pair"), ("5", "channels 1-4"), ("a", "one channel or a pair")):
        with pytest.raises(ChannelSpecError, match=message):
            parse_channel_pair(bad, 4)


def test_push_columns_keeps_the_chosen_columns_across_the_wrap_and_honours_the_guard():
    ring = FrameRing(10, 2, "float32")
    block = np.arange(7 * 5, dtype=np.float32).reshape(7, 5)
    cols = np.array([4, 0], np.intp)
    assert ring.push_columns(block, cols) and ring.push_columns(block, cols)  # the second wraps
    data, _, lost = ring.read(4, 10)
    assert lost == 0 and np.array_equal(data, np.concatenate([block, block])[4:, [4, 0]])
    ring.guard = ring.write_count - 5  # 5 unread + 7 new > 10
    assert not ring.push_columns(block, cols) and ring.dropped_frames == 7
    rows, _, _ = ring.events_since(0)
    assert rows[-1][EV_KIND] == RING_OVERRUN and rows[-1][EV_FRAMES] == 7
    assert not FrameRing(3, 2).push_columns(block, cols)  # a block larger than the ring is dropped and counted


def test_a_capture_of_a_subset_opens_up_to_the_highest_channel_and_keeps_only_the_chosen():
    sel = parse_channels("4,2", max_channels=8)
    cap = Capture(resolve_device("simulated"), 48000, sel.channels, "float32", blocksize=480, keep=sel.keep, seed=3)
    full = Capture(resolve_device("simulated"), 48000, 4, "float32", blocksize=480, seed=3)
    assert cap.open_channels == 4 and cap.ring.channels == 2
    for c in (cap, full):
        c.start()
    deadline = time.monotonic() + 10
    while min(cap.ring.write_count, full.ring.write_count) < 9600 and time.monotonic() < deadline:
        time.sleep(0.02)
    for c in (cap, full):
        c.close()
    a, _, _ = cap.ring.read(0, 9600)
    b, _, _ = full.ring.read(0, 9600)
    assert np.array_equal(a, b[:, [3, 1]])  # the simulated scene is deterministic for a seed
    with pytest.raises(DeviceError, match="3 kept channels for a 2-channel capture"):
        Capture(resolve_device("simulated"), 48000, 2, keep=(0, 1, 2))
