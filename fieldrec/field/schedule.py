"""Recording schedules: periods by clock time or by the sun at a place, duty cycles, date ranges.

A schedule is a TOML file (validated up front; every problem is one line naming the period and the key)::

    [location]                      # needed for sun-relative times; or given by --lat/--lon
    latitude = 47.37
    longitude = 8.54
    timezone = "Europe/Zurich"      # IANA name; clock times are local to it (default: this machine's zone)
    elevation = 400                 # metres, optional

    [[period]]
    name = "dawn chorus"
    start = "civil_dawn-30m"        # HH:MM[:SS], or an event with an optional offset (+1h30m, -45m, +20s)
    end = "sunrise+2h"              # or: duration = "2h30m"
    duty = "5m/15m"                 # optional: record 5 minutes of every 15, from the period's start
    from = 2026-04-01               # optional date range (local dates of the period's start), inclusive
    until = 2026-06-30

Events (all from ``astral``, never hand-written solar maths): ``sunrise``, ``sunset``, ``noon``, ``dawn`` and
``dusk`` (= civil, sun 6 degrees below the horizon), ``civil_dawn``/``civil_dusk``, ``nautical_dawn``/
``nautical_dusk`` (12 degrees), ``astronomical_dawn``/``astronomical_dusk`` (18 degrees). A period whose end
comes before its start on the same day ends on the next day (``22:00``-``04:00``, ``sunset``-``sunrise``).
On a day where an event does not happen (polar day or night for that depression), that day's period is
skipped and :meth:`Schedule.skipped` says so. Overlapping or touching periods (after duty cycles) merge into
one recording period that carries all their names.

Clocks: everything takes a :class:`Clock`. :class:`SystemClock` reads the wall clock (UTC) and waits in steps
of at most one second, re-reading the wall clock after each, because a monotonic sleep does not advance
while a laptop is suspended. :class:`SimulatedClock` is for tests: waiting jumps straight to the target, and
:meth:`SimulatedClock.schedule_jump` simulates a suspend or a clock change at a given moment.

Behaviour of :class:`ScheduleRunner` (what ``fieldrec schedule`` does) around suspend and clock changes:

* It waits with the input closed and opens it ``open_lead_s`` (default 5 s) before a period starts.
* Woken (or the clock set forward) in the middle of a period: it starts recording at once; the take is
  marked late (``late_s`` = actual - planned start).
* Woken (or set forward) after a whole period: the period is reported as missed, never recorded late.
* The clock set back: a period already recorded is never recorded again (periods are keyed by their planned
  UTC start and end).
* A take ends at the period's end by the wall clock (checked at least once a second), or earlier when the
  session says it ended by itself (device lost, disk full), after which the runner waits for the next period.
  The session is given the period, so the take layer also limits the take to the period's remaining length
  in frames: a clock set back during a take does not lengthen it.
* A suspend during a take stops the input stream; the take ends by itself (device lost) and the runner goes
  on with the next period on waking.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC

#: event name -> (kind, depression in degrees or None)
EVENTS: dict[str, tuple[str, float | None]] = {
    "sunrise": ("sunrise", None), "sunset": ("sunset", None), "noon": ("noon", None),
    "dawn": ("dawn", 6.0), "dusk": ("dusk", 6.0),
    "civil_dawn": ("dawn", 6.0), "civil_dusk": ("dusk", 6.0),
    "nautical_dawn": ("dawn", 12.0), "nautical_dusk": ("dusk", 12.0),
    "astronomical_dawn": ("dawn", 18.0), "astronomical_dusk": ("dusk", 18.0),
}
MAX_PERIODS = 100
#: how far ahead :meth:`Schedule.next_periods` looks for periods (days)
SEARCH_DAYS = 800


class ScheduleError(ValueError):
    """A schedule that cannot be used (one-line message naming the file, period and key)."""


# ---- small parsers ------------------------------------------------------------------------------------------
_DUR_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$")
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_EVENT_RE = re.compile(r"^([a-z_]+)\s*(?:([+-])\s*(\S+))?$")


def parse_span(text: str) -> float:
    """``1h30m``, ``45m``, ``20s``, ``90`` (seconds) -> seconds. Raises ValueError."""
    t = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        return float(t)
    m = _DUR_RE.match(t)
    if not t or not m or not any(m.groups()):
        raise ValueError(f"'{text}' is not a length of time; write it like 1h30m, 45m or 20s")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


@dataclass(frozen=True)
class TimeSpec:
    """A time of day: a local clock time (``clock`` seconds after midnight) or a sun ``event`` + ``offset_s``."""

    text: str
    clock: float | None = None
    event: str | None = None
    offset_s: float = 0.0

    @classmethod
    def parse(cls, text: str) -> TimeSpec:
        t = str(text).strip().lower()
        m = _CLOCK_RE.match(t)
        if m:
            h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            if h > 23 or mi > 59 or s > 59:
                raise ValueError(f"'{text}' is not a clock time (00:00 to 23:59:59)")
            return cls(str(text), clock=h * 3600 + mi * 60 + s)
        m = _EVENT_RE.match(t)
        if not m or m.group(1) not in EVENTS:
            raise ValueError(f"'{text}' is not a time; use HH:MM or one of {', '.join(EVENTS)} "
                             "with an optional offset such as sunrise-30m")
        off = 0.0
        if m.group(2):
            off = parse_span(m.group(3)) * (-1 if m.group(2) == "-" else 1)
        return cls(str(text), event=m.group(1), offset_s=off)

    @property
    def needs_location(self) -> bool:
        return self.event is not None


@dataclass(frozen=True)
class Location:
    """Where the sun is computed: degrees (north, east positive), metres, an IANA time zone name."""

    latitude: float
    longitude: float
    timezone: str | None = None
    elevation: float = 0.0
    name: str | None = None

    @property
    def tz(self) -> dt.tzinfo:
        return local_zone(self.timezone)


def local_zone(name: str | None) -> dt.tzinfo:
    """The named IANA zone, or this machine's local zone."""
    if name:
        return ZoneInfo(name)
    tz = dt.datetime.now().astimezone().tzinfo
    return tz if tz is not None else UTC


