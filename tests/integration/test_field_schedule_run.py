"""An overnight schedule with a trigger and splitting, run unattended through the virtual device with a
simulated clock that runs in real time and jumps over the night (a suspended laptop)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from fieldrec.analysis.trigger import parse_trigger
from fieldrec.field.schedule import UTC, ScheduleRunner, parse_schedule
from fieldrec.recorder import Recorder, TakeSettings
from fieldrec.session import FieldOptions, FieldSession, ScheduleTakes
from tests.pulse_rig import RATE

pytestmark = [pytest.mark.audio, pytest.mark.slow]


class JumpClock:
    """Wall time that runs with the real clock from ``start`` and jumps when it reaches a given moment."""

    def __init__(self, start: dt.datetime) -> None:
        self._base = start
        self._m0 = time.monotonic()
        self._offset = dt.timedelta(0)
        self._jumps: list[tuple[dt.datetime, dt.datetime]] = []
        self._lock = threading.Lock()

    def jump(self, at: dt.datetime, to: dt.datetime) -> None:
        self._jumps.append((at, to))

    def now(self) -> dt.datetime:
        with self._lock:
            n = self._base + dt.timedelta(seconds=time.monotonic() - self._m0) + self._offset
            if self._jumps and n >= self._jumps[0][0]:
                _at, to = self._jumps.pop(0)
                self._offset += to - n
                n = to
            return n

    def wait_until(self, when: dt.datetime, stop: threading.Event | None = None) -> None:
        left = (when - self.now()).total_seconds()
        if left > 0:
            (stop.wait if stop else time.sleep)(min(left, 0.05))


def burst() -> np.ndarray:
    rng = np.random.default_rng(4)
    t = np.arange(RATE // 2) / RATE
    tone = np.repeat((0.3 * np.sin(2 * np.pi * 1000 * t))[:, None], 2, axis=1)
    return np.concatenate([1e-3 * rng.standard_normal((RATE // 4, 2)), tone,
                           1e-3 * rng.standard_normal((RATE, 2))]).astype(np.float32)


def test_an_overnight_schedule_with_a_trigger_and_splitting_leaves_exactly_the_planned_takes(pulse_rig, tmp_path):
    sched = parse_schedule({"timezone": "UTC", "period": [
        {"name": "dusk", "start": "22:00:00", "duration": "5s"},
        {"name": "dawn", "start": "04:00:00", "duration": "5s"}]}, "night.toml")
    rec = Recorder(TakeSettings(device=pulse_rig.device_name, samplerate=RATE, channels=2, container="wav",
                                subtype="FLOAT", out_dir=tmp_path))
    rec.arm()  # once before the clock runs: the first open of a process imports PortAudio and scipy (seconds)
    rec.disarm()
    clock = JumpClock(dt.datetime(2026, 6, 1, 21, 59, 57, tzinfo=UTC))
    clock.jump(dt.datetime(2026, 6, 1, 22, 0, 6, tzinfo=UTC), dt.datetime(2026, 6, 2, 3, 59, 56, tzinfo=UTC))
    spec = parse_trigger("level:-30dBFS", post_roll_s=0.5, min_trigger_s=0.05)
    ses = FieldSession(rec, FieldOptions(pre_roll_s=0.5, trigger=spec, split_s=1.0))
    opened, feeders = [], []

    class Takes(ScheduleTakes):
        def open(self):
            super().open()
            opened.append(clock.now())

        def start(self, period, late_s):
            super().start(period, late_s)
            feeders.append(pulse_rig.feed(burst(), lead_in_s=0.5))  # a bird calls in each period

    runner = ScheduleRunner(sched, clock, Takes(ses), open_lead_s=2.0,
                            until=dt.datetime(2026, 6, 2, 4, 0, 7, tzinfo=UTC))
    try:
        report = runner.run()
    finally:
        ses.close()
        for f in feeders:
            f.wait(30)
    assert [p.names for p, _late in report.recorded] == [("dusk",), ("dawn",)] and report.missed == []
    assert [t.hour for t in opened] == [21, 3]  # the input was closed over the night and opened again
    docs = sorted((json.loads(p.read_text()) for p in tmp_path.glob("*.json")),
                  key=lambda d: d["recording"]["start_utc"])
    assert len(docs) == 4  # one event per period, each 1.5 s split into 1 s + 0.5 s
    fams = {}
    for d in docs:
        f = d["metadata"]["field"]
        fams.setdefault(f["family"]["id"], []).append(d)
        assert f["started_by"] == "trigger"
    assert [len(v) for v in fams.values()] == [2, 2]
    for (first, second), period in zip(fams.values(), ("22:00:00", "04:00:00"), strict=True):
        assert first["metadata"]["field"]["schedule"]["period_start_utc"].endswith(f"T{period}+00:00")
        assert first["audio"]["frames"] == RATE and first["recording"]["stop_reason"] == "split"
        assert second["metadata"]["field"]["family"] == {**second["metadata"]["field"]["family"], "index": 2,
                                                         "first_frame": RATE, "total": 2}
        assert second["recording"]["stop_reason"] == "trigger"
        a = sf.read(first["file"]["path"] if "path" in first.get("file", {}) else
                    str(tmp_path / first["file"]["name"]), dtype="float32", always_2d=True)[0]
        loud = np.flatnonzero(np.abs(a[:, 0]) >= np.float32(10 ** -1.5))
        assert loud[0] == first["metadata"]["field"]["pre_roll"]["frames"] == RATE // 2
