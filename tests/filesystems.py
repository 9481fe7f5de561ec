"""Real small file systems for fault tests: a tmpfs of a given size (the tests run as root here and in CI)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    """Mount a tmpfs at ``where`` (created) with mount ``options`` such as ``size=2m`` or ``ro,size=1m``."""
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for a disk fault test (needs root): {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def with_battery(cmd: list[str], percent: float, seconds_left: float) -> list[str]:
    """``cmd`` run in its own mount namespace whose ``/sys/class/power_supply`` holds one discharging
    battery: psutil reads it from sysfs as it reads a laptop's (the test machines have none).
    ``seconds_left`` is energy over power, as psutil computes it."""
    energy_full = 50_000_000  # µWh
    energy_now = int(energy_full * percent / 100)
    power_now = int(energy_now * 3600 / seconds_left)  # µW
    script = ("mount -t tmpfs none /sys/class/power_supply && d=/sys/class/power_supply/BAT0 && mkdir $d && "
              f"echo Battery >$d/type && echo Discharging >$d/status && echo {percent:g} >$d/capacity && "
              f"echo {energy_now} >$d/energy_now && echo {energy_full} >$d/energy_full && "
              f"echo {power_now} >$d/power_now && exec \"$@\"")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *cmd]


def without_power_supply(cmd: list[str]) -> list[str]:
    """``cmd`` run in its own mount namespace with an empty ``/sys/class`` (no ``power_supply`` folder at all,
    as in a container or a chroot without sysfs), where ``psutil.sensors_battery()`` raises."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs none /sys/class && exec "$@"', "sh", *cmd]