@dataclass(frozen=True)
class PeriodSpec:
    """One ``[[period]]`` entry as validated."""

    index: int
    name: str
    start: TimeSpec
    end: TimeSpec | None
    duration_s: float | None
    duty: tuple[float, float] | None  # (record seconds, every seconds)
    date_from: dt.date | None
    date_until: dt.date | None


@dataclass(frozen=True)
class Period:
    """A planned recording period, ``start`` and ``end`` timezone-aware UTC datetimes, ``end`` exclusive."""

    start: dt.datetime
    end: dt.datetime
    names: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.start.isoformat(), self.end.isoformat())

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def frames(self, samplerate: float) -> int:
        """The period's length in frames at ``samplerate`` (what a take of it holds)."""
        return int(round(self.seconds * samplerate))


@dataclass
class Schedule:
    """Validated periods and the place they are computed for."""

    periods: list[PeriodSpec]
    location: Location | None = None
    timezone: str | None = None
    source: str = "schedule"
    _skipped: list[str] = field(default_factory=list)
    _days: dict[dt.date, list[Period]] = field(default_factory=dict)

    @property
    def tz(self) -> dt.tzinfo:
        if self.location is not None and self.location.timezone:
            return self.location.tz
        return local_zone(self.timezone)

    # ---- the sun ------------------------------------------------------------------------------------------
    def _event_time(self, event: str, day: dt.date) -> dt.datetime:
        from astral import Observer
        from astral import sun as asun

        assert self.location is not None
        loc = self.location
        obs = Observer(loc.latitude, loc.longitude, loc.elevation)
        kind, dep = EVENTS[event]
        tz = self.tz
        if kind == "sunrise":
            t = asun.sunrise(obs, day, tzinfo=tz)
        elif kind == "sunset":
            t = asun.sunset(obs, day, tzinfo=tz)
        elif kind == "noon":
            t = asun.noon(obs, day, tzinfo=tz)
        elif kind == "dawn":
            t = asun.dawn(obs, day, depression=dep, tzinfo=tz)
        else:
            t = asun.dusk(obs, day, depression=dep, tzinfo=tz)
        return t.astimezone(UTC)

    def resolve(self, spec: TimeSpec, day: dt.date) -> dt.datetime:
        """The UTC instant of ``spec`` on local date ``day``; ValueError when the sun event does not occur."""
        if spec.clock is not None:
            local = dt.datetime.combine(day, (dt.datetime.min + dt.timedelta(seconds=spec.clock)).time(),
                                        tzinfo=self.tz)
            return local.astimezone(UTC)  # a wall time in a DST gap moves by the gap, as zoneinfo says
        assert spec.event is not None
        return self._event_time(spec.event, day) + dt.timedelta(seconds=spec.offset_s)

    # ---- periods ------------------------------------------------------------------------------------------
    def _raw_periods_for(self, day: dt.date) -> list[Period]:
        if day not in self._days:
            self._days[day] = self._compute_day(day)
        return self._days[day]

    def _compute_day(self, day: dt.date) -> list[Period]:
        out: list[Period] = []
        for p in self.periods:
            if (p.date_from and day < p.date_from) or (p.date_until and day > p.date_until):
                continue
            try:
                start = self.resolve(p.start, day)
                if p.end is not None:
                    end = self.resolve(p.end, day)
                    if end <= start:
                        end = self.resolve(p.end, day + dt.timedelta(days=1))
                else:
                    assert p.duration_s is not None
                    end = start + dt.timedelta(seconds=p.duration_s)
            except ValueError as exc:  # astral: the sun never reaches that depression on this day
                note = f"{day.isoformat()}: period {p.index} '{p.name}' skipped ({exc})"
                if note not in self._skipped:
                    self._skipped.append(note)
                continue
            if end <= start:
                continue
            if p.duty is None:
                out.append(Period(start, end, (p.name,)))
            else:
                rec, every = p.duty
                k = 0
                while True:
                    s = start + dt.timedelta(seconds=k * every)
                    if s >= end:
                        break
                    out.append(Period(s, min(end, s + dt.timedelta(seconds=rec)), (p.name,)))
                    k += 1
        return out

    def periods_between(self, begin: dt.datetime, end: dt.datetime) -> list[Period]:
        """Merged periods that overlap ``[begin, end)`` (UTC-aware datetimes), in time order."""
        tz = self.tz
        d0 = begin.astimezone(tz).date() - dt.timedelta(days=2)
        d1 = end.astimezone(tz).date() + dt.timedelta(days=1)
        raw: list[Period] = []
        day = d0
        while day <= d1:
            raw += self._raw_periods_for(day)
            day += dt.timedelta(days=1)
        return [p for p in merge(raw) if p.end > begin and p.start < end]

    def next_periods(self, now: dt.datetime, n: int) -> list[Period]:
        """The next ``n`` merged periods that end after ``now`` (one running now comes first)."""
        out: list[Period] = []
        horizon = now
        step = dt.timedelta(days=7)
        limit = now + dt.timedelta(days=SEARCH_DAYS)
        while len(out) < n and horizon < limit:
            horizon = horizon + step
            out = self.periods_between(now, horizon)
            step = step * 2
        # a period can still grow by merging with one just beyond the horizon: recompute a day further
        if out:
            out = self.periods_between(now, max(horizon, out[min(n, len(out)) - 1].end + dt.timedelta(days=2)))
        return out[:n]

    def skipped(self) -> list[str]:
        """Days on which a period did not happen (a sun event that does not occur), as found so far."""
        return list(self._skipped)


