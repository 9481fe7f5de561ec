"""The command line: ``fieldrec [gui|devices|record|analyze|export|library|markers|demo|...]``.

Bad input gets one clear line on stderr and a non-zero exit, never a traceback:
exit 0 = done; 1 = a take ended by a fault (device lost, disk full) with its files kept, or a file could not
be analysed; 2 = bad input (arguments, device, folder, metadata).
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.handlers
import math
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fieldrec import __version__

log = logging.getLogger("fieldrec")

EXIT_OK, EXIT_FAULT, EXIT_USAGE = 0, 1, 2
#: A reader of our output that went away (a pipe into `head`): 128 + SIGPIPE, as the shell reports a process it ends.
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit 2."""


# ----------------------------------------------------------------------------- helpers
def parse_duration(text: str) -> float:
    """Seconds from "90", "90s", "1.5m", "2h", "1h30m", "1m30s" or "HH:MM:SS"/"MM:SS" (``fieldrec.durations``)."""
    from fieldrec.durations import parse_duration as parse

    try:
        return parse(text)
    except ValueError as err:
        raise UsageError(str(err)) from None


def _db(value: float | None, width: int = 6) -> str:
    """A level for people: "--" when undefined (None), "-inf" for digital silence."""
    if value is None:
        return "--".rjust(width)
    if math.isinf(value):
        return "-inf".rjust(width)
    return f"{value:{width}.1f}"


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def setup_logging(verbose: bool = False) -> Path | None:
    """A rotating log file in the user log directory; warnings also to stderr."""
    root = logging.getLogger("fieldrec")
    if root.handlers:
        return None
    root.setLevel(logging.DEBUG)
    path = None
    try:
        import platformdirs

        folder = Path(platformdirs.user_log_dir("fieldrec", appauthor=False))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "fieldrec.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        root.addHandler(handler)
    except OSError:
        pass  # an unwritable log folder must not stop a recording
    return path


def _check_out_dir(folder: Path) -> None:
    from fieldrec.storage.errors import StorageError
    from fieldrec.storage.folders import check_writable_folder

    try:
        check_writable_folder(folder)
    except StorageError as err:
        raise UsageError(str(err)) from None


# ----------------------------------------------------------------------------- commands
def cmd_devices(args: argparse.Namespace) -> int:
    from fieldrec.recorder import list_input_devices

    devices = list_input_devices()
    if args.json:
        print(json.dumps([d.__dict__ for d in devices], indent=2))
        return EXIT_OK
    print(f"{'index':>5}  {'name':<40} {'host API':<12} {'in ch':>5} {'default rate':>12}")
    for d in devices:
        index = "-" if d.index < 0 else str(d.index)
        print(f"{index:>5}  {d.name[:40]:<40} {d.hostapi[:12]:<12} {d.max_input_channels:>5} "
              f"{d.default_samplerate:>12.0f}")
    return EXIT_OK


def _format_from_args(fmt: str) -> tuple[str, str]:
    from fieldrec.formats import FormatError, format_by_name

    try:
        f = format_by_name(fmt)
    except FormatError as err:
        raise UsageError(str(err)) from None
    return f.container, f.subtype


#: How often `fieldrec record` looks at its take when it draws no status line (seconds): warnings and a
#: Ctrl-C are acted on within this; half a second instead of a quarter saves the main thread 0.0003 s of CPU per s.
QUIET_LOOP_S = 0.5


