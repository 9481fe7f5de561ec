"""scipy.signal, imported when first used: it takes about a second to import (more on a cold disk), and the
window should paint and the command line answer before that."""

from types import ModuleType


def scipy_signal() -> ModuleType:
    """The ``scipy.signal`` module (imported on the first call, from ``sys.modules`` after that)."""
    import scipy.signal

    return scipy.signal
