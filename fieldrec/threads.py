"""Native names for fieldrec's threads, so ``top -H``, ``ps -L`` and /proc/<pid>/task show who spends what."""

from __future__ import annotations

import ctypes
import sys

_PR_SET_NAME = 15


def name_this_thread(name: str) -> None:
    """Give the calling thread a native name (Linux: at most 15 bytes; elsewhere nothing happens)."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None).prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)