class _LiveLine:
    """The terminal status line: peak/true peak per channel, loudness, clips, overflows, time, size, disk,
    battery (when the machine has one; read every :data:`POWER_EVERY_S`).

    What the line needs at its own rate it computes at that rate: the peaks are those of the audio that
    arrived since the last line (a max over the newest frames of the ring); the meter bank
    (true peak, loudness, clips) is brought up to date on the line's own wake-up once every
    :data:`MEASURE_EVERY_S`: one line in four does the meter work, the others only draw (the main thread
    costs about a tenth less; docs/benchmarks.md, "What a take costs")."""

    POWER_EVERY_S = 5.0
    MEASURE_EVERY_S = 1.0

    def __init__(self, stream: Any):
        self.stream = stream
        self.width = shutil.get_terminal_size((100, 20)).columns
        self.battery = ""
        self._power_at = -math.inf
        self._snap: Any = None
        self._measured_at = -math.inf
        self._drawn_at: float | None = None
        self._peaks = ""  # the last line's peaks, per channel

    def power(self, status: Any) -> None:
        """The battery part of the line from a :class:`fieldrec.field.power.PowerStatus`."""
        text = status.battery_summary()
        self.battery = "  " + text if text else ""

    def render(self, rec: Any, st: Any = None, final: bool = False, now: float | None = None) -> str:
        """The line now (``now``: ``time.monotonic()`` unless given). ``final``: the take has ended; its last
        meter readings stay (the recorder's meters are the monitor's again by then)."""
        from fieldrec.analysis.db import amp_to_db

        st = rec.status() if st is None else st
        now = time.monotonic() if now is None else now
        if not final and (self._snap is None or now - self._measured_at >= self.MEASURE_EVERY_S):
            self._snap = rec.meters(measure=True)  # measured here, on the line's own wake-up
            self._measured_at = now
        snap = self._snap
        since = 0.25 if self._drawn_at is None else min(now - self._drawn_at, 1.0)
        self._drawn_at = now
        peak = None if final else rec.latest_peak(max(1, int(since * rec.settings.samplerate)))
        if peak is not None:  # on the captured samples, with no float copy of them
            self._peaks = " ".join(_db(p, 5) for p in amp_to_db(peak))
        if snap is not None:
            peaks = self._peaks
            tp = max(snap.max_true_peak_dbtp) if snap.max_true_peak_dbtp else None
            clips = sum(snap.clipped_samples)
            st_lufs = snap.short_term_lufs
        else:
            peaks, tp, clips, st_lufs = "", None, 0, None
        disk = "?" if st.disk_seconds_left is None else _clock(st.disk_seconds_left)
        over = len(st.overflows)
        flag = "  OVERFLOW!" if over else ""
        flag += "  DEVICE LOST" if st.device_state == "lost" else ""
        flag += f"  {st.warning}" if st.warning else ""
        return (f"\r{_clock(st.elapsed_s)}  peak dBFS [{peaks}]  TP {_db(tp, 5)} dBTP  S {_db(st_lufs, 5)} LUFS"
                f"  clips {clips}  overflows {over}  {_bytes(st.file_bytes)}  disk {disk}{self.battery}{flag}")

    def update(self, rec: Any, st: Any = None, final: bool = False) -> None:
        line = self.render(rec, st, final)
        self.stream.write(line[: self.width - 1].ljust(self.width - 1))
        self.stream.flush()


def _metadata_from_args(args: argparse.Namespace) -> dict[str, Any]:
    from fieldrec.cli_takes import FlagError, patch_from_args, validated
    from fieldrec.metadata.presets import PresetError, load_preset, merge

    try:
        base = load_preset(args.preset) if getattr(args, "preset", None) else {}
        return validated(merge(base, patch_from_args(args)))
    except (FlagError, PresetError) as err:
        raise UsageError(str(err)) from None


def _number_take(metadata: dict[str, Any], out_dir: Path) -> None:
    """The next free take of the scene when none was given; a given take that exists already is refused."""
    from fieldrec.library.takes import next_take, used_takes

    if not metadata.get("scene") and metadata.get("take") is None:
        return
    if metadata.get("take") is None:
        metadata["take"] = next_take(out_dir, metadata.get("project") or "", metadata.get("scene") or "")
    elif metadata["take"] in used_takes(out_dir, metadata.get("project") or "", metadata.get("scene") or ""):
        raise UsageError(f"--take: take {metadata['take']} of scene {metadata.get('scene')!r} exists already in "
                         f"{out_dir}; leave --take out for the next free one")


def _check_template(template: str) -> None:
    from fieldrec.storage.errors import TemplateError
    from fieldrec.storage.naming import expand_template

    try:
        expand_template(template, device="", samplerate=0, channels=0)
    except TemplateError as err:
        raise UsageError(f"--name: {err}") from None


