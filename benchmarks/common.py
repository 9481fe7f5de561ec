"""What every benchmark script shares: one JSON line per figure, and best-of-N timing.

The scripts run as ``python benchmarks/bench_x.py`` (``run_all.py`` does so), so this module is imported as
``from common import ...`` with ``benchmarks/`` first on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def emit(name: str, value: float, unit: str, target: object = None, digits: int = 4) -> None:
    """One figure: ``{"name", "value", "unit", "target"}`` on its own line, flushed at once."""
    print(json.dumps({"name": name, "value": round(value, digits), "unit": unit, "target": target}), flush=True)


def best(fn: Callable[[], object], repeat: int = 3) -> float:
    """The shortest wall time of ``repeat`` calls of ``fn`` (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def task_cpu_seconds(task: Path) -> float:
    """CPU seconds of one thread (``/proc/<pid>/task/<tid>``): the scheduler's exact run time (schedstat, ns)
    where the kernel has it, else utime + stime in clock ticks (10 ms: arecord's few ms per second would be a
    handful of ticks per window)."""
    try:
        return int((task / "schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
