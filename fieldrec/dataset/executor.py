"""The one executor parameter: where the per-take work runs. Same code for every choice.

``open_executor(workers, dask)`` gives an object with ``submit(fn, job) -> future`` (``future.result()``)
and ``as_completed(futures)``: in this process for ``workers=1``, a ``concurrent.futures`` process pool
(forkserver start, so a pool started from a threaded program is safe) for more, or a
``dask.distributed.Client`` on the scheduler at ``dask`` (``pip install 'fieldrec[dask]'``). On a cluster
every worker must see the source and output folders at the same paths (a shared file system).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class ExecutorError(Exception):
    """The executor cannot start (Dask missing, scheduler unreachable); one line."""


class _Deferred:
    """A job run in this process when its result is first asked for (so progress follows the work)."""

    def __init__(self, fn: Callable[[Any], Any], job: Any) -> None:
        self._fn, self._job = fn, job
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None

    def result(self) -> Any:
        if not self._done:
            self._done = True
            try:
                self._value = self._fn(self._job)
            except Exception as err:  # raised again below on every call, as a pool's future does
                self._error = err
        if self._error is not None:
            raise self._error
        return self._value


class InlineExecutor:
    """Runs each job in this process, one after the other, as its result is collected (no pickling)."""

    name = "inline"

    def submit(self, fn: Callable[[Any], Any], job: Any) -> _Deferred:
        return _Deferred(fn, job)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return iter(list(futures))

    def close(self) -> None:
        pass


class PoolExecutor:
    """A process pool of ``workers`` processes."""

    def __init__(self, workers: int) -> None:
        self.name = f"process pool ({workers} workers)"
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["fieldrec.dataset.unit"])
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

    def submit(self, fn: Callable[[Any], Any], job: Any) -> cf.Future:
        return self._pool.submit(fn, job)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return cf.as_completed(list(futures))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """A ``dask.distributed`` client on the scheduler at ``address`` (tcp://host:port)."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError("--dask needs Dask: pip install 'fieldrec[dask]'") from None
        try:
            self._client = Client(address, timeout="5s")
        except (OSError, TimeoutError, ValueError) as err:
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {err}") from None
        self.name = f"dask ({address})"

    def submit(self, fn: Callable[[Any], Any], job: Any) -> Any:
        return self._client.submit(fn, job, pure=False)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed
        return iter(as_completed(list(futures)))

    def close(self) -> None:
        self._client.close()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def open_executor(workers: int | None = None, dask: str | None = None) -> InlineExecutor | PoolExecutor | DaskExecutor:
    if dask:
        return DaskExecutor(dask)
    n = default_workers() if workers is None else int(workers)
    return InlineExecutor() if n <= 1 else PoolExecutor(n)
