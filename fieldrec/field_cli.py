"""Command-line parts of issue 15: the field flags of ``fieldrec record`` and ``fieldrec schedule FILE``.

Kept apart from :mod:`fieldrec.cli` so that file only gains the flags' registration and one hand-over:
``cmd_record`` calls :func:`run_field_record` when any field flag is given. Errors are
:class:`fieldrec.cli.UsageError` (one line, exit 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

FIELD_FLAGS = ("pre_roll", "trigger", "split", "split_size", "schedule", "monitor", "gps", "run_for")


def add_record_arguments(r: argparse.ArgumentParser) -> None:
    """The field flags of ``fieldrec record`` (issue 15; the names the docs and tests use)."""
    g = r.add_argument_group("field (pre-roll, triggers, splitting, schedules, monitoring, GPS)")
    g.add_argument("--pre-roll", help="keep this much audio from before each take's start (0-60 s), e.g. 10s")
    g.add_argument("--trigger", help="start a take per sound event: level:-30dBFS, level:rms:-30dBFS or "
                                     "band:2k-8k:-45dBFS")
    g.add_argument("--detrigger", help="level below which the post-roll starts (default 6 dB below the trigger)")
    g.add_argument("--post-roll", default="2s", help="keep recording this long after the level falls (default 2s)")
    g.add_argument("--min-trigger", default="100ms", help="the level must stay above the trigger this long "
                                                          "(default 100ms)")
    g.add_argument("--max-take", help="longest triggered take, e.g. 10m (--duration does the same)")
    g.add_argument("--min-gap", help="shortest silence between triggered takes, e.g. 5s")
    g.add_argument("--run-for", help="how long a triggered or scheduled session lasts, e.g. 8h")
    g.add_argument("--split", help="split the take into files of this length, e.g. 15m (no frame lost)")
    g.add_argument("--split-size", help="split the take into files of at most this size, e.g. 2GiB")
    g.add_argument("--schedule", metavar="FILE", help="record the periods of this schedule (TOML)")
    g.add_argument("--monitor", metavar="DEVICE", help="play the input to this output device (headphones)")
    g.add_argument("--monitor-channels", help="all (default), one channel or a pair such as 1,2")
    g.add_argument("--monitor-gain", default="0dB", help="headphone gain, e.g. -6dB")
    g.add_argument("--gps", help="gpsd, gpsd:HOST:PORT or a serial receiver such as /dev/ttyACM0")


def add_schedule_command(sub: Any) -> None:
    s = sub.add_parser("schedule", help="check a recording schedule and print its next periods")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--count", "-n", type=int, default=10, help="how many periods to print (default 10)")
    s.add_argument("--lat", help="latitude for sun times when the schedule has no [location]")
    s.add_argument("--lon", help="longitude for sun times when the schedule has no [location]")
    s.add_argument("--from", dest="from_", metavar="TIME", help="list from this ISO time (default now)")


def wants_field(args: argparse.Namespace) -> bool:
    return any(getattr(args, f, None) for f in FIELD_FLAGS)


def _usage(msg: str) -> Exception:
    from fieldrec.cli import UsageError

    return UsageError(msg)


def parse_seconds(text: str | None, flag: str, allow_zero: bool = False) -> float | None:
    """``100ms``, ``2s``, ``1m30s``, ``8h`` -> seconds; None stays None."""
    if text is None:
        return None
    from fieldrec.cli import UsageError, parse_duration

    t = text.strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*ms", t)
    if m:
        value = float(m.group(1)) / 1000.0
    elif allow_zero and re.fullmatch(r"0+(\.0+)?s?", t):
        value = 0.0
    else:
        try:
            value = parse_duration(t)
        except UsageError as err:
            raise _usage(f"{flag}: {err}") from None
    return value


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000 ** 2, "mib": 1024 ** 2, "gb": 1000 ** 3,
          "gib": 1024 ** 3, "tb": 1000 ** 4, "tib": 1024 ** 4}


def parse_size(text: str) -> int:
    """``2GiB``, ``500MB``, ``1048576`` -> bytes."""
    m = _SIZE_RE.match(text)
    if not m:
        raise _usage(f"--split-size: '{text}' is not a size; write it like 2GiB or 500MB")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "b").lower()])


def location_from_args(lat: str | None, lon: str | None) -> Any:
    from fieldrec.field.schedule import Location
    from fieldrec.metadata import parse_coordinate

    if lat is None and lon is None:
        return None
    try:
        la = parse_coordinate(lat, "latitude")
        lo = parse_coordinate(lon, "longitude")
    except ValueError as err:
        raise _usage(str(err)) from None
    if la is None or lo is None:
        raise _usage("give both --lat and --lon for sun times")
    return Location(la, lo)


def cmd_schedule(args: argparse.Namespace) -> int:
    """``fieldrec schedule FILE``: validate it and print the next periods in local time and UTC."""
    from fieldrec.field.schedule import UTC, ScheduleError, format_periods, load_schedule

    try:
        sched = load_schedule(args.file, default_location=location_from_args(args.lat, args.lon))
    except ScheduleError as err:
        raise _usage(str(err)) from None
    if args.from_:
        try:
            now = dt.datetime.fromisoformat(args.from_)
        except ValueError:
            raise _usage(f"--from: '{args.from_}' is not an ISO time such as 2026-05-01T04:00") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=sched.tz)
    else:
        now = dt.datetime.now(UTC)
    if args.count < 1:
        raise _usage("--count must be at least 1")
    periods = sched.next_periods(now.astimezone(UTC), args.count)
    where = sched.location
    place = f" at {where.latitude:.4f}, {where.longitude:.4f}" if where else ""
    zones = "UTC" if dt.datetime.now(sched.tz).tzname() == "UTC" else f"{sched.tz} and UTC"
    print(f"{Path(args.file).name}: {len(sched.periods)} period(s){place}, times in {zones}")
    for line in format_periods(periods, sched.tz):
        print(line)
    if not periods:
        print("no periods to come")
    for note in sched.skipped():
        print(f"note: {note}")
    return 0


def _options(args: argparse.Namespace, duration: float | None) -> Any:
    from fieldrec.analysis.trigger import TriggerSpecError, parse_level, parse_trigger
    from fieldrec.session import FieldOptions

    trigger = None
    if args.trigger:
        try:
            trigger = parse_trigger(
                args.trigger, detrigger_db=parse_level(args.detrigger) if args.detrigger else None,
                post_roll_s=parse_seconds(args.post_roll, "--post-roll", True),
                min_trigger_s=parse_seconds(args.min_trigger, "--min-trigger", True),
                max_take_s=parse_seconds(args.max_take, "--max-take") or duration,
                min_gap_s=parse_seconds(args.min_gap, "--min-gap", True))
        except TriggerSpecError as err:
            raise _usage(f"--trigger: {err}") from None
    return FieldOptions(
        pre_roll_s=parse_seconds(args.pre_roll, "--pre-roll", True) or 0.0, trigger=trigger,
        split_s=parse_seconds(args.split, "--split"),
        split_bytes=parse_size(args.split_size) if args.split_size else None,
        run_for_s=parse_seconds(args.run_for, "--run-for"))


def run_field_record(args: argparse.Namespace, settings: Any, metadata: dict[str, Any],
                     duration: float | None) -> int:
    """``fieldrec record`` with field flags: a :class:`fieldrec.session.FieldSession` over the Recorder."""
    from fieldrec.audio.channels import ChannelSpecError, parse_channel_pair
    from fieldrec.audio.monitor import Monitor, MonitorError, parse_gain_db
    from fieldrec.field.extras import TakeExtras
    from fieldrec.field.gps import GpsError, GpsReader, parse_gps_source
    from fieldrec.field.schedule import ScheduleError, ScheduleRunner, SystemClock, load_schedule
    from fieldrec.recorder import Recorder, RecorderError
    from fieldrec.session import FieldSession, ScheduleTakes

    options = _options(args, duration)
    if args.monitor and settings.blocksize is None:
        # headphones: what the recordist hears lags the input by the capture's buffer (about two blocks), so
        # the input takes PortAudio's own (small) blocks rather than fieldrec's 40 ms (docs/audio.md)
        settings.blocksize = 0
    try:
        options.validate()
    except RecorderError as err:
        raise _usage(str(err)) from None
    schedule = None
    if args.schedule:
        loc = None
        if metadata["location"].get("latitude") is not None and metadata["location"].get("longitude") is not None:
            from fieldrec.field.schedule import Location

            loc = Location(metadata["location"]["latitude"], metadata["location"]["longitude"])
        try:
            schedule = load_schedule(args.schedule, default_location=loc)
        except ScheduleError as err:
            raise _usage(str(err)) from None
    gps = None
    if args.gps:
        try:
            gps = GpsReader(parse_gps_source(args.gps)).start()
        except GpsError as err:
            raise _usage(f"--gps: {err}") from None
    try:
        monitor_cols = parse_channel_pair(args.monitor_channels, settings.channels)
        gain = parse_gain_db(args.monitor_gain)
    except (ChannelSpecError, MonitorError) as err:
        raise _usage(str(err)) from None
    extras = TakeExtras(settings.out_dir, settings.samplerate * settings.channels * 4, gps=gps,
                        base_location=lambda: metadata["location"])

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    stop = threading.Event()
    old_int = signal.signal(signal.SIGINT, lambda *_: stop.set())
    old_term = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rec = Recorder(settings)
    ses = FieldSession(rec, options, metadata, on_event=say, extra_start=extras.start, extra_stop=extras.stop,
                       position=gps.latest if gps is not None else None)
    monitor = None
    status = 0
    try:
        try:
            if schedule is not None:
                until = None
                if options.run_for_s is not None:
                    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=options.run_for_s)
                    ses.options.run_for_s = None  # the runner ends the session by the clock
                runner = ScheduleRunner(schedule, SystemClock(), ScheduleTakes(ses), until=until, on_event=say)
                report = runner.run(stop)
                say(f"schedule: {len(report.recorded)} period(s) recorded, {len(report.missed)} missed "
                    f"({report.ended})")
            else:
                ses.start()
                if args.monitor:
                    cap = rec.capture
                    assert cap is not None
                    try:
                        monitor = Monitor(args.monitor, settings.samplerate, settings.channels, channels=monitor_cols,
                                          gain_db=gain)
                        monitor.start()
                        monitor.attach(cap.ring)
                        say(monitor.status().summary())
                    except MonitorError as err:  # the take goes on without headphones
                        say(f"warning: {err}")
                        monitor = None
                if options.trigger is None:
                    ses.record(duration_s=duration)
                    say(f"recording (pre-roll {options.pre_roll_s:g} s)" + ("" if duration else "  — Ctrl-C to stop"))
                else:
                    say(f"armed for {args.trigger}" + ("" if options.run_for_s else "  — Ctrl-C to stop"))
                while not stop.is_set():
                    if ses.ended.wait(0.25):
                        break
                    if options.trigger is None and not ses.recording():
                        break
                    if monitor is not None and monitor.status().failed:
                        say(monitor.status().summary())
                        monitor.close()
                        monitor = None
                if ses.error:
                    status = 1
        except RecorderError as err:
            raise _usage(str(err)) from None
    finally:
        if monitor is not None:
            monitor.close()
        results = ses.close()
        if gps is not None:
            gps.stop()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    for r in results:
        print(f"audio:   {r.paths.audio}  {r.frames} frames, stop: {r.stop_reason}"
              + (f" ({r.stop_detail})" if r.stop_detail else ""))
    if any(r.stop_reason in ("device_lost", "disk_full", "error") for r in results):
        status = 1
    return status
