"""Streaming true peak per ITU-R BS.1770-4 Annex 2.

The signal is oversampled to at least 192 kHz (factor ceil(192 kHz / fs): 5x at 44.1 kHz, 4x at 48 kHz,
2x at 96 kHz, 1x at 192 kHz) with a polyphase FIR interpolator (Kaiser-windowed sinc, beta 8, 32 taps per
phase: passband flat to 0.002 dB up to 0.4 fs, stopband below -69 dB from 0.6 fs) whose state carries across blocks, and the largest
absolute value of the interpolated signal is reported in dBTP (dB true-peak, full scale = 1.0).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from .windows import kaiser_lowpass

TARGET_RATE_HZ = 192000.0
TAPS_PER_PHASE = 32


def oversampling_factor(samplerate: float) -> int:
    """The interpolation factor used at ``samplerate`` Hz (so that factor x fs >= 192 kHz)."""
    return max(1, math.ceil(TARGET_RATE_HZ / samplerate - 1e-9))


def interpolator_phases(factor: int, taps_per_phase: int = TAPS_PER_PHASE) -> np.ndarray:
    """Polyphase interpolation filter, shape (factor, taps_per_phase + 1); each phase has unity DC gain."""
    if factor == 1:
        h = np.zeros((1, taps_per_phase + 1))
        h[0, taps_per_phase // 2] = 1.0
        return h
    # odd length, delay a whole number of input samples: phase 0 reproduces the input samples exactly
    n = factor * taps_per_phase + 1
    proto = kaiser_lowpass(n, 0.5 / factor, 8.0) * factor  # = scipy.signal.firwin(..., ("kaiser", 8.0))
    proto = np.concatenate([proto, np.zeros(factor - 1)])  # length factor * (taps_per_phase + 1)
    # phases[p, j] multiplies x[n - T + j] (T = taps_per_phase): y[n L + p] = sum_k proto[p + k L] x[n - k]
    phases = proto.reshape(taps_per_phase + 1, factor).T[:, ::-1]
    return phases / phases.sum(axis=1, keepdims=True)


class TruePeakMeter:
    """Per-channel true peak of a stream of float blocks (frames, channels); any block size.

    Phase 0 of the interpolator reproduces the input samples, so its peak is the sample peak. The other
    ``factor - 1`` phases are computed by FFT overlap-save in frames of up to ``FFT_FRAME`` points: first
    in float32 for every frame (a screen, error about 1e-7 of full scale), then again in float64 for the
    frames whose screened maximum comes within ``REFINE_MARGIN`` of the block's largest, so the reported
    peak is the float64 value (equal to the direct FIR to about 1e-16) at the cost of a float32 pass.
    """

    FFT_FRAME = 2048
    REFINE_MARGIN = 1e-4  # relative; the float32 screen is good to about 1e-6, so this is 100x safe

    def __init__(self, samplerate: float, channels: int) -> None:
        self.factor = oversampling_factor(samplerate)
        self.channels = int(channels)
        self._phases = interpolator_phases(self.factor)  # (L, T)
        self._taps = self._phases.shape[1]
        self._tap_sum = float(np.abs(self._phases[1:]).sum(axis=1).max()) if self.factor > 1 else 1.0
        self._spectra: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # FFT size -> (float64, float32)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((self.channels, self._taps - 1), dtype=np.float64)
        self.max_abs = np.zeros(self.channels)  # take maximum, linear

    def process(self, block: np.ndarray) -> np.ndarray:
        """Feed a block (frames, channels); return this block's per-channel true peak (linear)."""
        return self.process_t(np.ascontiguousarray(np.asarray(block, dtype=np.float64).T))

    def _phase_spectra(self, nfft: int) -> tuple[np.ndarray, np.ndarray]:
        """conj(rfft) of phases 1..L-1 at ``nfft`` points (a product with it correlates), float64 and float32."""
        h = self._spectra.get(nfft)
        if h is None:
            h64 = np.conj(scipy.fft.rfft(self._phases[1:], nfft, axis=-1))
            h = (h64, h64.astype(np.complex64))
            self._spectra[nfft] = h
        return h

    def process_t(self, xt: np.ndarray, sample_peak: np.ndarray | None = None) -> np.ndarray:
        """Channel-major feed: float64 (channels, frames); returns the block's true peak per channel.

        ``sample_peak``: max |x| per channel of this block if the caller has it already (saves a pass).
        The returned values are for display: exact (float64) where the block comes near the take maximum,
        the float32 screen's (about 1e-7 of full scale) elsewhere. ``max_abs`` is always the float64 value:
        a block whose screened maximum stays below it cannot raise it, so only blocks that come within
        REFINE_MARGIN of it are refined (for a steady signal, a few blocks a minute instead of every one).
        """
        n = xt.shape[1]
        if n == 0:
            return np.zeros(self.channels)
        peak = np.abs(xt).max(axis=1) if sample_peak is None else np.array(sample_peak, dtype=np.float64)
        if self.factor == 1:
            np.maximum(self.max_abs, peak, out=self.max_abs)
            return peak
        shown = peak.copy()
        self._interpolated_peak(xt, peak, np.maximum(peak, self.max_abs), skip=False, shown=shown)
        np.maximum(self.max_abs, peak, out=self.max_abs)
        return np.maximum(peak, shown)

    def process_max_t(self, xt: np.ndarray, sample_peak: np.ndarray | None = None) -> None:
        """Like ``process_t`` but only ``max_abs`` (the take maximum) is kept up to date; nothing is returned.

        For whole files: an output of phase p is a sum of 33 taps, so |y| <= sum(|h_p|) max |x| over
        its inputs; FFT frames whose inputs are too small to reach the maximum so far are not computed.
        ``max_abs`` ends exactly as ``process_t`` would leave it (the frame holding the maximum is always
        computed, and in float64 the same way).
        """
        n = xt.shape[1]
        if n == 0:
            return
        peak = np.abs(xt).max(axis=1) if sample_peak is None else np.array(sample_peak, dtype=np.float64)
        np.maximum(self.max_abs, peak, out=self.max_abs)
        if self.factor > 1:
            self._interpolated_peak(xt, self.max_abs, self.max_abs.copy(), skip=True)

    def _interpolated_peak(self, xt: np.ndarray, peak: np.ndarray, floor: np.ndarray, skip: bool,
                           shown: np.ndarray | None = None) -> None:
        """Raise ``peak`` (per channel) to the largest |y_p| of phases 1..L-1 over the refined frames.

        ``floor`` (per channel): frames are refined (float64) if their screened maximum comes within
        REFINE_MARGIN of max(floor, the block's screened maximum); a frame whose screen stays below that
        cannot hold a value above ``floor``. With ``skip``, frames that cannot exceed ``floor`` (by the
        tap-sum bound) are not computed at all. ``shown``, if given, is raised to the screened maxima.
        """
        n, t, ch = xt.shape[1], self._taps - 1, self.channels
        # y_p[i] = sum_j h_p[j] ext[i + j] for i = 0..n-1, ext = (previous t samples, this block, zeros)
        nfft = min(self.FFT_FRAME, max(64, 1 << (n + t - 1).bit_length()))
        valid = nfft - t
        frames = -(-n // valid)
        state = self._state
        ext = np.empty((ch, frames * valid + t), dtype=np.float32)
        ext[:, :t] = state
        ext[:, t : t + n] = xt
        ext[:, t + n :] = 0.0
        if n >= t:
            self._state = xt[:, n - t :].copy()
        else:
            self._state = np.concatenate([state[:, n:], xt], axis=1)
        h64, h32 = self._phase_spectra(nfft)
        segs = _frames_view(ext, nfft, valid, frames)  # (ch, frames, nfft)
        if skip:
            a = np.abs(ext)
            reach = a[:, : frames * valid].reshape(ch, frames, valid).max(axis=2)
            np.maximum(reach, _frames_view(a[:, valid:], t, valid, frames).max(axis=2), out=reach)
            # float32 rounding of ext: relative 6e-8, covered by the 1e-6 margin
            chans, idx = np.nonzero(reach * (self._tap_sum * (1.0 + 1e-6)) >= floor[:, None])
            if chans.size == 0:
                return
            sel = segs[chans, idx]  # (k, nfft)
        else:
            chans = np.repeat(np.arange(ch), frames)
            idx = np.tile(np.arange(frames), ch)
            sel = segs.reshape(ch * frames, nfft)
        y = scipy.fft.irfft(scipy.fft.rfft(sel, axis=-1)[None] * h32[:, None, :], nfft, axis=-1)
        y = y[..., :valid]  # (p, k, valid); outputs past the block come with the next one:
        y[:, idx == frames - 1, n - (frames - 1) * valid :] = 0.0
        screen = np.maximum(y.max(axis=2), -y.min(axis=2)).max(axis=0)  # (k,)
        best = floor.copy()
        np.maximum.at(best, chans, screen)
        if shown is not None:
            np.maximum.at(shown, chans, screen)
        near = screen >= best[chans] * (1.0 - self.REFINE_MARGIN)
        for c, f in zip(chans[near], idx[near], strict=True):
            seg = np.zeros(nfft)  # ext[c, f * valid : f * valid + nfft] in float64
            lo = f * valid
            if lo < t:
                seg[: t - lo] = state[c, lo:]
            src = xt[c, max(lo - t, 0) : lo + nfft - t]
            seg[max(t - lo, 0) : max(t - lo, 0) + src.shape[0]] = src
            exact = scipy.fft.irfft(scipy.fft.rfft(seg) * h64, nfft, axis=-1)[:, : min(valid, n - lo)]
            peak[c] = max(peak[c], float(np.abs(exact).max()))


def _frames_view(ext: np.ndarray, nfft: int, hop: int, frames: int) -> np.ndarray:
    """Overlapping frames of the rows of ``ext`` as a view: (rows, frames, nfft), frame k at k * hop."""
    s0, s1 = ext.strides
    return np.lib.stride_tricks.as_strided(ext, (ext.shape[0], frames, nfft), (s0, hop * s1, s1), writeable=False)
