"""Schedules (fieldrec.field.schedule): astral's own values, duty cycles, merging, validation, a simulated clock."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral import sun as asun

from fieldrec.field.schedule import (
    UTC,
    Location,
    Period,
    ScheduleError,
    ScheduleRunner,
    SimulatedClock,
    SystemClock,
    format_periods,
    load_schedule,
    parse_schedule,
    parse_span,
)

LONDON = {"latitude": 51.5072, "longitude": -0.1276, "timezone": "Europe/London"}
LONDON_OBS = Observer(51.5072, -0.1276)
TZL = ZoneInfo("Europe/London")


def sched(*periods: dict, location: dict | None = LONDON, **top):
    data = {"period": list(periods), **top}
    if location is not None:
        data["location"] = location
    return parse_schedule(data, "test.toml")


def at(y, mo, d, h=0, mi=0, s=0, tz=UTC) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=tz)


def test_sunrise_to_sunset_agrees_with_astral_and_with_the_almanac():
    s = sched({"start": "sunrise", "end": "sunset", "from": dt.date(2026, 6, 21), "until": dt.date(2026, 6, 21)})
    [p] = s.next_periods(at(2026, 6, 1), 5)
    day = dt.date(2026, 6, 21)
    assert p.start == asun.sunrise(LONDON_OBS, day, tzinfo=TZL)
    assert p.end == asun.sunset(LONDON_OBS, day, tzinfo=TZL)
    # an independent value: London on the June solstice, sunrise about 04:43 BST, sunset about 21:21 BST
    assert abs((p.start - at(2026, 6, 21, 3, 43)).total_seconds()) < 180
    assert abs((p.end - at(2026, 6, 21, 20, 21)).total_seconds()) < 180


@pytest.mark.parametrize("event, kind, depression", [
    ("dawn", "dawn", 6), ("civil_dawn", "dawn", 6), ("nautical_dawn", "dawn", 12),
    ("astronomical_dawn", "dawn", 18), ("dusk", "dusk", 6), ("civil_dusk", "dusk", 6),
    ("nautical_dusk", "dusk", 12), ("astronomical_dusk", "dusk", 18), ("noon", "noon", None),
])
def test_twilight_events_with_offsets_agree_with_astral(event, kind, depression):
    zurich = {"latitude": 47.3769, "longitude": 8.5417, "timezone": "Europe/Zurich", "elevation": 0}
    day = dt.date(2026, 3, 15)
    s = sched({"start": f"{event}-30m", "duration": "1h", "from": day, "until": day}, location=zurich)
    [p] = s.next_periods(at(2026, 3, 1), 3)
    obs, tz = Observer(47.3769, 8.5417), ZoneInfo("Europe/Zurich")
    fn = getattr(asun, kind)
    want = fn(obs, day, tzinfo=tz) if depression is None else fn(obs, day, depression=depression, tzinfo=tz)
    assert p.start == want - dt.timedelta(minutes=30)
    assert p.seconds == 3600


def test_an_overnight_period_ends_on_the_next_day():
    s = sched({"start": "sunset+15m", "end": "sunrise-10m", "from": dt.date(2026, 1, 10), "until": dt.date(2026, 1, 10)})
    [p] = s.next_periods(at(2026, 1, 1), 2)
    assert p.start == asun.sunset(LONDON_OBS, dt.date(2026, 1, 10), tzinfo=TZL) + dt.timedelta(minutes=15)
    assert p.end == asun.sunrise(LONDON_OBS, dt.date(2026, 1, 11), tzinfo=TZL) - dt.timedelta(minutes=10)
    night = sched({"start": "22:00", "end": "04:00"}, location=None, timezone="Europe/Berlin")
    p = night.next_periods(at(2026, 7, 1, 12), 1)[0]
    assert (p.start, p.end) == (at(2026, 7, 1, 20), at(2026, 7, 2, 2))  # CEST = UTC+2


def test_duty_cycle_in_local_clock_time():
    s = sched({"start": "05:00", "duration": "1h", "duty": "5m/15m"}, location=None, timezone="America/New_York")
    ps = s.next_periods(at(2026, 1, 5, 0), 5)
    starts = [p.start for p in ps]
    assert starts[:4] == [at(2026, 1, 5, 10, m) for m in (0, 15, 30, 45)]  # EST = UTC-5
    assert all(p.seconds == 300 for p in ps)
    assert starts[4] == at(2026, 1, 6, 10, 0)


def test_a_duty_cycle_longer_than_the_period_is_cut_at_its_end():
    s = sched({"start": "06:00", "end": "06:20", "duty": "15m/15m"}, location=None, timezone="UTC")
    a, b, c = s.next_periods(at(2026, 5, 1), 3)
    assert (a.start, a.end) == (at(2026, 5, 1, 6), at(2026, 5, 1, 6, 20))  # 15m/15m is continuous: merged
    assert b.start == at(2026, 5, 2, 6)


def test_twelve_periods_load_and_overlaps_merge_with_their_names():
    periods = [{"name": f"p{i}", "start": f"{h:02d}:00", "duration": "30m"} for i, h in enumerate(range(0, 24, 2))]
    periods.append({"name": "long", "start": "01:45", "end": "04:10"})  # spans p1 (02:00) and touches p2
    s = sched(*periods, location=None, timezone="UTC")
    ps = s.next_periods(at(2026, 8, 1), 12)
    assert len(ps) == 12
    assert ps[0] == Period(at(2026, 8, 1, 0), at(2026, 8, 1, 0, 30), ("p0",))
    assert ps[1] == Period(at(2026, 8, 1, 1, 45), at(2026, 8, 1, 4, 30), ("long", "p1", "p2"))
    assert ps[2].names == ("p3",)


def test_date_ranges_and_a_period_running_now():
    s = sched({"start": "08:00", "end": "09:00", "from": "2026-04-03", "until": "2026-04-04"},
              location=None, timezone="UTC")
    ps = s.next_periods(at(2026, 4, 3, 8, 30), 5)
    assert [p.start for p in ps] == [at(2026, 4, 3, 8), at(2026, 4, 4, 8)]
    assert s.next_periods(at(2026, 4, 5), 3) == []


def test_a_day_without_the_event_is_skipped_and_reported():
    # London in June: the sun never gets 18 degrees below the horizon
    s = sched({"start": "astronomical_dawn", "duration": "1h", "from": "2026-06-20", "until": "2026-06-22"},
              {"start": "12:00", "duration": "10m", "from": "2026-06-20", "until": "2026-06-22"})
    ps = s.next_periods(at(2026, 6, 19), 10)
    assert [p.names for p in ps] == [("period 2",)] * 3
    assert any("2026-06-21: period 1" in note for note in s.skipped())


def test_printed_lines_show_local_time_and_utc():
    s = sched({"name": "dawn chorus", "start": "06:00", "duration": "1h30m"}, location=None, timezone="Asia/Tokyo")
    [line] = format_periods(s.next_periods(at(2026, 1, 31, 12), 1), s.tz)
    assert line.startswith("2026-02-01 06:00:00 - 2026-02-01 07:30:00 JST")
    assert "(2026-01-31 21:00:00 - 2026-01-31 22:30:00 UTC)" in line and "1:30:00  dawn chorus" in line


def test_load_schedule_from_a_toml_file(tmp_path):
    f = tmp_path / "dawn.toml"
    f.write_text('[location]\nlatitude = 51.5072\nlongitude = -0.1276\ntimezone = "Europe/London"\n\n'
                 '[[period]]\nname = "chorus"\nstart = "civil_dawn-30m"\nend = "sunrise+2h"\n'
                 'duty = "5m/15m"\nfrom = 2026-05-01\nuntil = 2026-05-31\n')
    s = load_schedule(f)
    ps = s.next_periods(at(2026, 4, 1), 3)
    assert ps[0].start == asun.dawn(LONDON_OBS, dt.date(2026, 5, 1), tzinfo=TZL) - dt.timedelta(minutes=30)
    assert [round(p.seconds) for p in ps] == [300, 300, 300]


@pytest.mark.parametrize("data, message", [
    ({"period": [{"start": "sunrize", "duration": "1h"}]}, "period 1: start: 'sunrize' is not a time"),
    ({"period": [{"start": "25:00", "duration": "1h"}]}, "not a clock time"),
    ({"period": [{"start": "05:00"}]}, "period 1: give either end or duration"),
    ({"period": [{"start": "05:00", "end": "06:00", "duration": "1h"}]}, "either end or duration"),
    ({"period": [{"start": "05:00", "duration": "soon"}]}, "duration: 'soon' is not a length of time"),
    ({"period": [{"start": "05:00", "duration": "0s"}]}, "longer than 0 s"),
    ({"period": [{"start": "05:00", "duration": "1h", "duty": "15m/5m"}]}, "no longer than the cycle"),
    ({"period": [{"start": "05:00", "duration": "1h", "duty": "5m"}]}, "not a duty cycle"),
    ({"period": [{"start": "05:00", "duration": "1h", "from": "April"}]}, "from: 'April' is not a date"),
    ({"period": [{"start": "05:00", "duration": "1h", "from": "2026-05-02", "until": "2026-05-01"}]}, "before from"),
    ({"period": [{"start": "05:00", "duration": "1h", "colour": "red"}]}, "unknown key 'colour'"),
    ({"period": [{"duration": "1h"}]}, "start is missing"),
    ({"period": [{"start": "sunrise", "duration": "1h"}]}, "needs a place; add [location]"),
    ({"period": []}, "no [[period]] entries"),
    ({"period": "05:00"}, "array of tables"),
    ({"period": [{"start": "05:00", "duration": "1h"}] * 101}, "at most 100"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "timezone": "Mars/Olympus"}, "unknown time zone"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "timezone": 3}, "timezone must be a name"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "when": 1}, "unknown key 'when'"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "location": {"latitude": 95, "longitude": 0}}, "outside -90..90"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "location": {"latitude": 5, "longitude": 190}}, "outside -180..180"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "location": {"latitude": 5}}, "longitude is missing"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "location": {"latitude": "x", "longitude": 1}}, "is not a number"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "location": {"latitude": 1, "longitude": 1, "alt": 3}}, "unknown key 'alt'"),
    ({"period": [{"start": "05:00", "duration": "1h"}], "location": "here"}, "must be a table"),
])
def test_bad_schedules_give_one_line(data, message):
    with pytest.raises(ScheduleError) as err:
        parse_schedule(data, "s.toml")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("s.toml")


def test_bad_files(tmp_path):
    with pytest.raises(ScheduleError, match="cannot read the schedule"):
        load_schedule(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[[period]\nstart=")
    with pytest.raises(ScheduleError, match="not valid TOML"):
        load_schedule(tmp_path / "bad.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScheduleError, match="not a text file"):
        load_schedule(tmp_path / "bin.toml")


def test_a_location_from_the_command_line_serves_sun_times():
    s = parse_schedule({"period": [{"start": "sunrise", "duration": "1h"}]}, "s.toml",
                       default_location=Location(51.5072, -0.1276, "Europe/London"))
    p = s.next_periods(at(2026, 9, 1), 1)[0]
    assert p.start == asun.sunrise(LONDON_OBS, dt.date(2026, 9, 1), tzinfo=TZL)


def test_spans():
    assert parse_span("1h30m") == 5400 and parse_span("45s") == 45 and parse_span("90") == 90
    assert parse_span("1.5m") == 90
    for bad in ("", "m", "1x", "5ms"):
        with pytest.raises(ValueError):
            parse_span(bad)


# ---- running with a simulated clock ---------------------------------------------------------------------------
class Session:
    """Records what the runner asks for (the real one is the take layer over a Recorder)."""

    def __init__(self, clock, ends_by_itself_after: float | None = None):
        self.clock = clock
        self.log: list[tuple] = []
        self.is_open = False
        self._running = False
        self._ends_after = ends_by_itself_after
        self._started = None

    def open(self):
        assert not self.is_open
        self.is_open = True
        self.log.append(("open", self.clock.now()))

    def close(self):
        self.is_open = False
        self.log.append(("close", self.clock.now()))

    def start(self, period, late_s):
        assert self.is_open
        self._running = True
        self._started = self.clock.now()
        self.log.append(("start", self.clock.now(), period.start, round(late_s)))

    def stop(self, reason):
        self._running = False
        self.log.append(("stop", self.clock.now(), reason))

    def running(self):
        if self._ends_after is not None and (self.clock.now() - self._started).total_seconds() >= self._ends_after:
            self._running = False
            self.log.append(("ended", self.clock.now()))
        return self._running


NIGHT = {"period": [{"start": "22:00", "duration": "30m"}, {"start": "02:00", "duration": "20m", "duty": "5m/10m"},
                    {"start": "05:00", "duration": "10m"}], "timezone": "UTC"}


def test_an_overnight_run_records_exactly_the_planned_periods_with_the_input_closed_between():
    s = parse_schedule(NIGHT, "night.toml")
    clock = SimulatedClock(at(2026, 6, 1, 21))
    ses = Session(clock)
    rep = ScheduleRunner(s, clock, ses, open_lead_s=5, until=at(2026, 6, 2, 6)).run()
    starts = [e for e in ses.log if e[0] == "start"]
    assert [(e[1], e[3]) for e in starts] == [(at(2026, 6, 1, 22), 0), (at(2026, 6, 2, 2), 0),
                                              (at(2026, 6, 2, 2, 10), 0), (at(2026, 6, 2, 5), 0)]
    stops = [e for e in ses.log if e[0] == "stop"]
    assert [e[1] for e in stops] == [at(2026, 6, 1, 22, 30), at(2026, 6, 2, 2, 5), at(2026, 6, 2, 2, 15),
                                     at(2026, 6, 2, 5, 10)]
    opens = [e[1] for e in ses.log if e[0] == "open"]
    assert opens[0] == at(2026, 6, 1, 21, 59, 55)  # opened 5 s ahead, closed while waiting hours
    assert ("close", at(2026, 6, 1, 22, 30)) in ses.log
    assert rep.missed == [] and rep.ended == "run-for elapsed" and not ses.is_open


def test_a_suspend_into_a_period_starts_late_and_one_past_a_period_misses_it():
    s = parse_schedule(NIGHT, "night.toml")
    clock = SimulatedClock(at(2026, 6, 1, 21))
    clock.schedule_jump(at(2026, 6, 1, 21, 30), at(2026, 6, 1, 22, 10))  # asleep from 21:30 to 22:10
    clock.schedule_jump(at(2026, 6, 2, 1), at(2026, 6, 2, 2, 12))  # asleep over the first duty slot
    ses = Session(clock)
    rep = ScheduleRunner(s, clock, ses, until=at(2026, 6, 2, 6)).run()
    starts = [(e[1], e[2], e[3]) for e in ses.log if e[0] == "start"]
    assert starts[0] == (at(2026, 6, 1, 22, 10), at(2026, 6, 1, 22), 600)  # late by 10 min
    assert starts[1] == (at(2026, 6, 2, 2, 12), at(2026, 6, 2, 2, 10), 120)
    assert [p.start for p in rep.missed] == [at(2026, 6, 2, 2)]
    assert len(starts) == 3


def test_a_clock_set_back_never_records_a_period_twice():
    s = parse_schedule(NIGHT, "night.toml")
    clock = SimulatedClock(at(2026, 6, 1, 21))
    clock.schedule_jump(at(2026, 6, 1, 23), at(2026, 6, 1, 21, 45))  # set back 1 h 15 min after the first period
    ses = Session(clock)
    ScheduleRunner(s, clock, ses, until=at(2026, 6, 2, 3)).run()
    planned = [e[2] for e in ses.log if e[0] == "start"]
    assert planned == [at(2026, 6, 1, 22), at(2026, 6, 2, 2), at(2026, 6, 2, 2, 10)]


def test_a_take_that_ends_by_itself_is_not_stopped_and_the_next_period_still_comes():
    s = parse_schedule(NIGHT, "night.toml")
    clock = SimulatedClock(at(2026, 6, 1, 21, 59, 59))
    ses = Session(clock, ends_by_itself_after=0)  # e.g. the device was unplugged
    ScheduleRunner(s, clock, ses, until=at(2026, 6, 2, 2, 1)).run()
    kinds = [e[0] for e in ses.log]
    assert kinds.count("start") == 2 and kinds.count("ended") == 2 and "stop" not in kinds[:kinds.index("ended")]


def test_a_stop_event_ends_the_run_and_closes_the_input():
    s = parse_schedule(NIGHT, "night.toml")
    stop = threading.Event()
    clock = SimulatedClock(at(2026, 6, 1, 22, 5))

    class Stopper(Session):
        def start(self, period, late_s):
            super().start(period, late_s)
            stop.set()

    ses = Stopper(clock)
    rep = ScheduleRunner(s, clock, ses).run(stop)
    assert ses.log[-2][0] == "stop" and ses.log[-2][2] == "user" and ses.log[-1][0] == "close"
    assert rep.ended == "stopped"


def test_the_system_clock_waits_in_short_steps_so_it_notices_a_suspend():
    c = SystemClock(step_s=0.01)
    target = c.now() + dt.timedelta(hours=1)
    c.wait_until(target)
    assert c.now() < target  # returned after one step to look at the wall clock again
    ev = threading.Event()
    ev.set()
    c.wait_until(target, ev)
    c.wait_until(c.now() - dt.timedelta(seconds=1))  # in the past: at once
    assert c.now().tzinfo is UTC
