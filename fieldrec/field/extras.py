"""What a field take records beside its audio at start and stop: the GPS position and the battery.

One definition for the command line and the window: :class:`TakeExtras` gives the two callables that
:class:`fieldrec.session.FieldSession` takes (``extra_start``, ``extra_stop``). At a take's start the
metadata gets ``field.battery_start`` (when there is a battery), ``field.gps`` (the fix as read) and, with a
position, ``location`` from the fix (``source: gps``, MSL elevation, accuracy) over the base location; at
its stop ``field.battery_stop``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldrec.field.power import Battery, power_status


class TakeExtras:
    """``gps``: a started :class:`fieldrec.field.gps.GpsReader` (or a callable returning one, or None);
    ``base_location``: the take's location fields the GPS fix is laid over (a callable returning a dict, for
    a form that changes); ``battery``: True to read this machine's, or a :class:`Battery`/None reading."""

    def __init__(self, out_dir: str | Path, bytes_per_second: float, *, gps: Any = None,
                 base_location: Callable[[], dict[str, Any]] | None = None,
                 battery: Battery | None | bool = True) -> None:
        self.out_dir = out_dir
        self.bytes_per_second = bytes_per_second
        self.gps = gps
        self.base_location = base_location or (lambda: {})
        self.battery = battery

    def _gps(self) -> Any:
        return self.gps() if callable(self.gps) and not hasattr(self.gps, "latest") else self.gps

    def start(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        rec = power_status(self.out_dir, self.bytes_per_second, battery=self.battery).battery_record()
        if rec is not None:
            info["battery_start"] = rec
        out: dict[str, Any] = {"field": info}
        gps = self._gps()
        if gps is not None:
            fix = gps.latest()
            info["gps"] = fix.as_dict()
            loc = fix.location_metadata()
            if loc is not None:
                out["location"] = {**self.base_location(), **loc}
        return out

    def stop(self) -> dict[str, Any]:
        rec = power_status(self.out_dir, self.bytes_per_second, battery=self.battery).battery_record()
        return {"battery_stop": rec} if rec is not None else {}
