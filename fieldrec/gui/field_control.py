"""The window's side of the field features: it runs the Qt-free layer with what the Field dock says.

* every take of the window goes through a :class:`fieldrec.session.FieldSession` over the window's Recorder
  (pre-roll, arm-for-trigger, splitting; with none of them set it is the plain take);
* a schedule runs as :class:`fieldrec.field.schedule.ScheduleRunner` over ``ScheduleTakes`` on a thread of
  its own (the CLI's ``fieldrec record --schedule``);
* headphones: :class:`fieldrec.audio.monitor.Monitor` attached to the capture ring;
* GPS: :class:`fieldrec.field.gps.GpsReader`; battery and disk: :func:`fieldrec.field.power.power_status`;
  both reach each take's sidecar through :class:`fieldrec.field.extras.TakeExtras`, as on the command line.

Threads report through a queue that the window's frame timer drains (:meth:`FieldControl.tick`); nothing
here runs on the audio path or blocks the GUI thread for long.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from fieldrec.analysis.trigger import TriggerSpecError
from fieldrec.audio.channels import ChannelSpecError, parse_channel_pair
from fieldrec.audio.devices import DeviceError
from fieldrec.field.extras import TakeExtras
from fieldrec.field.power import Battery, power_status
from fieldrec.recorder import Recorder, RecorderError, TakeSettings
from fieldrec.session import FieldOptions, FieldSession, ScheduleTakes, ring_seconds_for

if TYPE_CHECKING:
    from fieldrec.gui.main_window import MainWindow

log = logging.getLogger(__name__)

#: seconds between battery/disk readings (psutil reads /sys; cheap, but not every frame)
POWER_EVERY_S = 2.0


class FieldControl:
    """Owned by the window; ``panel`` is its :class:`fieldrec.gui.field_panel.FieldPanel`."""

    def __init__(self, window: MainWindow, panel: Any) -> None:
        self.window = window
        self.panel = panel
        self.session: FieldSession | None = None
        self._old_sessions: list[FieldSession] = []
        self.monitor: Any = None
        self.monitor_failure: str | None = None
        self.gps: Any = None
        self.battery: Battery | None | bool = True  #: True: this machine's battery (psutil); or a reading
        self.power: Any = None
        self._power_at = 0.0
        self._warned: set[str] = set()
        self.events: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.schedule: Any = None  #: the validated Schedule from the dialog
        self.schedule_data: dict[str, Any] = {}
        self.clock_factory: Any = None  #: None: the wall clock (tests give a simulated one)
        self._runner_thread: threading.Thread | None = None
        self._runner_stop = threading.Event()
        self.runner: Any = None
        self._completing: threading.Thread | None = None

    # ---------------------------------------------------------------- settings and options
    def options(self) -> FieldOptions | None:
        """The dock's options, or None (with the reason shown in the dock) when they cannot be used."""
        try:
            opts = self.panel.options()
        except (TriggerSpecError, RecorderError) as err:
            self.panel.show_problem(str(err))
            return None
        self.panel.show_problem(None)
        return opts

    def adjust_settings(self, settings: TakeSettings, max_channels: int | None) -> str | None:
        """Apply the dock's channel subset to ``settings``; returns a one-line problem or None."""
        try:
            sel = self.panel.channel_selection(max_channels)
        except ChannelSpecError as err:
            return f"channels: {err}"
        if sel is not None:
            settings.channels = sel.channels
            settings.keep_channels = None if sel.is_all else sel.keep
        try:  # the ring holds the pre-roll (as FieldSession.start would set it): the same settings every time
            settings.ring_seconds = max(settings.ring_seconds, ring_seconds_for(self.panel.options()))
        except (TriggerSpecError, RecorderError):
            pass
        return None

    def adjust_metadata(self, md: dict[str, Any]) -> dict[str, Any]:
        """The take's metadata with the chosen channels named (sidecar channel map and iXML TRACK_LIST), as
        ``fieldrec record --channels`` does."""
        try:
            sel = self.panel.channel_selection(None)
        except ChannelSpecError:
            sel = None
        if sel is None:
            return md
        md = copy.deepcopy(md)
        given = {c.get("index"): c for c in md.get("equipment", {}).get("channels") or []}
        md.setdefault("equipment", {})["channels"] = [
            {**t, **{k: v for k, v in given.get(t["index"], {}).items() if v not in ("", None) and k != "name"}}
            for t in sel.tracks()]
        return md

    def _extras(self, settings: TakeSettings) -> TakeExtras:
        """Called on the session's thread (a triggered take): plain data only, never a widget. The session lays
        the GPS location over its own metadata's location (the form's, kept current by set_metadata)."""
        bps = settings.samplerate * settings.channels * 4
        return TakeExtras(settings.out_dir, bps, gps=lambda: self.gps, battery=self.battery)

    # ---------------------------------------------------------------- the session
    def open(self, recorder: Recorder, options: FieldOptions, metadata: dict[str, Any]) -> FieldSession:
        """Arm ``recorder`` through a new session (the trigger listens at once when armed for one)."""
        extras = self._extras(recorder.settings)
        ses = FieldSession(recorder, options, self.adjust_metadata(metadata), on_event=self.events.put,
                           extra_start=extras.start, extra_stop=extras.stop)
        ses.start()
        self.session = ses
        self.panel.set_monitor_channel_choices(recorder.settings.channels)
        self.start_monitor()
        return ses

    def close(self) -> None:
        """Close the headphones and the session (the input); its takes finalise on their own threads."""
        self.stop_monitor()
        ses, self.session = self.session, None
        if ses is not None:
            ses.suspend()
            self._old_sessions.append(ses)

    def record(self, metadata: dict[str, Any]) -> Any:
        assert self.session is not None
        self.set_metadata(metadata)  # the take starts with the session's metadata, the GPS fix laid over it
        return self.session.record()

    def stop(self) -> Any:
        return self.session.stop("user") if self.session is not None else None

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """The form changed: the next take (a triggered one too) starts with it."""
        ses = self.session
        if ses is not None:  # what the session put there (a schedule's period) stays
            md = self.adjust_metadata(metadata)
            if "field" in ses.metadata:
                md = {**md, "field": {**md.get("field", {}), **ses.metadata["field"]}}
            ses.metadata = md

    def listening(self) -> bool:
        """True while armed for a trigger (its detector listens)."""
        ses = self.session
        return ses is not None and ses.listening() and ses.recorder.capture is not None

    def merged_for_take(self, take: Any, md: dict[str, Any]) -> dict[str, Any]:
        """The form's metadata for a running or last take, keeping what the take layer put there (pre-roll,
        trigger, family, GPS position, named channels): the form does not show those fields."""
        md = copy.deepcopy(self.adjust_metadata(md))
        have = take.doc.get("metadata", {}) if take is not None else {}
        if "field" in have:
            md["field"] = have["field"]
        loc = have.get("location") or {}
        if loc.get("source") == "gps" and md.get("location", {}).get("source") != "gps":
            md["location"] = loc
        return md

    def complete_in_background(self) -> None:
        """Family totals and battery-at-stop go into final takes off the GUI thread (a sidecar rewrite)."""
        if self._completing is not None and self._completing.is_alive():
            return
        sessions = [s for s in self._old_sessions + ([self.session] if self.session else []) if s.incomplete()]
        if not any(t.result is not None for s in sessions for t in s.takes):
            return

        def run() -> None:
            for s in sessions:  # a sidecar that cannot be rewritten is a warning of its take (Take.warn)
                s.complete_final()
            self._old_sessions = [s for s in self._old_sessions if s.incomplete()]

        self._completing = threading.Thread(target=run, name="fieldrec-field-complete", daemon=True)
        self._completing.start()

    def wait_completed(self, timeout: float = 30.0) -> None:
        """Before the window closes: every final take completed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._completing is not None:
                self._completing.join(max(0.0, deadline - time.monotonic()))
            for s in self._old_sessions + ([self.session] if self.session else []):
                s.complete_final()
            if not any(s.incomplete() for s in self._old_sessions):
                return
            time.sleep(0.05)

    # ---------------------------------------------------------------- headphones
    def list_outputs(self) -> None:
        """Offer the output devices (none without PortAudio: the box says why)."""
        from fieldrec.audio.devices import list_output_devices

        try:
            names = [d.name for d in list_output_devices()]
        except DeviceError as err:  # no PortAudio: headphones are simply not offered
            self.panel.monitor_status.setText(f"no outputs: {err}")
            names = []
        self.panel.set_output_devices(names, None)

    def start_monitor(self) -> None:
        from fieldrec.audio.monitor import Monitor, MonitorError

        self.stop_monitor()
        p = self.panel
        ses = self.session
        if not p.monitor_box.isChecked() or ses is None or ses.recorder.capture is None:
            p.monitor_status.setText("off")
            p.style_status(p.monitor_status, False)
            return
        s = ses.recorder.settings
        try:
            cols = parse_channel_pair(p.monitor_channels.currentData() or "all", s.channels)
            mon = Monitor(p.monitor_device.currentData(), s.samplerate, s.channels, channels=cols,
                          gain_db=float(p.monitor_gain.value()))
            mon.start()
        except (MonitorError, DeviceError) as err:  # the take goes on without headphones
            self._monitor_failed(str(err))
            return
        mon.attach(ses.recorder.capture.ring)
        self.monitor = mon
        self.monitor_failure = None
        p.monitor_status.setText(f"on: {mon.out.name}, starting…")
        p.style_status(p.monitor_status, False)

    def stop_monitor(self) -> None:
        mon, self.monitor = self.monitor, None
        if mon is not None:
            mon.close()

    def _monitor_failed(self, why: str) -> None:
        self.monitor_failure = why
        p = self.panel
        p.monitor_status.setText(f"FAILED: {why} — the recording goes on")
        p.style_status(p.monitor_status, True)
        self.window.notify(f"Headphones: {why}; the recording goes on", "warning")

    def _show_monitor(self) -> None:
        mon = self.monitor
        if mon is None:
            return
        st = mon.status()
        if st.failed:
            self.stop_monitor()
            self._monitor_failed(st.failed)
            return
        cap = self.session.recorder.capture if self.session is not None else None
        extra = getattr(cap, "latency_seconds", 0.0) or 0.0
        lat = "measuring…" if st.latency_s is None else f"latency {(st.latency_s + extra) * 1000:.0f} ms"
        under = f", {st.underruns} underruns" if st.underruns else ""
        self.panel.monitor_status.setText(f"on: {st.device} {st.gain_db:+.1f} dB, {lat}{under}")

    # ---------------------------------------------------------------- GPS
    def set_gps(self) -> None:
        from fieldrec.field.gps import GpsError, GpsReader, parse_gps_source

        p = self.panel
        if self.gps is not None:
            self.gps.stop()
            self.gps = None
        if not p.gps_box.isChecked():
            p.gps_status.setText("off")
            p.style_status(p.gps_status, False)
            return
        try:
            self.gps = GpsReader(parse_gps_source(p.gps_source.text())).start()
        except GpsError as err:
            p.gps_status.setText(str(err))
            p.style_status(p.gps_status, True)
            return
        p.gps_status.setText("GPS: waiting for the receiver…")
        p.style_status(p.gps_status, False)

    def gps_location(self) -> dict[str, Any] | None:
        return self.gps.latest().location_metadata() if self.gps is not None else None

    # ---------------------------------------------------------------- schedule
    def set_schedule(self, schedule: Any, data: dict[str, Any]) -> None:
        self.schedule, self.schedule_data = schedule, data
        self.panel.schedule_run.setEnabled(schedule is not None)
        if schedule is not None:
            import datetime as dt

            from fieldrec.field.schedule import UTC

            nxt = schedule.next_periods(dt.datetime.now(UTC), 1)
            when = (f"next: {nxt[0].start.astimezone(schedule.tz):%a %d %b %H:%M:%S %Z} "
                    f"({nxt[0].start:%H:%M:%S} UTC)") if nxt else "no periods to come"
            self.panel.schedule_status.setText(f"{len(schedule.periods)} period(s); {when}")

    def schedule_running(self) -> bool:
        return self._runner_thread is not None and self._runner_thread.is_alive()

    def run_schedule(self, recorder: Recorder, options: FieldOptions, metadata: dict[str, Any]) -> None:
        """Run the schedule over ``recorder`` (closed until the first period) on a thread of its own."""
        from fieldrec.field.schedule import ScheduleRunner, SystemClock

        extras = self._extras(recorder.settings)
        ses = FieldSession(recorder, options, self.adjust_metadata(metadata), on_event=self.events.put,
                           extra_start=extras.start, extra_stop=extras.stop)
        self.session = ses
        clock = self.clock_factory() if self.clock_factory is not None else SystemClock()
        self.runner = ScheduleRunner(self.schedule, clock, ScheduleTakes(ses), on_event=self.events.put)
        self._runner_stop.clear()

        def run() -> None:
            try:
                report = self.runner.run(self._runner_stop)
                self.events.put(f"schedule: {len(report.recorded)} period(s) recorded, {len(report.missed)} "
                                f"missed ({report.ended})")
            except RecorderError as err:  # a take could not start: said once, the schedule ends
                self.events.put(f"schedule ended: {err}")

        self._runner_thread = threading.Thread(target=run, name="fieldrec-schedule", daemon=True)
        self._runner_thread.start()

    def stop_schedule(self) -> None:
        if self._runner_thread is None:
            return
        self._runner_stop.set()
        self._runner_thread.join(15)
        self._runner_thread = None
        if self.session is not None:
            self._old_sessions.append(self.session)
            self.session = None

    # ---------------------------------------------------------------- the status tick (10 Hz)
    def tick(self) -> None:
        w = self.window
        while True:
            try:
                msg = self.events.get_nowait()
            except queue.Empty:
                break
            log.info("field: %s", msg)
            if msg.startswith(("schedule", "recording ", "missed", "session")):
                self.panel.schedule_status.setText(msg)
                if msg.startswith(("missed", "schedule ended", "session ended")):
                    w.notify(msg, "warning")
        self._show_monitor()
        if self.gps is not None:
            fix = self.gps.latest()
            self.panel.gps_status.setText(fix.summary())
            self.panel.style_status(self.panel.gps_status, fix.state == "no-device")
        self.power_tick(time.monotonic())
        if self._runner_thread is not None and not self.schedule_running():  # it ended by itself
            self.panel.schedule_run.setChecked(False)  # the window stops it and arms again
        self.complete_in_background()

    def power_tick(self, now: float) -> None:
        """Read the battery and disk every :data:`POWER_EVERY_S` (``now``: ``time.monotonic()``); the window
        calls it with no input open too, so the status line's battery cell is filled before the first arm."""
        if now - self._power_at >= POWER_EVERY_S:
            self._power_at = now
            self.read_power()

    def read_power(self) -> Any:
        """Battery and disk now (psutil through fieldrec.field.power), shown on the status line."""
        s = self.window.current_settings()
        bps = s.samplerate * s.channels * 4
        folder = next((d for d in (s.out_dir, *s.out_dir.parents) if d.exists()), None)  # made at the first take
        self.power = power_status(folder, bps, battery=self.battery)
        self.window.health.set_power(self.power)
        for text in self.power.warnings:
            if text.startswith("battery") and text not in self._warned:
                self._warned.add(text)
                self.window.notify(text.capitalize(), "warning")
        return self.power

    def shutdown(self) -> None:
        self.stop_schedule()
        self.close()
        if self.gps is not None:
            self.gps.stop()
            self.gps = None
        self.wait_completed()
