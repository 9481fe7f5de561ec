"""What every benchmark script shares: one JSON line per figure, and best-of-N timing.

The scripts run as ``python benchmarks/bench_x.py`` (``run_all.py`` does so), so this module is imported as
``from common import ...`` with ``benchmarks/`` first on ``sys.path``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable


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