def cmd_record(args: argparse.Namespace) -> int:
    container, subtype = _format_from_args(args.format)
    duration = parse_duration(args.duration) if args.duration else None
    from fieldrec.audio.channels import ChannelSpecError, parse_channels  # issue 15: --channels 1,2,5

    try:
        chans = parse_channels(args.channels)
    except ChannelSpecError as err:
        raise UsageError(f"--channels: {err}") from None
    if args.samplerate <= 0:
        raise UsageError("--samplerate and --channels must be positive")
    metadata = _metadata_from_args(args)
    _check_template(args.name)
    if not chans.is_all:
        # the kept channels reach the sidecar's channel map (and iXML TRACK_LIST); names given with
        # --channel-name or a preset win over the default "In N"
        given = {c.get("index"): c for c in metadata.get("equipment", {}).get("channels") or []}
        metadata.setdefault("equipment", {})["channels"] = [
            {**t, **{k: v for k, v in given.get(t["index"], {}).items() if v not in ("", None)}}
            for t in chans.tracks()]
    out_dir = Path(args.out).expanduser()
    _check_out_dir(out_dir)
    _number_take(metadata, out_dir)
    from fieldrec.audio.stream import UNATTENDED_BLOCK_S
    from fieldrec.recorder import (  # PortAudio and scipy: after the checks
        Recorder,
        RecorderError,
        TakeSettings,
    )
    settings = TakeSettings(
        device=args.device, samplerate=args.samplerate, channels=chans.channels, container=container,
        subtype=subtype, out_dir=out_dir, name_template=args.name, duration_s=duration,
        keep_channels=None if chans.is_all else chans.keep,
        block_s=UNATTENDED_BLOCK_S,  # nobody watches at frame rate: fewer, larger blocks (--monitor asks for small)
    )
    from fieldrec import field_cli  # issue 15: pre-roll, triggers, splitting, schedules, monitor, GPS
    from fieldrec.malloc_tuning import keep_freed_memory

    keep_freed_memory()  # this process streams audio through numpy: reuse freed blocks (see malloc_tuning)

    if field_cli.wants_field(args):
        # the session counts --duration from the take's start, after its pre-roll (with a trigger: each take's
        # maximum length)
        settings.duration_s = None
        return field_cli.run_field_record(args, settings, metadata, duration)
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop_requested.set()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    from fieldrec.field.power import power_status

    power = power_status(None, None)  # the battery at the start (the disk is the recorder's to watch)
    if power.battery_record() is not None:
        metadata.setdefault("field", {})["battery_start"] = power.battery_record()

    def battery_at_stop() -> dict[str, Any]:
        record = power_status(None, None).battery_record()
        return {"field": {"battery_stop": record}} if record is not None else {}

    rec = Recorder(settings)
    live = _LiveLine(sys.stderr) if sys.stderr.isatty() and not args.quiet else None
    try:
        try:
            paths = rec.record(metadata, stop_metadata=battery_at_stop).paths
        except RecorderError as err:
            raise UsageError(str(err)) from None
        if not args.quiet:
            print(f"recording {paths.audio}  ({rec.device.name if rec.device else settings.device}, "
                  f"{settings.samplerate} Hz, {settings.channels} ch, {container.upper()} {subtype})"
                  + ("" if duration else "  — Ctrl-C to stop"), file=sys.stderr, flush=True)
        warned = set()
        first = [rec.status().warning]  # e.g. little disk left: say so before the take can end by itself
        first += [w for w in power.warnings if w.startswith("battery")]  # the disk warning is the recorder's
        for w in filter(None, first):
            warned.add("battery-low" if w.startswith("battery") else w)
            print(f"warning: {w}", file=sys.stderr, flush=True)
        if live is not None:
            live.power(power)
        power_at = time.monotonic()
        while True:
            result = rec.wait(0.25 if live is not None else QUIET_LOOP_S)  # a line to draw, or only warnings
            if result is not None:
                break
            if time.monotonic() - power_at >= _LiveLine.POWER_EVERY_S:
                power_at = time.monotonic()
                power = power_status(None, None)
                if live is not None:
                    live.power(power)
                for w in power.warnings:  # once a take: the time left changes with every reading
                    if w.startswith("battery") and "battery-low" not in warned:
                        warned.add("battery-low")
                        print(f"\nwarning: {w}", file=sys.stderr)
            if stop_requested.is_set():
                take = rec.stop("user")
                result = take.wait() if take is not None else rec.wait()
                break
            st = rec.status()
            if live is not None:
                live.update(rec, st)
            for ev in st.overflows:
                key = (ev.kind, ev.frame)
                if key not in warned:
                    warned.add(key)
                    if live is not None:
                        sys.stderr.write("\n")
                    print(f"warning: {_event_line(ev)}", file=sys.stderr)
            if st.warning and st.warning not in warned:
                warned.add(st.warning)
                print(f"\nwarning: {st.warning}", file=sys.stderr)
        if live is not None:
            live.update(rec, final=True)
            sys.stderr.write("\n")
    finally:
        rec.close()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    assert result is not None
    for w in result.warnings:  # the finaliser's (closing, the folder moved, stop fields): the loop may not see them
        if w not in warned:
            warned.add(w)
            print(f"warning: {w}", file=sys.stderr)
    _print_take_summary(result, settings.samplerate)
    status = EXIT_OK
    if result.sidecar_error is not None:
        where = (f"its content was written to {result.sidecar_fallback}" if result.sidecar_fallback
                 else "its content is in the log file")
        print(f"error: the sidecar {result.paths.sidecar} could not be written ({result.sidecar_error}); "
              f"the audio is closed and valid; {where}", file=sys.stderr)
        status = EXIT_FAULT
    if result.stop_reason in ("user", "duration"):
        return status
    reason = {"device_lost": "the input device was lost", "disk_full": "the disk is full"}.get(
        result.stop_reason, "the take stopped on an error")
    print(f"error: {reason} at {result.frames / settings.samplerate:.3f} s; "
          f"the file is closed and valid: {result.paths.audio}"
          + (f" ({result.stop_detail})" if result.stop_detail else ""), file=sys.stderr)
    return EXIT_FAULT