def merge(periods: Iterable[Period]) -> list[Period]:
    """Merge overlapping or touching periods (names kept in order, without repeats)."""
    out: list[Period] = []
    for p in sorted(periods, key=lambda q: (q.start, q.end)):
        if out and p.start <= out[-1].end:
            last = out[-1]
            names = last.names + tuple(x for x in p.names if x not in last.names)
            out[-1] = Period(last.start, max(last.end, p.end), names)
        else:
            out.append(p)
    return out


# ---- loading --------------------------------------------------------------------------------------------------
_PERIOD_KEYS = {"name", "start", "end", "duration", "duty", "from", "until"}
_LOCATION_KEYS = {"latitude", "longitude", "timezone", "elevation", "name"}


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(f"{where}: '{value}' is not a date; write it like 2026-04-01")


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScheduleError(f"{where}: '{value}' is not a number")
    return float(value)


def parse_schedule(data: dict, source: str = "schedule", default_location: Location | None = None) -> Schedule:
    """Validate a schedule's parsed TOML (a dict); raises :class:`ScheduleError` with one line."""
    if not isinstance(data, dict):
        raise ScheduleError(f"{source}: not a table of settings")
    unknown = set(data) - {"location", "period", "timezone"}
    if unknown:
        raise ScheduleError(f"{source}: unknown key '{sorted(unknown)[0]}' (expected [location], timezone, "
                            "[[period]])")
    location = default_location
    tzname = data.get("timezone")
    if tzname is not None and not isinstance(tzname, str):
        raise ScheduleError(f"{source}: timezone must be a name such as 'Europe/Zurich'")
    if "location" in data:
        loc = data["location"]
        where = f"{source}: [location]"
        if not isinstance(loc, dict):
            raise ScheduleError(f"{where} must be a table with latitude and longitude")
        bad = set(loc) - _LOCATION_KEYS
        if bad:
            raise ScheduleError(f"{where}: unknown key '{sorted(bad)[0]}'")
        for k in ("latitude", "longitude"):
            if k not in loc:
                raise ScheduleError(f"{where}: {k} is missing")
        lat = _number(loc["latitude"], f"{where} latitude")
        lon = _number(loc["longitude"], f"{where} longitude")
        if not -90 <= lat <= 90:
            raise ScheduleError(f"{where}: latitude {lat} is outside -90..90")
        if not -180 <= lon <= 180:
            raise ScheduleError(f"{where}: longitude {lon} is outside -180..180")
        elev = _number(loc.get("elevation", 0.0), f"{where} elevation")
        tz = loc.get("timezone", tzname)
        location = Location(lat, lon, tz, elev, loc.get("name"))
    for tzn in {tzname, location.timezone if location else None} - {None}:
        try:
            ZoneInfo(str(tzn))
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"{source}: unknown time zone '{tzn}' (use an IANA name such as "
                                "'Europe/Zurich' or 'UTC')") from None
    raw = data.get("period")
    if not raw:
        raise ScheduleError(f"{source}: no [[period]] entries")
    if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
        raise ScheduleError(f"{source}: 'period' must be an array of tables ([[period]])")
    if len(raw) > MAX_PERIODS:
        raise ScheduleError(f"{source}: {len(raw)} periods; at most {MAX_PERIODS}")
    specs: list[PeriodSpec] = []
    for i, p in enumerate(raw, 1):
        where = f"{source}: period {i}"
        bad = set(p) - _PERIOD_KEYS
        if bad:
            raise ScheduleError(f"{where}: unknown key '{sorted(bad)[0]}' (expected {', '.join(sorted(_PERIOD_KEYS))})")
        name = str(p.get("name", f"period {i}"))
        if "start" not in p:
            raise ScheduleError(f"{where}: start is missing")
        if ("end" in p) == ("duration" in p):
            raise ScheduleError(f"{where}: give either end or duration")
        try:
            start = TimeSpec.parse(str(p["start"]))
        except ValueError as exc:
            raise ScheduleError(f"{where}: start: {exc}") from None
        end = None
        duration = None
        try:
            if "end" in p:
                end = TimeSpec.parse(str(p["end"]))
            else:
                duration = parse_span(str(p["duration"]))
                if duration <= 0:
                    raise ValueError("duration must be longer than 0 s")
        except ValueError as exc:
            raise ScheduleError(f"{where}: {'end' if 'end' in p else 'duration'}: {exc}") from None
        duty = None
        if "duty" in p:
            parts = str(p["duty"]).split("/")
            try:
                if len(parts) != 2:
                    raise ValueError(f"'{p['duty']}' is not a duty cycle; write it like 5m/15m (record 5 of every 15)")
                rec, every = parse_span(parts[0]), parse_span(parts[1])
            except ValueError as exc:
                raise ScheduleError(f"{where}: duty: {exc}") from None
            if not 0 < rec <= every:
                raise ScheduleError(f"{where}: duty {p['duty']}: the recorded part must be longer than 0 and "
                                    "no longer than the cycle")
            duty = (rec, every)
        d_from = _date(p["from"], f"{where}: from") if "from" in p else None
        d_until = _date(p["until"], f"{where}: until") if "until" in p else None
        if d_from and d_until and d_until < d_from:
            raise ScheduleError(f"{where}: until {d_until} is before from {d_from}")
        if (start.needs_location or (end and end.needs_location)) and location is None:
            raise ScheduleError(f"{where}: '{(start if start.needs_location else end).text}' needs a place; "  # type: ignore[union-attr]
                                "add [location] with latitude and longitude (or give --lat/--lon)")
        specs.append(PeriodSpec(i, name, start, end, duration, duty, d_from, d_until))
    return Schedule(specs, location, tzname, source)


