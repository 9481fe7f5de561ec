"""scipy.signal, imported when first used: it takes about a second to import (more on a cold disk), and the
window should paint and the command line answer before that.

``sosfilt_kernel()`` gives the one compiled loop of scipy.signal that the file analysis needs on every block
(the K-weighting filter) without importing scipy.signal's package, whose ``__init__`` imports all of it
and scipy.stats (about 0.6 s of CPU, a fifth of measuring a 10-minute file): the extension module
``scipy/signal/_sosfilt`` depends on numpy only. If it cannot be loaded that way (another scipy layout),
``scipy.signal.sosfilt`` itself is used; the unit tests check both against it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

SosKernel = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
_KERNEL_MODULE = "scipy.signal._sosfilt"
_kernel: SosKernel | None = None


def scipy_signal() -> ModuleType:
    """The ``scipy.signal`` module (imported on the first call, from ``sys.modules`` after that)."""
    import scipy.signal

    return scipy.signal


def sosfilt_kernel() -> SosKernel:
    """``kernel(sos, x, zi)``: filters ``x`` (rows, n) in place and updates ``zi`` (rows, sections, 2).

    All three float64 and C-contiguous. This is the loop inside ``scipy.signal.sosfilt``, so the output is
    the same to the bit: ``sosfilt(sos, x, axis=-1, zi=z)`` with ``z = zi.transpose(1, 0, 2)``.
    """
    global _kernel
    if _kernel is None:
        spec = importlib.util.find_spec("scipy")
        origin = spec.origin if spec is not None else None
        _kernel = _load_kernel(Path(origin).parent / "signal" if origin else None)
    return _kernel


def _load_kernel(directory: Path | None) -> SosKernel:
    """The kernel from ``directory`` (scipy/signal), from scipy.signal if that is imported, else the public one."""
    module = sys.modules.get(_KERNEL_MODULE)
    if module is None:
        if directory is None:  # scipy without a file location (a frozen or zipped install)
            return _public_sosfilt
        try:
            module = _load_extension(directory)
        except (ImportError, OSError, StopIteration):  # not where scipy keeps it: the public function
            return _public_sosfilt
    return module._sosfilt


def _public_sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    y, z = scipy_signal().sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
    x[...] = y
    zi[...] = z.transpose(1, 0, 2)


def _load_extension(directory: Path) -> ModuleType:
    """Load ``directory/_sosfilt*.so`` as scipy.signal._sosfilt (registered, so scipy.signal reuses it)."""
    path = next(
        p for s in importlib.machinery.EXTENSION_SUFFIXES if (p := directory / f"_sosfilt{s}").is_file()
    )
    loader = importlib.machinery.ExtensionFileLoader(_KERNEL_MODULE, str(path))
    spec = importlib.util.spec_from_file_location(_KERNEL_MODULE, path, loader=loader)
    if spec is None:
        raise ImportError(f"no module spec for {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sys.modules[_KERNEL_MODULE] = module
    return module