def _event_line(ev: Any) -> str:
    lost = ("size unknown" if ev.frames_lost is None else f"{ev.frames_lost} frames lost" if ev.frames_lost
            else "no frames lost")
    return f"{ev.kind.replace('_', ' ')} at {ev.time_s:.3f} s (frame {ev.frame}), {lost}"


def _print_take_summary(result: Any, samplerate: int) -> None:
    a = result.analysis or {}
    print(f"audio:   {result.paths.audio}")
    print(f"sidecar: {result.paths.sidecar if result.sidecar_error is None else result.sidecar_fallback}")
    print(f"sha256:  {result.sha256}")
    line = f"{result.frames / samplerate:.3f} s, {result.frames} frames, stop: {result.stop_reason}"
    if a:
        line += (f"; peak {_db(a.get('sample_peak_dbfs'), 0)} dBFS, true peak {_db(a.get('true_peak_dbtp'), 0)}"
                 f" dBTP, {_db(a.get('integrated_lufs'), 0)} LUFS, clipped samples {a.get('clipped_samples')}")
    totals = result.totals
    if totals is not None and totals.events:
        line += f"; {totals.events} overflow event(s), {totals.frames_lost} frames lost"
        if totals.unknown_loss_events:
            line += f" (+{totals.unknown_loss_events} of unknown size)"
        line += " — see the sidecar"
    if result.analysis and result.analysis.get("partial"):
        line += f"; analysis partial: {result.analysis.get('partial_reason')}"
    print(line)


def cmd_analyze(args: argparse.Namespace) -> int:
    from fieldrec.analyze import analyze_file
    from fieldrec.malloc_tuning import keep_freed_memory
    from fieldrec.storage.reader import AudioFileError

    keep_freed_memory()  # this process only measures: reuse freed blocks (a third less CPU time)

    status = EXIT_OK
    for name in args.files:
        try:
            result = analyze_file(Path(name))
        except AudioFileError as err:
            print(f"error: {name}: {err}", file=sys.stderr)
            status = EXIT_FAULT
            continue
        except OSError as err:
            print(f"error: {name}: {err.strerror or err}", file=sys.stderr)
            status = EXIT_FAULT
            continue
        if args.json:
            print(json.dumps(result, allow_nan=False), flush=True)
        else:
            _print_analysis(result)
    return status


