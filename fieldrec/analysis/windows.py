"""Analysis windows and the windowed-sinc low-pass, in numpy alone (no scipy.signal import).

``scipy.signal`` takes about half a second of CPU to import (it pulls in scipy.stats); the spectrum and
true-peak meters need only these few windows, so they are computed here with the same operations, in
the same order, as scipy's ``get_window`` and ``firwin`` (the unit tests check they are equal to the
last bit). Kaiser uses ``scipy.special.i0``, which ``scipy.fft`` has imported already.
"""

from __future__ import annotations

import numpy as np
import scipy.special

# the cosine-sum coefficients scipy.signal.windows uses for each window
COSINE_WINDOWS: dict[str, tuple[float, ...]] = {
    "hann": (0.5, 1.0 - 0.5),
    "blackmanharris": (0.35875, 0.48829, 0.14128, 0.01168),
    "flattop": (0.21557895, 0.41663158, 0.277263158, 0.083578947, 0.006947368),
}


def cosine_window(name: str, n: int, periodic: bool = True) -> np.ndarray:
    """Window ``name`` (a key of COSINE_WINDOWS) of length ``n``; periodic (DFT-even) or symmetric."""
    a = COSINE_WINDOWS[name]
    if n <= 1:
        return np.ones(n)
    m = n + 1 if periodic else n
    fac = np.linspace(-np.pi, np.pi, m, dtype=np.float64)
    w = np.zeros(m, dtype=np.float64)
    for k, ak in enumerate(a):
        w += ak * np.cos(k * fac)
    return w[:-1] if periodic else w


def kaiser(n: int, beta: float) -> np.ndarray:
    """Symmetric Kaiser window of length ``n``."""
    if n <= 1:
        return np.ones(n)
    k = np.arange(0, n, dtype=np.float64)
    alpha = (n - 1) / 2.0
    return scipy.special.i0(beta * np.sqrt(1 - ((k - alpha) / alpha) ** 2.0)) / scipy.special.i0(
        np.asarray(beta, dtype=np.float64)
    )


def kaiser_lowpass(numtaps: int, cutoff: float, beta: float) -> np.ndarray:
    """Linear-phase low-pass FIR: sinc at ``cutoff`` (fraction of the sample rate, below 0.5) times Kaiser.

    Unity gain at DC; equal to ``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta), fs=1.0)``.
    """
    if not 0.0 < cutoff < 0.5:
        raise ValueError(f"cutoff must be between 0 and half the sample rate, got {cutoff}")
    right = cutoff / 0.5  # of the Nyquist frequency
    m = np.arange(0, numtaps, dtype=np.float64) - 0.5 * (numtaps - 1)
    h = right * np.sinc(right * m) * kaiser(numtaps, beta)
    return h / np.sum(h)
