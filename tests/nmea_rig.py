"""NMEA sentences for GPS tests and a ``gpsfake`` (Debian gpsd-clients) replaying them on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce
from pathlib import Path

import pytest

LAT, LON = 47.3769, 8.541700  # 47 22.6140 N, 8 32.5020 E
ALT_MSL, GEOID_SEP = 408.0, 48.0
SIGMA_LAT, SIGMA_LON = 1.5, 2.5  # GST 1-sigma errors, m


def nmea(body: str) -> str:
    cs = reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"${body}*{cs:02X}\r\n"


def epoch(sec: int, fix: bool = True) -> str:
    """One second of a receiver's output: RMC, GGA, GSA and GST at the position above (or no fix)."""
    hhmmss = f"0612{sec % 60:02d}.00"
    q, status, mode = ("1", "A", "3") if fix else ("0", "V", "1")
    return "".join([
        nmea(f"GPRMC,{hhmmss},{status},4722.6140,N,00832.5020,E,0.0,0.0,010626,,,A"),
        nmea(f"GPGGA,{hhmmss},4722.6140,N,00832.5020,E,{q},09,0.9,{ALT_MSL:.1f},M,{GEOID_SEP:.1f},M,,"),
        nmea(f"GPGSA,A,{mode},04,05,09,12,24,25,29,31,32,,,,1.6,0.9,1.3"),
        nmea(f"GPGST,{hhmmss},1.0,3.0,2.0,30.0,{SIGMA_LAT},{SIGMA_LON},3.0"),
    ])


class Pty:
    """A pseudo-terminal: the reader opens the slave as its serial port; the test writes NMEA to the master."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)

    def write(self, text: str) -> None:
        os.write(self.master, text.encode("ascii"))

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gpsfake(folder: Path, seconds: int = 20) -> Iterator[int]:
    """Run gpsfake (and its gpsd) replaying ``seconds`` epochs in a loop; yields the gpsd port."""
    if shutil.which("gpsfake") is None:
        pytest.fail("gpsfake is not installed; run `make test` (it installs gpsd and gpsd-clients)", pytrace=False)
    log = folder / "fix.nmea"
    log.write_text("".join(epoch(s) for s in range(seconds)))
    port = free_port()
    with open(folder / "gpsfake.log", "wb") as err:
        proc = subprocess.Popen(["gpsfake", "-q", "-n", "-c", "0.05", "-P", str(port), str(log)],
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        yield port
    finally:
        os.killpg(proc.pid, 15)  # gpsfake and the gpsd it started (its own session)
        proc.wait(10)