def load_schedule(path: str | Path, default_location: Location | None = None) -> Schedule:
    """Read and validate a TOML schedule file; raises :class:`ScheduleError` with one line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScheduleError(f"{p}: cannot read the schedule ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScheduleError(f"{p}: not a text file (UTF-8 TOML expected)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{p}: not valid TOML ({exc})") from None
    return parse_schedule(data, p.name, default_location)


def format_periods(periods: list[Period], tz: dt.tzinfo) -> list[str]:
    """One line per period: local start-end (zone), UTC start-end, length, names."""
    lines = []
    for p in periods:
        ls, le = p.start.astimezone(tz), p.end.astimezone(tz)
        span = p.seconds
        h, rem = divmod(int(round(span)), 3600)
        utc = "" if ls.utcoffset() == dt.timedelta(0) and ls.tzname() == "UTC" else \
            f"({p.start:%Y-%m-%d %H:%M:%S} - {p.end:%Y-%m-%d %H:%M:%S} UTC)  "
        lines.append(f"{ls:%Y-%m-%d %H:%M:%S} - {le:%Y-%m-%d %H:%M:%S} {ls:%Z}  {utc}"
                     f"{h:d}:{rem // 60:02d}:{rem % 60:02d}  {', '.join(p.names)}")
    return lines


# ---- clocks ---------------------------------------------------------------------------------------------------
class Clock(Protocol):
    """Wall time for schedules: ``now()`` is timezone-aware UTC; ``wait_until`` may return early."""

    def now(self) -> dt.datetime: ...

    def wait_until(self, when: dt.datetime, stop: threading.Event | None = None) -> None: ...


class SystemClock:
    """The real wall clock. Waits in steps of at most ``step_s`` and re-reads the wall clock after each, so a
    suspend or a clock change is noticed within one step of waking."""

    def __init__(self, step_s: float = 1.0) -> None:
        self.step_s = step_s

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def wait_until(self, when: dt.datetime, stop: threading.Event | None = None) -> None:
        remaining = (when - self.now()).total_seconds()
        if remaining <= 0:
            return
        step = min(remaining, self.step_s)
        if stop is not None:
            stop.wait(step)
        else:
            time.sleep(step)


class SimulatedClock:
    """A clock for tests: ``wait_until`` jumps to the target at once; jumps simulate suspend/clock changes."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = start.astimezone(UTC)
        self._jumps: list[tuple[dt.datetime, dt.datetime]] = []
        self.waits = 0

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)

    def schedule_jump(self, at: dt.datetime, to: dt.datetime) -> None:
        """When the clock reaches ``at`` it jumps to ``to`` (forward: a suspend; back: a clock set back)."""
        self._jumps.append((at.astimezone(UTC), to.astimezone(UTC)))
        self._jumps.sort()

    def wait_until(self, when: dt.datetime, stop: threading.Event | None = None) -> None:
        self.waits += 1
        if self._jumps and self._jumps[0][0] <= when:
            _at, to = self._jumps.pop(0)
            self._now = to  # the wait ends on waking, wherever the clock then is
            return
        if when > self._now:
            self._now = when


