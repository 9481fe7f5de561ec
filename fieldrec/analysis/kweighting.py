"""K-weighting filter of ITU-R BS.1770-4 for any sample rate.

The two biquads (a high shelf of about +4 dB above 1.5 kHz and the RLB high-pass at about 38 Hz) are
derived from their analogue prototypes with the bilinear transform, the way libebur128 does, so the
filter is right at 44.1, 48, 88.2, 96, 176.4 and 192 kHz alike (at 48 kHz it reproduces the coefficient
table printed in BS.1770-4 to better than 1e-8).
"""

from __future__ import annotations

import math

import numpy as np

# Analogue prototype parameters fitted to the BS.1770 48 kHz table (as used by libebur128).
_SHELF_F0_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_HIGHPASS_F0_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773


def k_weighting_sos(samplerate: float) -> np.ndarray:
    """Return the K-weighting filter as second-order sections, shape (2, 6), for ``samplerate`` in Hz."""
    if samplerate <= 2 * _SHELF_F0_HZ:
        raise ValueError(f"K-weighting needs a sample rate above {2 * _SHELF_F0_HZ:.0f} Hz, got {samplerate}")
    k = math.tan(math.pi * _SHELF_F0_HZ / samplerate)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _SHELF_Q + k * k) / a0,
    ]
    k = math.tan(math.pi * _HIGHPASS_F0_HZ / samplerate)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)