def _print_analysis(r: dict[str, Any]) -> None:
    print(f"{r['file']}: {r['samplerate']} Hz, {r['channels']} ch, {r['duration_s']:.3f} s")
    rows = [
        ("sample peak", r.get("sample_peak_dbfs"), "dBFS"), ("true peak", r.get("true_peak_dbtp"), "dBTP"),
        ("RMS", r.get("rms_dbfs"), "dBFS"), ("integrated", r.get("integrated_lufs"), "LUFS"),
        ("momentary max", r.get("momentary_max_lufs"), "LUFS"),
        ("short-term max", r.get("short_term_max_lufs"), "LUFS"),
        ("loudness range", r.get("loudness_range_lu"), "LU"),
        ("noise floor", r.get("noise_floor_dbfs"), "dBFS"), ("SNR", r.get("snr_db"), "dB"),
    ]
    for label, value, unit in rows:
        print(f"  {label:<16}{_db(value, 8)} {unit}")
    print(f"  {'clipping':<16}{r.get('clipped_samples')} samples in {r.get('clip_events')} events")
    centroid = r.get("spectral_centroid_hz")
    print(f"  {'centroid':<16}{'-' if centroid is None else f'{centroid:8.1f}'} Hz")
    peaks = r.get("peaks") or []
    if peaks:
        print("  peaks           " + ", ".join(f"{p['hz']:.0f} Hz {p['dbfs']:.1f} dBFS" for p in peaks[:5]))


def _export_request(args: argparse.Namespace) -> Any:
    """The export's parameters from the command line's words: ``fieldrec.dataset.options.request_from_options``,
    the one mapping the window's Export dialog uses too."""
    from fieldrec.dataset.options import options_from, request_from_options
    from fieldrec.dataset.pipeline import ExportInputError

    try:
        return request_from_options(options_from(args))
    except ExportInputError as err:
        raise UsageError(str(err)) from None


def cmd_export(args: argparse.Namespace) -> int:
    from fieldrec.dataset.pipeline import ExportInputError, run_export

    req = _export_request(args)
    bar = None
    if sys.stderr.isatty() and not args.json and not req.dry_run:
        from tqdm import tqdm
        bar = tqdm(total=0, unit="take", file=sys.stderr)

    def on_progress(ev: Any) -> None:
        if bar is not None:
            bar.total = ev.total
            bar.set_postfix_str(ev.take_id[:30])
            bar.update(1)

    try:
        summary = run_export(req, on_progress)
    except ExportInputError as err:
        raise UsageError(str(err)) from None
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(summary.to_dict(), allow_nan=False))
        return summary.exit_code
    for r in summary.problems:
        print(f"skipped: {r.source}: {r.reason}", file=sys.stderr)
    if req.dry_run:
        print(f"dry run: {summary.found} found, {summary.selected} would be exported")
        for split, row in summary.plan.items():
            ids = summary.planned.get(split, [])
            print(f"  {split}: {row['takes']} takes, {row['files']} files, {row['seconds']:.1f} s"
                  + (f": {', '.join(ids)}" if ids else ""))
        for r in summary.rejected:
            if r not in summary.problems:
                print(f"  left out: {r.source}: {r.reason}")
        return summary.exit_code
    seconds_total = sum(o.duration_s for o in summary.outputs)
    print(f"exported {summary.exported_takes} of {summary.found} takes ({summary.cached_takes} unchanged) to "
          f"{summary.out_dir}: {len(summary.outputs)} files, {seconds_total:.1f} s; {len(summary.rejected)} left out "
          f"(rejected.csv); {summary.executor}")
    achieved = summary.split_report.get("achieved", {})
    for split, row in achieved.items():
        print(f"  {split:<10} {row['groups']:>5} groups {row['files']:>6} files {row['seconds']:>10.1f} s "
              f"({100 * row['fraction_seconds']:.1f} % of the audio)")
    empty = [name for name, row in achieved.items() if not row["files"]
             and summary.split_report.get("requested", {}).get(name, 1) != 0]
    if empty and summary.outputs:
        groups = len({o.group for o in summary.outputs})
        names = " and ".join([", ".join(empty[:-1]), empty[-1]] if len(empty) > 1 else empty)
        print(f"warning: {names} {'is' if len(empty) == 1 else 'are'} empty: the {groups} group(s) of --group-by "
              f"{summary.split_report.get('group_by')} each go whole to one split; record or add more groups, "
              "or choose a finer --group-by", file=sys.stderr)
    audit = summary.leak_audit
    if not audit.get("clean", True):
        print(f"warning: leak audit: {len(audit['group_overlap'])} groups in two splits, "
              f"{len(audit['identical_sources'])} identical and {len(audit['near_identical_audio'])} near-identical "
              "takes across splits (see manifest.json)", file=sys.stderr)
    return summary.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    """Record a short take from the simulated source and show where it went and its levels."""
    ns = argparse.Namespace(
        device="simulated", samplerate=48000, channels=2, format="wav24", duration=str(args.seconds),
        out=args.out, name="{date}_{time}_demo", location="fieldrec demo", lat=None, lon=None,
        equipment="simulated source", microphone=None, notes="demo take from the built-in simulated source",
        tag=["demo"], quiet=False,
    )
    print(f"fieldrec {__version__}: no display, so recording a {args.seconds:g} s demo take from the "
          "simulated source", file=sys.stderr)
    return cmd_record(ns)


