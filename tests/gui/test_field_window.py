"""The window's Field dock on the real paths (issue 15): pre-roll, arm-for-trigger, split, schedule editor,
headphones, battery, channels, GPS. Takes go through the real Recorder and FieldSession, with the simulated
source or the virtual PulseAudio device of tests/pulse_rig.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from nmea_rig import ALT_MSL, LAT, LON, Pty, epoch
from pulse_rig import RATE, find_start, known_signal

from fieldrec.field.power import LOW_TIME_S, Battery
from fieldrec.field.schedule import ScheduleError, format_periods, parse_schedule
from fieldrec.gui.schedule_dialog import COLUMNS
from fieldrec.recorder import TakeState
from tests.readers import validate_sidecar


def sidecars(folder: Path) -> list[dict]:
    docs = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return sorted(docs, key=lambda d: d["recording"]["start_utc"])


def rig_window(make_window, gui_config, pulse_rig):
    gui_config.device = pulse_rig.device_name
    gui_config.format_name = "WAV 32-bit float"
    w = make_window(gui_config)
    assert w.recorder is not None and w.recorder.state is TakeState.ARMED, w.banner.history
    w.field_panel.show()
    return w


def wait_final(qtbot, w, timeout=30000):
    qtbot.waitUntil(lambda: not w.pending_finalisers() and not w._finalising, timeout=timeout)


@pytest.mark.audio
def test_pre_roll_set_in_the_window_starts_the_take_with_the_frames_fed_before(make_window, gui_config,
                                                                               pulse_rig, qtbot):
    w = rig_window(make_window, gui_config, pulse_rig)
    w.field_panel.pre_roll_spin.setValue(2)  # reopens the input with a ring that holds it
    ses = w.field.session
    assert ses is not None and ses.pre_roll == 2 * RATE and w.recorder.state is TakeState.ARMED
    sig = known_signal(5.0)
    feeder = pulse_rig.feed(sig)
    try:
        cap = w.recorder.capture
        qtbot.waitUntil(lambda: bool(np.any(cap.ring.latest(4800) != 0)), timeout=20000)  # the signal arrives
        qtbot.wait(1000)  # the signal began about a second ago: inside the 2 s pre-roll
        qtbot.waitUntil(lambda: cap.ring.write_count - ses._armed_at >= int(2.5 * RATE), timeout=10000)
        assert w.record()
        qtbot.waitUntil(lambda: w.recorder.status().elapsed_s >= 3.0, timeout=10000)
        take = w.stop()
    finally:
        feeder.wait(30)
    take.wait(30)
    [doc] = sidecars(Path(gui_config.out_dir))
    validate_sidecar(doc)
    pre = doc["metadata"]["field"]["pre_roll"]
    assert pre["frames"] == 2 * RATE and doc["metadata"]["field"]["started_by"] == "user"
    data, _sr = sf.read(str(take.paths.audio), dtype="float32", always_2d=True)
    i = find_start(data, sig)
    assert 0 < i < pre["frames"]  # the signal was already running in the pre-roll ...
    assert np.array_equal(data[i:], sig[:len(data) - i])  # ... and the file is continuous, sample for sample


def bursts(n: int, on_s: float, off_s: float) -> np.ndarray:
    t = np.arange(int(on_s * RATE)) / RATE
    burst = np.repeat((0.3 * np.sin(2 * np.pi * 1000 * t))[:, None], 2, axis=1)
    rng = np.random.default_rng(5)
    parts = []
    for _ in range(n):
        parts += [1e-3 * rng.standard_normal((int(off_s * RATE), 2)), burst]
    parts.append(1e-3 * rng.standard_normal((int(off_s * RATE), 2)))
    return np.concatenate(parts).astype(np.float32)


@pytest.mark.audio
def test_arm_for_trigger_shows_the_state_and_a_tone_burst_makes_one_take(make_window, gui_config, pulse_rig, qtbot):
    w = rig_window(make_window, gui_config, pulse_rig)
    p = w.field_panel
    p.pre_roll_spin.setValue(1)
    p.threshold.setValue(-30.0)  # the de-trigger left on auto: 6 dB below, as on the command line
    assert p.detrigger.text() == "auto (6 dB below)"
    p.post_roll.setValue(0.5)
    p.min_trigger.setValue(50)
    p.trigger_box.setChecked(True)  # arm for trigger
    qtbot.waitUntil(lambda: w.state_label.text() == "ARMED · TRIGGER", timeout=5000)
    assert "trigger" in w.windowTitle()
    feeder = pulse_rig.feed(bursts(1, 0.5, 1.5))
    try:
        qtbot.waitUntil(lambda: w.is_recording(), timeout=20000)  # the trigger started a take by itself
        qtbot.waitUntil(lambda: w.state_label.text() == "● RECORDING" and ".wav" in w.take_label.text(), timeout=5000)
        qtbot.waitUntil(lambda: not w.is_recording(), timeout=20000)  # ... and its post-roll ended it
    finally:
        feeder.wait(30)
    wait_final(qtbot, w)
    qtbot.waitUntil(lambda: w.state_label.text() == "ARMED · TRIGGER", timeout=5000)  # listening again
    [doc] = sidecars(Path(gui_config.out_dir))
    f = doc["metadata"]["field"]
    assert f["started_by"] == "trigger" and doc["recording"]["stop_reason"] == "trigger"
    assert f["pre_roll"]["frames"] == RATE and f["trigger"]["threshold_dbfs"] == -30.0
    assert f["trigger"]["detrigger_dbfs"] == -36.0
    assert f["trigger"]["level_dbfs"] == pytest.approx(20 * np.log10(0.3), abs=0.1)
    assert w.banner.level != "error", w.banner.history  # a triggered take ending is normal work


def test_split_from_the_window_gives_a_family(window, qtbot):
    p = window.field_panel
    p.split_combo.setCurrentIndex(p.split_combo.findData("time"))
    p.split_value.setValue(0.02)  # minutes: a file every 1.2 s
    p.split_value.editingFinished.emit()
    assert window.field.session._split_frames == int(0.02 * 60 * 48000)
    assert window.record()
    qtbot.waitUntil(lambda: window.recorder.status().elapsed_s >= 1.0 and len(window.field.session.takes) >= 3,
                    timeout=20000)
    window.stop()
    wait_final(qtbot, window)
    qtbot.waitUntil(lambda: all("total" in d["metadata"]["field"]["family"]
                                for d in sidecars(Path(window.config.out_dir))), timeout=20000)
    docs = sidecars(Path(window.config.out_dir))
    fams = [d["metadata"]["field"]["family"] for d in docs]
    assert len(docs) >= 3 and len({f["id"] for f in fams}) == 1
    assert [f["index"] for f in fams] == list(range(1, len(docs) + 1)) and all(f["total"] == len(docs) for f in fams)
    frames = [d["audio"]["frames"] for d in docs]
    assert [f["first_frame"] for f in fams] == [sum(frames[:k]) for k in range(len(docs))]  # gap-free
    assert all(n == int(0.02 * 60 * 48000) for n in frames[:-1])
    assert [d["recording"]["stop_reason"] for d in docs] == ["split"] * (len(docs) - 1) + ["user"]
    assert not any("ended: split" in t for _ts, _l, t in window.banner.history)


def test_schedule_dialog_rejects_a_bad_period_with_its_message_and_lists_the_next_periods(window, qtbot):
    now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    dialog = window.schedule_dialog()
    dialog.now = now
    qtbot.addWidget(dialog)
    dialog.lat_edit.setText("47.37")
    dialog.lon_edit.setText("8.54")
    dialog.tz_edit.setText("Europe/Zurich")
    dialog.add_period({"name": "dawn", "start": "sunrise-30m", "end": "sunrise+1h", "duty": "5m/15m"})
    dialog.add_period({"name": "bad", "start": "25:99", "duration": "1h"})
    assert not dialog.check()
    with pytest.raises(ScheduleError) as err:
        parse_schedule(dialog.to_data(), "schedule")
    assert dialog.error_label.text() == str(err.value) and "period 2" in str(err.value)
    assert dialog.next_view.toPlainText() == ""
    dialog.table.selectRow(1)
    dialog.remove_period()
    dialog.add_period({"name": "night", "start": "22:00", "duration": "30m", "from": "2026-05-01",
                       "until": "2026-05-03"})
    assert dialog.check(), dialog.error_label.text()
    sched = parse_schedule(dialog.to_data(), "schedule")
    want = format_periods(sched.next_periods(now, 8), sched.tz)
    shown = dialog.next_view.toPlainText().splitlines()
    assert shown == want and "UTC" in shown[0] and "CEST" in shown[0]
    dialog.accept()
    window.field.set_schedule(dialog.schedule, dialog.data)
    assert window.field_panel.schedule_run.isEnabled() and "period(s)" in window.field_panel.schedule_status.text()
    out = Path(window.config.out_dir).parent / "schedule.toml"
    dialog.save_to(out)
    from fieldrec.field.schedule import load_schedule

    assert format_periods(load_schedule(out).next_periods(now, 8), sched.tz) == want  # the CLI reads it back
    # what cannot be used is one line in the dialog, never a traceback
    again = window.schedule_dialog()
    qtbot.addWidget(again)
    assert again.open_file(out) and again.table.rowCount() == 2 and again.check()
    assert not again.save_to(out.parent / "no-such-folder" / "s.toml") and "cannot save" in again.error_label.text()
    assert not again.open_file(out.parent / "missing.toml") and "cannot read the schedule" in again.error_label.text()
    (out.parent / "bad.toml").write_text("[[period]\nstart = ")
    assert not again.open_file(out.parent / "bad.toml") and "not valid TOML" in again.error_label.text()
    (out.parent / "bin.toml").write_bytes(b"\xff\xfe\x00")
    assert not again.open_file(out.parent / "bin.toml") and "not a text file" in again.error_label.text()
    again.lat_edit.setText("north")  # not a number: the schedule module says so
    assert not again.check() and "latitude" in again.error_label.text()
    again.lat_edit.setText("47.37")
    again.table.item(0, [k for k, _t in COLUMNS].index("from")).setText("someday")
    assert not again.check() and "from" in again.error_label.text()


def test_running_a_schedule_from_the_window_records_its_period(window, qtbot):
    start = dt.datetime.now().astimezone() + dt.timedelta(seconds=3)
    data = {"period": [{"name": "soon", "start": f"{start:%H:%M:%S}", "duration": "2s", "from": start.date(),
                        "until": start.date()}]}  # today only: then the schedule has no more periods
    sched = parse_schedule(data, "schedule")
    window.field.set_schedule(sched, data)
    window.field_panel.schedule_run.setChecked(True)
    assert window.field.schedule_running()
    assert not window.field_panel.pre_roll_spin.isEnabled()  # the set-up is the schedule's while it runs
    assert not window.device_combo.isEnabled() and not window.record_button.isEnabled()
    assert not window.record() and "A schedule is running" in window.banner.label.text()  # Space/R too
    qtbot.waitUntil(lambda: window.is_recording(), timeout=20000)
    qtbot.waitUntil(lambda: not window.field.schedule_running(), timeout=20000)
    qtbot.waitUntil(lambda: not window.field_panel.schedule_run.isChecked(), timeout=5000)
    assert window.recorder.state is TakeState.ARMED and window.field_panel.pre_roll_spin.isEnabled()  # by hand again
    wait_final(qtbot, window)
    [doc] = sidecars(Path(window.config.out_dir))
    assert doc["metadata"]["field"]["started_by"] == "schedule"
    assert doc["metadata"]["field"]["schedule"]["names"] == ["soon"]
    assert doc["audio"]["frames"] <= 2 * 48000 and doc["recording"]["stop_reason"] in ("duration", "schedule")


@pytest.fixture
def out_sink(pulse_rig):
    pulse_rig.load_out_sink()
    yield pulse_rig
    pulse_rig.suspend_out_sink(False)
    pulse_rig.unload_out_sink()


@pytest.mark.audio
def test_headphones_that_fail_leave_the_take_intact_and_show_the_failure(make_window, gui_config, out_sink, qtbot):
    w = rig_window(make_window, gui_config, out_sink)
    p = w.field_panel
    i = p.monitor_device.findData(out_sink.out_device_name)
    assert i > 0, [p.monitor_device.itemText(k) for k in range(p.monitor_device.count())]
    p.monitor_device.setCurrentIndex(i)
    p.monitor_gain.setValue(-6.0)
    p.monitor_box.setChecked(True)
    assert w.field.monitor is not None
    sig = known_signal(5.0)
    assert w.record()  # the take runs before the signal comes, so the file holds all of it
    feeder = out_sink.feed(sig)
    try:
        qtbot.waitUntil(lambda: "latency" in p.monitor_status.text(), timeout=15000)  # the headphones play
        assert "rig_monitor_out -6.0 dB" in p.monitor_status.text()
        out_sink.suspend_out_sink()  # the headphone output stops taking audio mid-take
        qtbot.waitUntil(lambda: "FAILED" in p.monitor_status.text(), timeout=20000)
        assert w.is_recording()  # the take goes on
    finally:
        feeder.wait(30)
    qtbot.wait(1000)  # the signal's last frames reach the input
    take = w.stop()
    result = take.wait(30)
    assert "the recording goes on" in p.monitor_status.text()
    assert any("Headphones" in t for _ts, _l, t in w.banner.history)
    assert result.overflows == () and result.stop_reason == "user"
    data, _sr = sf.read(str(result.paths.audio), dtype="float32", always_2d=True)
    j = find_start(data, sig)
    assert np.array_equal(data[j:j + len(sig)], sig)  # the whole signal: not a frame lost or changed


def test_status_line_says_plainly_when_there_is_no_battery_and_shows_one_that_runs_low(window, qtbot):
    from fieldrec.field.power import read_battery

    real = read_battery()  # this machine, through psutil
    p = window.field.read_power()
    if real is None:
        assert p.battery is None and window.health.battery.text() == "Battery: none found (mains power)"
    else:
        assert window.health.battery.text().startswith(f"Battery {real.percent:.0f} %")
    # a reading of a laptop on battery, 10 minutes left: the power module's own interface takes it
    window.field.battery = Battery(12.0, False, 600.0)
    p = window.field.read_power()
    assert 600.0 < LOW_TIME_S and any(t.startswith("battery: only 0:10:00") for t in p.warnings)
    assert window.health.battery.text() == "Battery 12 % · 10 min 00 s left"
    assert window.health.battery.property("state") == "bad"
    assert any("plug in the charger" in t for _ts, lvl, t in window.banner.history if lvl == "warning")
    window.field.battery = Battery(80.0, True, None)
    window.field.read_power()
    assert window.health.battery.text() == "Battery 80 % · on mains" and window.health.battery.property("state") == "ok"
    # the sidecar records the battery at the take's start and stop
    window.field.battery = Battery(55.0, False, 7200.0)
    window._close_recorder()
    assert window.record()  # a new session takes the reading
    qtbot.waitUntil(lambda: window.recorder.status().elapsed_s >= 0.3, timeout=10000)
    window.stop().wait(30)
    qtbot.waitUntil(lambda: "battery_stop" in sidecars(Path(window.config.out_dir))[-1]["metadata"]["field"],
                    timeout=20000)
    f = sidecars(Path(window.config.out_dir))[-1]["metadata"]["field"]
    assert f["battery_start"]["percent"] == 55.0 and f["battery_stop"]["seconds_left"] == 7200.0


def test_channel_subset_named_in_the_window_reaches_the_sidecar_and_ixml(window, qtbot):
    import wavinfo

    p = window.field_panel
    p.channel_list.setText("3,1")
    p.channel_names.setText("hydrophone, left")
    p.channel_list.editingFinished.emit()
    s = window.current_settings()
    assert s.channels == 2 and s.keep_channels == (2, 0)
    assert window.recorder is not None and window.recorder.settings.keep_channels == (2, 0)
    assert window.record()
    qtbot.waitUntil(lambda: window.recorder.status().elapsed_s >= 0.5, timeout=10000)
    result = window.stop().wait(30)
    doc = json.loads(result.paths.sidecar.read_text())
    chans = doc["metadata"]["equipment"]["channels"]
    assert [(c["index"], c["device_channel"], c["name"]) for c in chans] == [(1, 3, "hydrophone"), (2, 1, "left")]
    assert sf.info(str(result.paths.audio)).channels == 2
    tracks = wavinfo.WavInfoReader(str(result.paths.audio)).ixml.track_list
    assert [(t.channel_index, t.name) for t in tracks] == [("1", "hydrophone"), ("2", "left")]
    p.channel_list.setText("1,1")
    p.channel_list.editingFinished.emit()
    assert "channel 1 is listed twice" in window.settings_problem.text()  # the CLI's one-line message


def test_gps_from_a_serial_receiver_fills_the_location_and_reaches_the_take(window, qtbot):
    pty = Pty()
    stop = threading.Event()

    def feed():
        k = 0
        while not stop.is_set():
            os.write(pty.master, epoch(k).encode("ascii"))
            k += 1
            time.sleep(0.1)

    t = threading.Thread(target=feed, daemon=True)
    try:
        p = window.field_panel
        p.gps_source.setText(pty.path + "@4800")
        p.gps_box.setChecked(True)
        t.start()
        qtbot.waitUntil(lambda: p.gps_status.text().startswith("GPS 3d"), timeout=15000)
        assert f"{LAT:.5f}" in p.gps_status.text() and "408 m MSL" in p.gps_status.text()
        assert window.record()  # a take started by hand gets the fix without the form being filled
        qtbot.waitUntil(lambda: window.recorder.status().elapsed_s >= 0.3, timeout=10000)
        first = window.stop().wait(30)
        loc0 = json.loads(first.paths.sidecar.read_text())["metadata"]["location"]
        assert loc0["source"] == "gps" and loc0["latitude"] == pytest.approx(LAT, abs=1e-6)
        assert window.fill_location_from_gps()
        md = window.metadata_panel.metadata()
        assert md["location"]["source"] == "gps" and md["location"]["latitude"] == pytest.approx(LAT, abs=1e-6)
        assert window.metadata_panel.editors["location.longitude"].text().startswith("8.5417")
        assert window.record()
        qtbot.waitUntil(lambda: window.recorder.status().elapsed_s >= 0.3, timeout=10000)
        result = window.stop().wait(30)
    finally:
        stop.set()
        t.join(2)
        window.field_panel.gps_box.setChecked(False)
        pty.close()
    loc = json.loads(result.paths.sidecar.read_text())["metadata"]["location"]
    assert loc["source"] == "gps" and loc["longitude"] == pytest.approx(LON, abs=1e-6)
    assert loc["elevation_m"] == pytest.approx(ALT_MSL) and loc["elevation_reference"] == "msl"


def test_the_device_box_names_what_the_default_input_is(window):
    from fieldrec import recorder as rec_mod

    window.device_combo.setCurrentIndex(0)
    name = rec_mod.default_input_name()
    text = window.device_combo.itemText(0)
    if name == rec_mod.SIMULATED_NAME:
        assert text == "System default input: Simulated (no input found)"
    else:
        assert text == f"System default input: {name}"
    assert window.recorder is not None
    assert window.recorder.status().device_name == name  # what the status line says


def test_field_settings_that_cannot_work_are_one_line_each_and_the_take_is_not_touched(window, qtbot, tmp_path):
    p = window.field_panel
    # a de-trigger above the trigger level: the trigger module's message, and the input is not armed with it
    p.threshold.setValue(-40.0)
    p.detrigger.setValue(-20.0)
    p.trigger_box.setChecked(True)
    assert "de-trigger level -20.0 dBFS is above the trigger level" in p.problem.text() and not p.problem.isHidden()
    assert window.current_settings().ring_seconds == 10.0  # no session options: the plain ring
    window._close_recorder()
    assert not window.arm()
    assert window.banner.level == "error" and "Field options: de-trigger" in window.banner.label.text()
    p.detrigger.setValue(-46.0)
    assert p.problem.isHidden()
    p.trigger_box.setChecked(False)
    assert window.arm() and window.recorder.state is TakeState.ARMED
    # headphones on an output that is gone since the list was made: shown, the take records anyway
    p.monitor_device.addItem("an output unplugged since", "an output unplugged since")
    p.monitor_device.setCurrentIndex(p.monitor_device.count() - 1)
    p.monitor_box.setChecked(True)
    assert window.field.monitor is None and "FAILED: no output device matches" in p.monitor_status.text()
    assert window.record()
    qtbot.waitUntil(lambda: window.recorder.status().elapsed_s >= 0.3, timeout=10000)
    assert window.stop().wait(30).stop_reason == "user"
    # a GPS source that is not one: the reason in the GPS box
    p.gps_source.setText("bluetooth")
    p.gps_box.setChecked(True)
    assert window.field.gps is None and "is not a GPS source" in p.gps_status.text()
    p.gps_box.setChecked(False)
    # a channel list that is not one: the metadata is left as the form has it
    p.channel_list.setText("one")
    md = window.metadata_panel.metadata()
    assert window.field.adjust_metadata(md) == md


def test_a_schedule_whose_take_cannot_start_ends_with_the_reason(window, qtbot, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    window.folder_edit.setText(str(blocker / "takes"))
    window.folder_edit.editingFinished.emit()
    start = dt.datetime.now().astimezone() + dt.timedelta(seconds=2)
    data = {"period": [{"start": f"{start:%H:%M:%S}", "duration": "2s", "from": start.date(), "until": start.date()}]}
    window.field.set_schedule(parse_schedule(data, "schedule"), data)
    window.field_panel.schedule_run.setChecked(True)
    qtbot.waitUntil(lambda: any("schedule ended: cannot create the take" in t
                                for _ts, _l, t in window.banner.history), timeout=20000)
    qtbot.waitUntil(lambda: not window.field_panel.schedule_run.isChecked(), timeout=5000)
    assert not window.is_recording()


def test_the_field_dock_is_remembered_but_its_switches_start_off(make_window, gui_config, qtbot):
    from fieldrec.gui.config import load_config

    w = make_window(gui_config)
    p = w.field_panel
    p.pre_roll_spin.setValue(3)
    p.split_combo.setCurrentIndex(p.split_combo.findData("size"))
    p.split_value.setValue(512)
    p.trigger_kind.setCurrentIndex(p.trigger_kind.findData("band"))
    p.threshold.setValue(-45.0)
    p.detrigger.setValue(-50.0)
    p.channel_names.setText("left, right")
    p.trigger_box.setChecked(True)
    w.close()
    cfg = load_config(gui_config.settings_path)
    assert cfg.field_panel["pre_roll"] == 3 and cfg.field_panel["split"] == "size"
    w2 = make_window(cfg)
    p2 = w2.field_panel
    assert p2.pre_roll_spin.value() == 3 and p2.split_combo.currentData() == "size" and p2.split_value.value() == 512
    assert p2.trigger_kind.currentData() == "band" and p2.threshold.value() == -45.0
    assert p2.channel_names.text() == "left, right"
    assert not p2.trigger_box.isChecked() and w2.state_label.text() == "ARMED"  # never starts armed for a trigger
    assert w2.field.session.pre_roll == 3 * 48000 and w2.field.session._split_frames is not None


def test_the_battery_cell_is_filled_with_no_input_open(qtbot, qapp, gui_config, tmp_path):
    """`fieldrec library DIR` opens no input: the status line still says what the battery is (it stayed at
    "Battery: …" until the first arm)."""
    from fieldrec.field.power import read_battery
    from fieldrec.gui.main_window import MainWindow

    w = MainWindow(config=gui_config)
    w.auto_answer_close = True
    qtbot.addWidget(w)
    w.show_library([tmp_path])  # as `fieldrec library` does, before the window is shown
    w.show()
    qtbot.waitExposed(w)
    try:
        qtbot.waitUntil(lambda: w.health.battery.text() != "Battery: …", timeout=10000)
        assert w.recorder is None  # the input was never opened
        real = read_battery()
        if real is None:
            assert w.health.battery.text() == "Battery: none found (mains power)"
        else:
            assert w.health.battery.text().startswith(f"Battery {real.percent:.0f} %")
    finally:
        w.close()
