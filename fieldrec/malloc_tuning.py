"""glibc malloc settings for a process that streams audio through numpy in large blocks.

numpy's temporaries for a 65536-frame block are 0.5-2 MB. With glibc's defaults such blocks are returned
to the system when freed (the heap top is trimmed, or the block was its own mmap) and the next block's
temporaries fault in fresh zeroed pages: measuring a 10-minute file took about 500 000 page faults, 30 %
of its CPU time (docs/benchmarks.md). ``keep_freed_memory()`` raises the mmap threshold to 64 MB and the
trim threshold to 128 MB, so freed blocks stay in the heap and are reused; the process keeps at most its
peak heap. A take pays the same way: the meter thread's temporaries for a 0.25 s batch (about 190 kB a
channel-major float64 array at 48 kHz / 2 ch) faulted in about 790 fresh pages a second, 10 with these
settings (docs/benchmarks.md, "What a take costs"). It is called by the commands that own their process
(``fieldrec analyze``, ``record``, the window, a field session), not by the library.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 64 << 20
TRIM_THRESHOLD_BYTES = 128 << 20


def keep_freed_memory(libc: Any = None) -> bool:
    """Apply the settings above (Linux with glibc); False where they cannot be set (other C libraries).

    ``libc``: the C library as a ctypes library (default: the process's own).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = (ctypes.CDLL(None) if libc is None else libc).mallopt
    except AttributeError:  # a C library without mallopt (musl)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