# ---- running a schedule ---------------------------------------------------------------------------------------
class ScheduleSession(Protocol):
    """What the runner drives (the take layer implements it over a Recorder)."""

    def open(self) -> None: ...  # open the input (arm)

    def close(self) -> None: ...  # close the input

    def start(self, period: Period, late_s: float) -> None: ...  # start a take for the period

    def stop(self, reason: str) -> None: ...  # stop the running take

    def running(self) -> bool: ...  # False when the take ended by itself


@dataclass
class RunReport:
    """What a schedule run did: periods recorded (with lateness), missed, and why it ended."""

    recorded: list[tuple[Period, float]] = field(default_factory=list)
    missed: list[Period] = field(default_factory=list)
    ended: str = ""


class ScheduleRunner:
    """Wait for each period with the input closed, open it in time, record the period as one take."""

    def __init__(self, schedule: Schedule, clock: Clock, session: ScheduleSession, *,
                 open_lead_s: float = 5.0, until: dt.datetime | None = None,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.schedule = schedule
        self.clock = clock
        self.session = session
        self.open_lead = dt.timedelta(seconds=open_lead_s)
        self.until = until
        self.on_event = on_event or (lambda _msg: None)
        self.done: set[tuple[str, str]] = set()
        self.report = RunReport()
        self._open = False

    def _say(self, msg: str) -> None:
        self.on_event(msg)

    def _set_open(self, want: bool) -> None:
        if want and not self._open:
            self.session.open()
            self._open = True
        elif not want and self._open:
            self.session.close()
            self._open = False

    def _note_missed(self, since: dt.datetime, now: dt.datetime) -> None:
        if now <= since:
            return
        for p in self.schedule.periods_between(since, now):
            if p.end <= now and p.key not in self.done and p not in self.report.missed:
                self.report.missed.append(p)
                self._say(f"missed {p.start:%Y-%m-%d %H:%M:%S} - {p.end:%H:%M:%S} UTC (the machine was asleep "
                          "or the clock changed)")

    def run(self, stop: threading.Event | None = None) -> RunReport:
        stop = stop or threading.Event()
        clock = self.clock
        last = clock.now()
        try:
            while not stop.is_set():
                now = clock.now()
                self._note_missed(last, now)
                last = now
                if self.until is not None and now >= self.until:
                    self.report.ended = "run-for elapsed"
                    break
                upcoming = [p for p in self.schedule.next_periods(now, 3) if p.key not in self.done]
                if not upcoming:
                    self.report.ended = "no more periods"
                    break
                p = upcoming[0]
                if p.start <= now:
                    self._record(p, now, stop)
                    last = clock.now()
                    continue
                if p.start - now > self.open_lead + dt.timedelta(seconds=30):
                    self._set_open(False)
                target = p.start - self.open_lead
                if self.until is not None:
                    target = min(target, self.until)
                if now < target:
                    clock.wait_until(target, stop)
                    continue
                self._set_open(True)
                clock.wait_until(p.start if self.until is None else min(p.start, self.until), stop)
            else:
                self.report.ended = "stopped"
        finally:
            self._set_open(False)
        return self.report

    def _record(self, p: Period, now: dt.datetime, stop: threading.Event) -> None:
        self._set_open(True)
        late = max(0.0, (now - p.start).total_seconds())
        self.done.add(p.key)
        self.session.start(p, late)
        self.report.recorded.append((p, late))
        self._say(f"recording {p.start:%H:%M:%S} - {p.end:%H:%M:%S} UTC" + (f" (late by {late:.0f} s)" if late >= 1 else ""))
        reason = "schedule"
        while True:
            if stop.is_set():
                reason = "user"
                break
            now = self.clock.now()
            if now >= p.end:
                break
            if self.until is not None and now >= self.until:
                reason = "run-for"
                break
            if not self.session.running():
                reason = "ended"
                break
            self.clock.wait_until(p.end if self.until is None else min(p.end, self.until), stop)
        if reason != "ended":
            self.session.stop(reason)
