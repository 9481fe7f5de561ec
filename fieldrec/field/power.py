"""Battery and disk: how long the machine and the card can keep recording (psutil).

:func:`power_status` reads the battery (``psutil.sensors_battery``; None on a machine without one) and the
free space of the recordings folder, and turns both into seconds left at the take's data rate. Less than
:data:`LOW_TIME_S` (15 minutes) of either is a warning. The sidecar records :meth:`PowerStatus.battery_record`
at a take's start and stop when there is a battery.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldrec.storage.diskspace import LOW_SPACE_SECONDS

log = logging.getLogger(__name__)

#: Warn when less than this many seconds (15 minutes) of battery or disk remain: the same threshold as the
#: take's own disk warning (one definition, in storage).
LOW_TIME_S = LOW_SPACE_SECONDS


@dataclass(frozen=True)
class Battery:
    """``percent`` 0..100; ``plugged`` on mains; ``seconds_left`` None when unknown or unlimited (on mains)."""

    percent: float
    plugged: bool | None
    seconds_left: float | None


def battery_from_psutil(reading: Any) -> Battery | None:
    """A :class:`Battery` from psutil's ``sbattery`` (its special ``secsleft`` values become None)."""
    import psutil

    if reading is None:
        return None
    secs = reading.secsleft
    if secs in (psutil.POWER_TIME_UNLIMITED, psutil.POWER_TIME_UNKNOWN) or secs is None or secs < 0:
        secs = None
    return Battery(float(reading.percent), reading.power_plugged, None if secs is None else float(secs))


def read_battery() -> Battery | None:
    """This machine's battery now, or None without one (or where psutil cannot read it)."""
    import psutil

    reader = getattr(psutil, "sensors_battery", None)
    if reader is None:  # platforms where psutil has no battery support
        return None
    try:
        reading = reader()
    except OSError as err:  # no /sys/class/power_supply (a container, a chroot without /sys): no battery known
        log.debug("no battery reading: %s", err)
        return None
    return battery_from_psutil(reading)


@dataclass(frozen=True)
class PowerStatus:
    battery: Battery | None
    disk_free_bytes: int | None
    disk_seconds_left: float | None
    warnings: tuple[str, ...]

    @property
    def battery_seconds_left(self) -> float | None:
        return None if self.battery is None else self.battery.seconds_left

    def battery_summary(self) -> str:
        """``battery 64 % (1:52 left)``, ``battery 80 % on mains``, or "" without a battery."""
        b = self.battery
        if b is None:
            return ""
        left = " on mains" if b.plugged else (f" ({_hms(b.seconds_left)} left)" if b.seconds_left is not None else "")
        return f"battery {b.percent:.0f} %{left}"

    def summary(self) -> str:
        """One short line for the status line: ``battery 64 % (1:52 left)  disk 3:10:00 left``."""
        parts = [self.battery_summary()] if self.battery is not None else []
        if self.disk_seconds_left is not None:
            parts.append(f"disk {_hms(self.disk_seconds_left)} left")
        return "  ".join(parts)

    def battery_record(self) -> dict[str, Any] | None:
        """What the sidecar keeps at a take's start and stop, or None without a battery."""
        b = self.battery
        if b is None:
            return None
        return {"percent": round(b.percent, 1), "plugged": b.plugged, "seconds_left": b.seconds_left}


def _hms(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def power_status(folder: str | Path | None, bytes_per_second: float | None,
                 battery: Battery | None | bool = True) -> PowerStatus:
    """Battery and disk for recording into ``folder`` at ``bytes_per_second`` (None: disk not asked).

    ``battery=True`` reads this machine's battery; pass a :class:`Battery` (or None) to use a reading taken
    elsewhere. Never raises: a folder that cannot be read gives no disk figure and a warning saying why.
    """
    import psutil

    bat = read_battery() if battery is True else (battery or None)
    warnings: list[str] = []
    free = secs = None
    if folder is not None:
        try:
            free = int(psutil.disk_usage(str(folder)).free)
        except OSError as exc:
            warnings.append(f"cannot read free space in {folder}: {exc.strerror or exc}")
        if free is not None and bytes_per_second:
            secs = free / float(bytes_per_second)
            if secs < LOW_TIME_S:
                warnings.append(f"disk: only {_hms(secs)} of recording left in {folder}")
    if bat is not None and not bat.plugged and bat.seconds_left is not None and bat.seconds_left < LOW_TIME_S:
        warnings.append(f"battery: only {_hms(bat.seconds_left)} left ({bat.percent:.0f} %); plug in the charger")
    return PowerStatus(bat, free, secs, tuple(warnings))
