"""Spectra and spectral features: calibration (dBFS at the bin), centroid, roll-off, peaks."""

from __future__ import annotations

import numpy as np
import pytest

from fieldrec.analysis.features import spectral_bandwidth, spectral_centroid, spectral_peaks, spectral_rolloff
from fieldrec.analysis.spectrum import (
    WINDOWS,
    WelchAccumulator,
    get_window,
    magnitude_spectrum_dbfs,
    spectrogram_db,
    stft_magnitude,
    stft_power,
    welch_dbfs,
)

FS = 48000


def bin_sine(nfft: int, k: int, amp: float, n: int, fs: int = FS) -> tuple[float, np.ndarray]:
    freq = k * fs / nfft
    return freq, amp * np.sin(2 * np.pi * freq * np.arange(n) / fs + 0.4)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("amp", [1.0, 0.1])
def test_magnitude_spectrum_full_scale_sine_reads_0_dbfs(window: str, amp: float) -> None:
    freq, x = bin_sine(8192, 683, amp, 8192)
    f, db = magnitude_spectrum_dbfs(x, FS, window)
    i = int(np.argmax(db))
    assert f[i] == pytest.approx(freq)
    assert db[i] == pytest.approx(20 * np.log10(amp), abs=0.01)


@pytest.mark.parametrize("window", WINDOWS)
def test_welch_calibrated_and_channels_averaged(window: str) -> None:
    freq, x = bin_sine(4096, 300, 1.0, 20 * 4096)
    f, db = welch_dbfs(np.stack([x, x], axis=1), FS, nfft=4096, window=window)
    i = int(np.argmax(db))
    assert f[i] == pytest.approx(freq)
    assert db[i] == pytest.approx(0.0, abs=0.01)


def test_welch_streaming_equals_whole() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.1, (50000, 2))
    whole = WelchAccumulator(FS, 2048)
    whole.process(x)
    parts = WelchAccumulator(FS, 2048)
    for i in range(0, x.shape[0], 777):
        parts.process(x[i : i + 777])
    assert parts.segments == whole.segments
    np.testing.assert_allclose(parts.power(), whole.power(), rtol=1e-10)


def test_spectrogram_level_and_axes() -> None:
    freq, x = bin_sine(1024, 100, 0.5, FS)
    f, t, db = spectrogram_db(x, FS, nfft=1024, hop=512)
    assert db.shape == (513, len(t)) and len(t) == (FS - 1024) // 512 + 1
    assert t[0] == pytest.approx(512 / FS)
    assert f[np.argmax(db[:, 5])] == pytest.approx(freq)
    assert np.max(db) == pytest.approx(-6.02, abs=0.01)


@pytest.mark.parametrize("freq", [440.0, 1000.0, 5000.0])
def test_centroid_of_a_sine_is_its_frequency(freq: float) -> None:
    x = np.sin(2 * np.pi * freq * np.arange(FS) / FS)
    f, db = welch_dbfs(x, FS, nfft=4096)
    power = 10 ** (db / 10)
    assert spectral_centroid(f, np.sqrt(power)) == pytest.approx(freq, abs=FS / 4096)
    assert spectral_bandwidth(f, np.sqrt(power)) < 3 * FS / 4096
    assert spectral_rolloff(f, power) == pytest.approx(freq, abs=2 * FS / 4096)


def test_centroid_per_frame_of_stft() -> None:
    x = np.sin(2 * np.pi * 2000.0 * np.arange(FS) / FS)
    mag = stft_magnitude(x, 2048, 512, "hann")
    c = spectral_centroid(np.fft.rfftfreq(2048, 1 / FS), mag)
    assert c.shape == (mag.shape[1],)
    np.testing.assert_allclose(c, 2000.0, atol=FS / 2048)


def test_peaks_strongest_first() -> None:
    n = 16 * 4096
    _, a = bin_sine(4096, 200, 0.5, n)
    _, b = bin_sine(4096, 900, 0.05, n)
    rng = np.random.default_rng(1)
    f, db = welch_dbfs(a + b + rng.normal(0, 1e-4, n), FS, nfft=4096, window="blackmanharris")
    peaks = spectral_peaks(f, 10 ** (db / 10), max_peaks=10)
    assert [p["hz"] for p in peaks[:2]] == pytest.approx([200 * FS / 4096, 900 * FS / 4096], abs=1e-3)
    assert all(isinstance(p["hz"], float) and type(p["dbfs"]) is float for p in peaks)
    assert peaks[0]["dbfs"] == pytest.approx(-6.02, abs=0.05)
    assert peaks[1]["dbfs"] == pytest.approx(-26.02, abs=0.05)
    assert len(peaks) <= 10


def test_peak_between_bins_is_interpolated() -> None:
    freq = 1000.0  # 85.33 bins at 4096 / 48 kHz
    x = 0.5 * np.sin(2 * np.pi * freq * np.arange(20 * 4096) / FS)
    f, db = welch_dbfs(x, FS, nfft=4096)
    top = spectral_peaks(f, 10 ** (db / 10))[0]
    assert top["hz"] == pytest.approx(freq, abs=0.1 * FS / 4096)
    assert top["dbfs"] == pytest.approx(-6.02, abs=0.5)
    raw = spectral_peaks(f, 10 ** (db / 10), interpolate=False)[0]
    assert raw["hz"] in f


def test_unknown_window_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown window"):
        welch_dbfs(np.zeros(8192), FS, window="kaiser")


def test_stft_power_float32_matches_float64() -> None:
    x = np.random.default_rng(2).normal(0, 0.1, 30000)
    a = stft_power(x, 1024, 256, "hann")
    b = stft_power(x, 1024, 256, "hann", dtype=np.float64)
    np.testing.assert_allclose(b, stft_magnitude(x, 1024, 256, "hann") ** 2, rtol=1e-9, atol=1e-12)
    assert np.max(np.abs(a - b) / b.max(axis=0, keepdims=True)) < 1e-6


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("nfft", [7, 1000, 4096])
def test_windows_are_scipys_periodic_windows(window: str, nfft: int) -> None:
    """The windows are computed here (scipy.signal takes a second to import); they are scipy's."""
    import scipy.signal

    assert np.array_equal(get_window(window, nfft), scipy.signal.get_window(window, nfft, fftbins=True))


@pytest.mark.parametrize("factor", [2, 3, 4, 5])
def test_true_peak_interpolator_is_scipys_kaiser_firwin(factor: int) -> None:
    import scipy.signal

    from fieldrec.analysis.true_peak import TAPS_PER_PHASE, kaiser_lowpass

    n = factor * TAPS_PER_PHASE + 1
    ref = scipy.signal.firwin(n, cutoff=0.5 / factor, window=("kaiser", 8.0), fs=1.0)
    assert np.allclose(kaiser_lowpass(n, 0.5 / factor, 8.0), ref, rtol=0, atol=1e-15)
