"""GPS position from gpsd (``gpsdclient``) or an NMEA serial receiver (``pynmea2`` over ``pyserial``).

``--gps gpsd`` (localhost:2947), ``--gps gpsd:HOST:PORT``, or ``--gps /dev/ttyACM0`` (``/dev/ttyUSB0@9600``
sets the baud rate; 9600 by default). :class:`GpsReader` reads in a background thread and keeps the newest
:class:`GpsFix`; :meth:`GpsReader.latest` returns that snapshot at once, never waiting for the receiver.
Having no fix is a state (``searching``, ``no-fix``), not an error; a receiver that cannot be reached is the
state ``no-device`` with the reason in :attr:`GpsFix.error`, and the reader keeps trying every few seconds.

Conventions:

* Elevation is above mean sea level: gpsd's ``altMSL`` (never ``altHAE``, the height above the WGS84
  ellipsoid, which differs by the geoid separation, up to about 100 m), NMEA GGA's antenna altitude.
* Accuracy: gpsd reports error estimates (``eph``, ``epx``, ``epy``, ``epv``) at 95 % confidence.
  :attr:`GpsFix.accuracy_95_m` keeps gpsd's horizontal figure; :meth:`GpsFix.accuracy_m` converts to another
  confidence for a field that needs one (GUANO's ``Loc Accuracy`` is 68 %), assuming a circular normal
  horizontal error (Rayleigh radius: r_p = sigma * sqrt(-2 ln(1 - p)), so r68 = 0.6167 * r95). From NMEA the
  accuracy comes from GST (1-sigma latitude and longitude errors); without GST it is unknown (None).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

FixState = Literal["no-device", "searching", "no-fix", "2d", "3d"]
DEFAULT_GPSD = ("127.0.0.1", 2947)
DEFAULT_BAUD = 9600
RETRY_S = 3.0


class GpsError(ValueError):
    """A GPS source that cannot be used as written (one-line message)."""


def rayleigh_radius_factor(p: float) -> float:
    """Radius containing probability ``p`` of a circular normal 2-D error, in units of sigma per axis."""
    return math.sqrt(-2.0 * math.log(1.0 - p))


def convert_confidence(radius_m: float, from_p: float = 0.95, to_p: float = 0.68) -> float:
    """A horizontal error radius at confidence ``from_p`` re-expressed at ``to_p`` (circular normal)."""
    return radius_m * rayleigh_radius_factor(to_p) / rayleigh_radius_factor(from_p)


@dataclass(frozen=True)
class GpsFix:
    """One snapshot: degrees (N, E positive), metres above mean sea level, UTC ISO time from the receiver."""

    state: FixState
    source: str
    latitude: float | None = None
    longitude: float | None = None
    alt_msl_m: float | None = None
    accuracy_95_m: float | None = None  # horizontal, 95 % (gpsd's convention)
    vertical_95_m: float | None = None
    satellites: int | None = None
    hdop: float | None = None
    time: str | None = None
    received: float = 0.0  # time.monotonic() when this snapshot was made
    error: str | None = None
    bad_sentences: int = 0

    @property
    def has_position(self) -> bool:
        return self.state in ("2d", "3d") and self.latitude is not None and self.longitude is not None

    def accuracy_m(self, confidence: float = 0.68) -> float | None:
        """Horizontal accuracy in metres at ``confidence`` (0.68 for GUANO's Loc Accuracy)."""
        if self.accuracy_95_m is None:
            return None
        return convert_confidence(self.accuracy_95_m, 0.95, confidence)

    def location_metadata(self) -> dict[str, Any] | None:
        """The take's ``location`` fields from this fix (``source: gps``), or None without a position."""
        if not self.has_position:
            return None
        acc68 = self.accuracy_m(0.68)
        # the metadata model's location.accuracy_m is at 95 % (gpsd's convention); GUANO's Loc Accuracy wants
        # 68 %, kept beside it as accuracy_68_m
        return {"latitude": self.latitude, "longitude": self.longitude, "source": "gps",
                "elevation_m": self.alt_msl_m, "elevation_reference": "msl",
                "accuracy_m": None if self.accuracy_95_m is None else round(self.accuracy_95_m, 2),
                "accuracy_confidence": 0.95, "accuracy_68_m": None if acc68 is None else round(acc68, 2),
                "fix": self.state, "satellites": self.satellites, "gps_time": self.time}

    def summary(self) -> str:
        """One line for a status display."""
        if self.state == "no-device":
            return f"GPS: no receiver ({self.error or 'not connected'})"
        if not self.has_position:
            return f"GPS: {self.state}" + (f", {self.satellites} satellites" if self.satellites is not None else "")
        acc = self.accuracy_m(0.68)
        alt = "" if self.alt_msl_m is None else f" {self.alt_msl_m:.0f} m MSL"
        return (f"GPS {self.state}: {self.latitude:.5f}, {self.longitude:.5f}{alt}"
                + ("" if acc is None else f" ±{acc:.0f} m (68 %)"))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GpsSource:
    """Parsed ``--gps`` value: ``kind`` ``gpsd`` (host, port) or ``serial`` (path, baud)."""

    kind: Literal["gpsd", "serial"]
    host: str = DEFAULT_GPSD[0]
    port: int = DEFAULT_GPSD[1]
    path: str = ""
    baud: int = DEFAULT_BAUD

    def __str__(self) -> str:
        return f"gpsd:{self.host}:{self.port}" if self.kind == "gpsd" else f"{self.path}@{self.baud}"


def parse_gps_source(text: str) -> GpsSource:
    """``gpsd``, ``gpsd:HOST:PORT``, ``gpsd:HOST``, ``/dev/ttyACM0`` or ``/dev/ttyUSB0@4800``."""
    t = text.strip()
    if t == "gpsd" or t.startswith("gpsd:"):
        parts = t.split(":")
        host = parts[1] if len(parts) > 1 and parts[1] else DEFAULT_GPSD[0]
        port = DEFAULT_GPSD[1]
        if len(parts) > 3:
            raise GpsError(f"'{text}' is not a gpsd address; write gpsd, gpsd:HOST or gpsd:HOST:PORT")
        if len(parts) == 3:
            if not parts[2].isdigit() or not 0 < int(parts[2]) < 65536:
                raise GpsError(f"'{parts[2]}' is not a port number (1-65535)")
            port = int(parts[2])
        return GpsSource("gpsd", host=host, port=port)
    if t.startswith("/"):
        path, _, baud = t.partition("@")
        if baud and not baud.isdigit():
            raise GpsError(f"'{baud}' is not a baud rate; write it like /dev/ttyUSB0@4800")
        return GpsSource("serial", path=path, baud=int(baud) if baud else DEFAULT_BAUD)
    raise GpsError(f"'{text}' is not a GPS source; use gpsd, gpsd:HOST:PORT or a serial device such as "
                   "/dev/ttyACM0")


#: when neither the last kept point nor the new fix has an accuracy (NMEA without GST), a move counts when it is
#: longer than this, metres
TRACK_MIN_MOVE_M = 10.0
EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS 84 positions (haversine on the mean sphere; within
    0.5 % of the ellipsoidal distance, far below GPS accuracy for the moves a track keeps)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


class GpsTrack:
    """The positions of one take (``metadata.location.track``): the first fix with a position, at the frame it
    was offered, then each fix that lies farther from the last kept point than the accuracy (the larger 95 %
    radius of the two; :data:`TRACK_MIN_MOVE_M` when neither has one). A fix without a position is skipped.
    Points: ``frame`` (of the take's file), ``time`` (UTC from the receiver), ``latitude``, ``longitude``,
    ``elevation_m`` (MSL), ``accuracy_m`` (95 %)."""

    def __init__(self) -> None:
        self.points: list[dict[str, Any]] = []
        self._last: GpsFix | None = None

    def offer(self, fix: GpsFix, frame: int) -> bool:
        """Keep ``fix`` at file frame ``frame`` if it moved more than the accuracy; True when kept."""
        if not fix.has_position:
            return False
        last = self._last
        if last is not None:
            known = [a for a in (last.accuracy_95_m, fix.accuracy_95_m) if a is not None]
            limit = max(known) if known else TRACK_MIN_MOVE_M
            if distance_m(last.latitude, last.longitude, fix.latitude, fix.longitude) <= limit:  # type: ignore[arg-type]
                return False
        self._last = fix
        self.points.append({"frame": int(frame), "time": fix.time, "latitude": fix.latitude,
                            "longitude": fix.longitude, "elevation_m": fix.alt_msl_m,
                            "accuracy_m": None if fix.accuracy_95_m is None else round(fix.accuracy_95_m, 2)})
        return True


def _f(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class GpsReader:
    """Read a :class:`GpsSource` in a daemon thread; :meth:`latest` is the newest snapshot."""

    def __init__(self, source: GpsSource | str, *, timeout_s: float = 5.0, retry_s: float = RETRY_S) -> None:
        self.source = parse_gps_source(source) if isinstance(source, str) else source
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self._fix = GpsFix("searching", str(self.source), received=time.monotonic())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closer: Any = None
        #: snapshots made since start (a display can tell a live receiver from a silent one)
        self.updates = 0

    # ---- public -------------------------------------------------------------------------------------------
    def start(self) -> GpsReader:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fieldrec-gps", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        closer = self._closer
        if closer is not None:
            closer()  # unblocks the reader thread's read
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def latest(self) -> GpsFix:
        with self._lock:
            return self._fix

    def wait_for(self, predicate: Any, timeout: float) -> GpsFix:
        """Poll :meth:`latest` until ``predicate(fix)`` is true or ``timeout`` s pass; returns the last fix."""
        deadline = time.monotonic() + timeout
        fix = self.latest()
        while not predicate(fix) and time.monotonic() < deadline:
            self._stop.wait(0.05)
            fix = self.latest()
        return fix

    def __enter__(self) -> GpsReader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- thread -------------------------------------------------------------------------------------------
    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._fix = replace(self._fix, received=time.monotonic(), **changes)
            self.updates += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.source.kind == "gpsd":
                    self._read_gpsd()
                else:
                    self._read_serial()
            except Exception as exc:  # a receiver gone, refused, unplugged: a state, shown, retried
                if self._stop.is_set():
                    break
                self._set(state="no-device", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._stop.wait(self.retry_s)

    def _read_gpsd(self) -> None:
        from gpsdclient import GPSDClient

        client = GPSDClient(host=self.source.host, port=self.source.port, timeout=self.timeout_s)
        self._closer = client.close
        try:
            for msg in client.dict_stream(convert_datetime=False, filter=["TPV", "SKY"]):
                if self._stop.is_set():
                    return
                if self._fix.state == "no-device":
                    self._set(state="searching", error=None)
                if msg.get("class") == "TPV":
                    self._on_tpv(msg)
                elif msg.get("class") == "SKY":
                    used = msg.get("uSat")
                    if used is None and isinstance(msg.get("satellites"), list):
                        used = sum(1 for s in msg["satellites"] if s.get("used"))
                    if used is not None:
                        self._set(satellites=int(used), hdop=_f(msg.get("hdop")) or self._fix.hdop)
        finally:
            self._closer = None
            client.close()

    def _on_tpv(self, msg: dict[str, Any]) -> None:
        mode = int(msg.get("mode", 0) or 0)
        if mode < 2:
            self._set(state="no-fix", time=msg.get("time"), error=None)
            return
        eph = _f(msg.get("eph"))
        if eph is None and _f(msg.get("epx")) is not None and _f(msg.get("epy")) is not None:
            eph = math.hypot(_f(msg["epx"]), _f(msg["epy"]))  # type: ignore[arg-type]
        self._set(state="3d" if mode == 3 else "2d", latitude=_f(msg.get("lat")), longitude=_f(msg.get("lon")),
                  alt_msl_m=_f(msg.get("altMSL")) if mode == 3 else None, accuracy_95_m=eph,
                  vertical_95_m=_f(msg.get("epv")), time=msg.get("time"), error=None)

    def _read_serial(self) -> None:
        import pynmea2
        import serial

        port = serial.Serial(self.source.path, baudrate=self.source.baud, timeout=1.0)
        self._closer = port.close
        buf = b""
        try:
            self._set(state="searching", error=None)
            while not self._stop.is_set():
                chunk = port.read(port.in_waiting or 1)
                if not chunk:
                    continue
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode("ascii", "replace").strip()
                    if not line.startswith("$"):
                        continue
                    try:
                        msg = pynmea2.parse(line, check=True)
                    except (pynmea2.ParseError, ValueError, AttributeError):
                        with self._lock:
                            self._fix = replace(self._fix, bad_sentences=self._fix.bad_sentences + 1)
                        continue
                    self._on_nmea(msg)
        finally:
            self._closer = None
            port.close()

    def _nmea_time(self, t: Any) -> str | None:
        """UTC ISO time from an NMEA time of day and the last RMC date (None before a date is known)."""
        date = getattr(self, "_nmea_date", None)
        if t is None or date is None:
            return self._fix.time
        return f"{date.isoformat()}T{t.replace(tzinfo=None).isoformat()}Z"

    def _on_nmea(self, msg: Any) -> None:
        kind = getattr(msg, "sentence_type", "")
        if kind == "GGA":
            quality = int(msg.gps_qual or 0)
            if quality == 0:
                self._set(state="no-fix", satellites=int(msg.num_sats or 0) if msg.num_sats else None)
                return
            state = self._fix.state if self._fix.state in ("2d", "3d") else "3d"
            self._set(state=state, latitude=_f(msg.latitude), longitude=_f(msg.longitude),
                      alt_msl_m=_f(msg.altitude) if state == "3d" else None,
                      satellites=int(msg.num_sats) if msg.num_sats else None, hdop=_f(msg.horizontal_dil),
                      time=self._nmea_time(msg.timestamp))
        elif kind == "GSA":
            mode = int(msg.mode_fix_type or 1)
            if mode < 2:
                self._set(state="no-fix")
            else:
                self._set(state="3d" if mode == 3 else "2d",
                          alt_msl_m=self._fix.alt_msl_m if mode == 3 else None)
        elif kind == "RMC":
            if msg.status != "A":
                self._set(state="no-fix")
            elif msg.datestamp and msg.timestamp:
                self._nmea_date = msg.datestamp
                self._set(time=self._nmea_time(msg.timestamp))
        elif kind == "GST":
            slat, slon = _f(msg.std_dev_latitude), _f(msg.std_dev_longitude)
            if slat is not None and slon is not None:
                sigma = math.sqrt((slat * slat + slon * slon) / 2.0)
                self._set(accuracy_95_m=sigma * rayleigh_radius_factor(0.95))