def _have_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _gui_start_values(args: argparse.Namespace) -> dict[str, Any]:
    """The window's start values from ``fieldrec gui --device --samplerate --channels --format --out``."""
    start: dict[str, Any] = {}
    if getattr(args, "format", None) is not None:
        start["container"], start["subtype"] = _format_from_args(args.format)
    for flag in ("samplerate", "channels"):
        value = getattr(args, flag, None)
        if value is not None and value <= 0:
            raise UsageError(f"--{flag} must be positive")
        if value is not None:
            start[flag] = value
    if getattr(args, "out", None) is not None:
        start["out_dir"] = Path(args.out).expanduser()
        _check_out_dir(start["out_dir"])
    if getattr(args, "device", None) is not None:
        from fieldrec.audio.devices import DeviceError, resolve_device

        try:
            start["device"] = resolve_device(args.device).name
        except DeviceError as err:
            raise UsageError(str(err)) from None
    return start


def cmd_gui(args: argparse.Namespace) -> int:
    if not _have_display():
        raise UsageError("no display (DISPLAY is not set); use `fieldrec record` or run under a desktop")
    start = _gui_start_values(args)
    try:
        from fieldrec.gui.app import run
    except ImportError as err:
        raise UsageError(f"the window cannot start: {err}") from None
    return run([], start=start)


def cmd_library(args: argparse.Namespace) -> int:
    folders = [Path(f).expanduser() for f in args.folders]
    for f in folders:
        if not f.is_dir():
            raise UsageError(f"{f} is not a folder; give the folders that hold your takes")
    if not _have_display():
        raise UsageError("no display (DISPLAY is not set); the library is a window")
    try:
        from fieldrec.gui.app import run
    except ImportError as err:
        raise UsageError(f"the window cannot start: {err}") from None
    return run([], library=folders)


