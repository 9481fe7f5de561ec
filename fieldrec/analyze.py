"""Analyse an audio file: levels, loudness, clipping, noise floor and spectrum in one bounded-memory pass.

``analyze_file(path)`` reads the file in blocks (``storage.reader.iter_blocks``) on a reader thread,
feeds them to ``analysis.file_meter.FileMeter`` (the live meters' ``MeterBank``, measuring on two
threads) and returns a JSON-safe dict (plain floats, ints, None where a level is undefined, e.g. the
loudness of silence). The keys are documented in docs/analysis.md. Reading, the K-weighting filter and
the FFTs release the GIL, so on two cores the three threads overlap (docs/benchmarks.md has the cost).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from fieldrec.analysis.file_meter import FileMeter
from fieldrec.formats import clip_level_for_subtype
from fieldrec.storage.reader import AudioFileError, iter_blocks, open_info

__all__ = ["AudioFileError", "analyze_file", "clip_level_for_subtype", "default_threads"]

# read as int32 and scaled by 2^-31: the same float64 values as libsndfile's float32 (both exact), cheaper
_INT_SUBTYPES = ("PCM_16", "PCM_24")
_READ_AHEAD = 2  # blocks


def analyze_file(
    path: str | os.PathLike[str], block_frames: int = 65536, threads: int | None = None
) -> dict[str, Any]:
    """Measure a whole file; raises AudioFileError (one-line reason) for non-audio, empty or truncated files.

    ``threads``: 2 (read, and measure on two threads) or 1 (all on the calling thread); the result is the
    same. Default: ``default_threads()``.
    """
    if threads is None:
        threads = default_threads()
    info, f = open_info(path)  # checks the file (AudioFileError) and reads its header
    f.close()
    dtype = "int32" if info.subtype in _INT_SUBTYPES else "float32"
    try:
        bank = FileMeter(info.samplerate, info.channels, clip_level_for_subtype(info.subtype), threads=threads)
    except ValueError as e:
        raise AudioFileError(f"{info.path.name}: cannot be measured: {e}") from None
    with bank:
        _, blocks = iter_blocks(path, block_frames, dtype)
        channel_major = _channel_major(blocks)
        for xt in _read_ahead(channel_major, _READ_AHEAD) if threads > 1 else channel_major:
            bank.process_t(xt)
        result: dict[str, Any] = {"file": str(path), "container": info.format.lower(), "subtype": info.subtype}
        result.update(bank.result())
    return result


def default_threads(cores: int | None = None, busy: float | None = None) -> int:
    """2 when a core is free for the second thread, else 1 (``busy``: other runnable tasks; default: now).

    On a machine whose cores are all busy the second thread only adds contention: measured there, one thread
    took less wall-clock and CPU time (docs/benchmarks.md); with a core free, two took 0.6x the wall time.
    ``busy`` is read when the call is made (Linux: the running tasks of /proc/loadavg but this one), not the
    1-minute load average, which a previous file's measurement would itself have raised.
    """
    if cores is None:
        cores = os.cpu_count() or 1
    if busy is None:
        busy = _other_runnable_tasks()
    return 2 if cores >= 2 and busy <= cores - 1 else 1


def _other_runnable_tasks(loadavg_path: str = "/proc/loadavg") -> float:
    """Runnable tasks other than this one, from /proc/loadavg (elsewhere the 1-minute load average, or 0)."""
    try:
        with open(loadavg_path) as f:
            running = int(f.read().split()[3].split("/")[0])
        return float(max(running - 1, 0))
    except (OSError, IndexError, ValueError):  # no /proc (macOS, Windows), or another format
        loadavg = getattr(os, "getloadavg", None)
        return loadavg()[0] if loadavg is not None else 0.0


def _channel_major(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """(frames, channels) float32 or int32 blocks as C-contiguous float64 (channels, frames), full scale 1.0."""
    try:
        for block in blocks:
            xt = np.asarray(block.T, dtype=np.float64, order="C")
            if block.dtype.kind == "i":
                xt *= 2.0**-31
            yield xt
    finally:
        blocks.close()  # type: ignore[attr-defined]  # closes the file when the consumer stops early


def _read_ahead(items: Iterator[np.ndarray], depth: int) -> Iterator[np.ndarray]:
    """Iterate ``items`` on a thread, up to ``depth`` ahead; its exceptions are raised here, in order."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for x in items:
                if not put(("item", x)):
                    return
        except BaseException as e:  # handed to the consumer, which raises it
            put(("error", e))
        else:
            put(("end", None))
        finally:
            items.close()  # type: ignore[attr-defined]

    reader = threading.Thread(target=run, name="fieldrec-read", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        reader.join()
