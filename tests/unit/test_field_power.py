"""Battery and disk time left (fieldrec.field.power), on real file systems and psutil's own readings."""

from __future__ import annotations

from collections import namedtuple

import psutil
from filesystems import mounted_tmpfs

from fieldrec.field.power import LOW_TIME_S, Battery, battery_from_psutil, power_status, read_battery

# psutil.sensors_battery()'s documented result (its class lives in a private module that moves between versions)
sbattery = namedtuple("sbattery", "percent secsleft power_plugged")


def test_this_machine_has_no_battery_and_that_is_not_a_warning(tmp_path):
    # the test machines are servers: psutil finds no battery in /sys/class/power_supply
    assert read_battery() is None and psutil.sensors_battery() is None
    st = power_status(tmp_path, 48000 * 2 * 3)
    assert st.battery is None and st.battery_record() is None and st.warnings == ()
    assert st.disk_free_bytes == psutil.disk_usage(str(tmp_path)).free
    assert st.summary().startswith("disk ") and st.summary().endswith(" left") and st.battery_summary() == ""


def test_psutil_readings_and_the_15_minute_battery_warning(tmp_path):
    low = battery_from_psutil(sbattery(percent=7.0, secsleft=600, power_plugged=False))
    assert low == Battery(7.0, False, 600.0)
    st = power_status(tmp_path, 48000 * 2 * 3, battery=low)
    assert st.warnings == ("battery: only 0:10:00 left (7 %); plug in the charger",)
    assert st.battery_record() == {"percent": 7.0, "plugged": False, "seconds_left": 600.0}
    assert st.battery_summary() == "battery 7 % (0:10:00 left)"
    assert st.summary().startswith("battery 7 % (0:10:00 left)  disk ") and st.summary().endswith(" left")
    mains = battery_from_psutil(sbattery(percent=99.0, secsleft=psutil.POWER_TIME_UNLIMITED, power_plugged=True))
    assert mains.seconds_left is None and power_status(None, None, battery=mains).warnings == ()
    assert power_status(None, None, battery=mains).summary() == "battery 99 % on mains"
    unknown = battery_from_psutil(sbattery(percent=50.0, secsleft=psutil.POWER_TIME_UNKNOWN, power_plugged=False))
    assert unknown.seconds_left is None and power_status(None, None, battery=unknown).summary() == "battery 50 %"
    assert battery_from_psutil(None) is None
    ok = power_status(None, None, battery=Battery(80.0, False, LOW_TIME_S + 1.0))
    assert ok.warnings == ()


def test_a_nearly_full_disk_warns_and_an_unreadable_folder_says_why(tmp_path):
    with mounted_tmpfs(tmp_path / "card", "size=4m") as card:
        (card / "fill").write_bytes(b"\0" * (3 * 1024 * 1024))
        st = power_status(card, 48000 * 2 * 3, battery=None)  # ~1 MiB left at 288 kB/s: a few seconds
        assert st.disk_seconds_left < 10
        assert st.warnings[0].startswith("disk: only 0:00:0") and str(card) in st.warnings[0]
    gone = power_status(tmp_path / "no-such-folder", 1000, battery=None)
    assert gone.disk_free_bytes is None and "cannot read free space" in gone.warnings[0]
