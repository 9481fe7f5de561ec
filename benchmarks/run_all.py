"""Run every benchmarks/bench_*.py with this interpreter; pass their JSON lines through, one per figure.

Each line: {"name": ..., "value": ..., "unit": ..., "target": ...}. A benchmark that fails prints a line with
"error" instead of stopping the others. Figures are reports, not tests: nothing here fails `make test`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    only = set(sys.argv[1:])
    for script in sorted(here.glob("bench_*.py")):
        if only and script.stem not in only and script.stem.removeprefix("bench_") not in only:
            continue
        start = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=here.parent)
        for line in proc.stdout.splitlines():
            if line.strip().startswith("{"):
                print(line, flush=True)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            print(json.dumps({"name": script.stem, "error": tail[:300]}), flush=True)
        print(json.dumps({"name": f"{script.stem}.wall_time", "value": round(time.monotonic() - start, 1),
                          "unit": "s", "target": None}), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