def cmd_markers(args: argparse.Namespace) -> int:
    from fieldrec.review.exchange import ExchangeError, export_markers, import_markers, merge_markers
    from fieldrec.review.markers import MarkerError, load_markers, resolve_take, save_markers
    from fieldrec.storage.errors import SidecarError

    try:
        _audio, side = resolve_take(args.take)
        markers, samplerate, _frames = load_markers(side)
    except (SidecarError, MarkerError) as err:
        raise UsageError(str(err)) from None
    if args.export:
        text = export_markers(markers, samplerate, args.export)
        if args.out:
            try:
                Path(args.out).write_text(text, encoding="utf-8")
            except OSError as err:
                raise UsageError(f"cannot write {args.out}: {err.strerror or err}") from None
            print(f"{len(markers)} marker(s) written to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
            if not markers:  # a valid, empty file: say so, as --out does
                print(f"{side.name}: the take has no markers; the {args.export} file is empty", file=sys.stderr)
        return EXIT_OK
    if args.out:
        raise UsageError("--out goes with --export")
    try:
        text = Path(args.import_file).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{args.import_file}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {args.import_file}: {getattr(err, 'strerror', None) or err}") from None
    try:
        new = import_markers(text, samplerate)
        merged = new if args.replace else merge_markers(markers, new)
        saved = save_markers(side, merged)
    except ExchangeError as err:
        raise UsageError(f"{args.import_file}: {err}") from None
    except (SidecarError, MarkerError) as err:
        raise UsageError(str(err)) from None
    print(f"{len(new)} marker(s) read from {args.import_file}; the take has {len(saved)} now ({side.name})",
          file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from fieldrec.defaults import DEFAULT_TEMPLATE, default_out_dir

    p = argparse.ArgumentParser(prog="fieldrec", description="Field recording with live analysis.")
    p.add_argument("--version", action="version", version=f"fieldrec {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail in the log file")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("gui", help="open the recording window (the default when there is a display)")
    g.add_argument("--device", "-d", help="start with this input (as for record); otherwise the last one used")
    g.add_argument("--samplerate", "-r", type=int, help="start at this rate (Hz)")
    g.add_argument("--channels", "-c", type=int, help="start with this many channels")
    g.add_argument("--format", "-f", help="start with this format: wav16, wav24, wav32, float, flac16, flac24")
    g.add_argument("--out", "-o", help="start with this output folder")

    d = sub.add_parser("devices", help="list input devices")
    d.add_argument("--json", action="store_true", help="as JSON")

    r = sub.add_parser("record", help="record a take")
    r.add_argument("--device", "-d", default=None,
                   help="input device: a part of its name (case-insensitive), its index, or 'simulated'")
    r.add_argument("--samplerate", "-r", type=int, default=48000, help="Hz (default 48000)")
    r.add_argument("--channels", "-c", default="2",
                   help="input channels: a count (default 2) or device channels such as 1,2,5")
    r.add_argument("--format", "-f", default="wav24",
                   help="wav16, wav24 (default), wav32, float (32-bit float WAV), flac16, flac24")
    r.add_argument("--duration", "-t", default=None, help="stop after this long: 90, 1m30s, 2h, 00:05:00")
    r.add_argument("--out", "-o", default=str(default_out_dir()), help="output folder")
    r.add_argument("--name", default=DEFAULT_TEMPLATE,
                   help="file name template; fields {date} {time} {location} {project} {scene} {take:03d} {recorder} "
                        "{microphone} {tags} {device} {samplerate} {channels}")
    from fieldrec.cli_takes import add_commands, add_metadata_flags

    add_metadata_flags(r)
    r.add_argument("--preset", help="a saved preset (fieldrec preset list); flags given here win")
    r.add_argument("--quiet", "-q", action="store_true", help="no live line")
    from fieldrec import field_cli  # issue 15

    field_cli.add_record_arguments(r)
    field_cli.add_schedule_command(sub)

    a = sub.add_parser("analyze", help="measure levels, loudness, clipping and spectrum of audio files")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--json", action="store_true", help="one JSON object per file")

    add_commands(sub)
    e = sub.add_parser("export", help="turn folders of takes into a training dataset (see docs/dataset.md)")
    e.add_argument("sources", nargs="+", metavar="SRC", help="folders (searched recursively) and audio files")
    e.add_argument("--out", "-o", required=True, help="dataset folder")
    e.add_argument("--name", help="dataset name (default: the folder's name)")
    e.add_argument("--samplerate", "-r", type=int, default=None, help="Hz (default: keep the source's)")
    e.add_argument("--format", "-f", default="wav16", help="wav16 (default), wav24, float, flac16, flac24")
    e.add_argument("--channels", default="keep", help="keep (default), mono, split (a file per channel) or N")
    e.add_argument("--normalize", default=None, help="peak:-1 (dBFS) or lufs:-23 (LUFS); default none")
    e.add_argument("--segment", default="whole", help="whole (default), window:LEN[:HOP], markers, events")
    e.add_argument("--last-window", default="drop", help="drop (default), pad or keep the last partial window")
    e.add_argument("--features", default="none", help="all, none (default) or NAME,NAME,...")
    e.add_argument("--split", default="train=0.7,validation=0.15,test=0.15", help="NAME=RATIO,... (train=1: no split)")
    e.add_argument("--folds", type=int, default=None, help="K folds instead of --split")
    e.add_argument("--group-by", default="take", help="take (default), site, session, day, recorder or a KEY")
    e.add_argument("--stratify-by", default=None, help="KEY to stratify the split by")
    e.add_argument("--label-by", default="tag", help="KEY whose value is the label (default: the first tag)")
    e.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    e.add_argument("--coordinates", default="keep", help="keep (default), round:N (decimals) or drop")
    e.add_argument("--tag", action="append", help="only takes with this tag (repeatable: all of them)")
    e.add_argument("--label", action="append", help="only takes with this label (repeatable: any of them)")
    e.add_argument("--location", help="only takes whose location name contains this")
    e.add_argument("--bbox", help="only takes inside SOUTH,WEST,NORTH,EAST (decimal degrees)")
    e.add_argument("--from", dest="date_from", help="only takes recorded on or after YYYY-MM-DD")
    e.add_argument("--to", dest="date_to", help="only takes recorded on or before YYYY-MM-DD")
    e.add_argument("--min-duration", help="only takes at least this long (10s, 1m)")
    e.add_argument("--max-duration", help="only takes at most this long")
    e.add_argument("--max-clipped", type=int, help="only takes with at most this many clipped samples")
    e.add_argument("--min-snr", type=float, help="only takes with at least this SNR (dB)")
    e.add_argument("--max-noise-floor", type=float, help="only takes with a noise floor at most this (dBFS)")
    e.add_argument("--max-true-peak", type=float, help="only takes with a true peak at most this (dBTP)")
    e.add_argument("--where", action="append", help="KEY OP VALUE, e.g. 'habitat == forest' (repeatable)")
    e.add_argument("--include-incomplete", action="store_true", help="also export interrupted takes")
    e.add_argument("--workers", "-j", type=int, default=None, help="processes (default: the number of cores)")
    e.add_argument("--dask", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS (tcp://host:8786)")
    e.add_argument("--dry-run", action="store_true", help="print what would be exported and why the rest is not")
    e.add_argument("--json", action="store_true", help="the summary as one JSON object")

    lib = sub.add_parser("library", help="open the window on its Library tab, listing the takes under these folders")
    lib.add_argument("folders", nargs="+", metavar="DIR")

    mk = sub.add_parser("markers", help="export a take's markers for Audacity or Raven, or import them")
    mk.add_argument("take", metavar="TAKE", help="the take's audio file or its sidecar (.json)")
    how = mk.add_mutually_exclusive_group(required=True)
    how.add_argument("--export", choices=("audacity", "raven"), help="write the markers in this format")
    how.add_argument("--import", dest="import_file", metavar="FILE",
                     help="add the markers of an Audacity label track or a Raven selection table")
    mk.add_argument("--out", metavar="FILE", help="with --export: write here instead of to stdout")
    mk.add_argument("--replace", action="store_true", help="with --import: replace the take's markers")

    m = sub.add_parser("demo", help="record a short take from the simulated source")
    m.add_argument("--seconds", type=float, default=5.0)
    m.add_argument("--out", default=str(default_out_dir()))
    return p


_SIGNED_VALUE = re.compile(r"^-(\d|\.\d)")


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every ``--option`` of the parser and its subcommands that takes a value."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _value_options(sub)
        elif action.option_strings and action.nargs != 0:
            found.update(o for o in action.option_strings if o.startswith("--"))
    return found


def join_signed_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``--monitor-gain -6dB`` as ``--monitor-gain=-6dB``: argparse takes any word that starts with ``-`` and
    is not a plain number for an option, so levels such as ``-6dB`` or ``-45dBFS`` would need the ``=``."""
    wanted = _value_options(parser)
    out: list[str] = []
    for word in argv:
        if out and out[-1] in wanted and _SIGNED_VALUE.match(word):
            out[-1] = f"{out[-1]}={word}"
        else:
            out.append(word)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    argv = join_signed_values(argv, parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own one-line usage error
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    setup_logging(args.verbose)
    command = args.command
    try:
        if command is None:
            if _have_display():
                return cmd_gui(args)
            return cmd_demo(parser.parse_args(["demo"]))
        if command == "schedule":  # issue 15
            from fieldrec.field_cli import cmd_schedule

            return cmd_schedule(args)
        from fieldrec.cli_takes import COMMANDS, FlagError

        try:
            return {"gui": cmd_gui, "devices": cmd_devices, "record": cmd_record, "analyze": cmd_analyze,
                    "export": cmd_export, "demo": cmd_demo,
                    "library": cmd_library, "markers": cmd_markers, **COMMANDS}[command](args)
        except FlagError as err:
            raise UsageError(str(err)) from None
    except UsageError as err:
        print(f"fieldrec: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fieldrec: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `fieldrec analyze ... | head`: the reader has gone; say nothing, as `cat` does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python flushes stdout at exit: let that go nowhere
        return EXIT_BROKEN_PIPE
    except Exception as err:  # the last guard: one line for people, the traceback in the log
        log.exception("unexpected error")
        print(f"fieldrec: error: {type(err).__name__}: {err} (details in the log)", file=sys.stderr)
        return EXIT_FAULT


def main_gui() -> int:
    return main(["gui"])


if __name__ == "__main__":
    sys.exit(main())
