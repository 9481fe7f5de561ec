"""Dataset features (fieldrec.analysis.frame_features) against physics, librosa and scikit-maad."""

from __future__ import annotations

import json
import warnings

import librosa  # a dev dependency (pyproject [dev]); no run-time code imports it
import numpy as np
import pytest

from fieldrec.analysis.frame_features import (
    FEATURE_NAMES,
    FeatureParams,
    compute_features,
    compute_features_batch,
)
from fieldrec.analysis.mel import hz_to_mel, mel_filter_bank, mel_to_hz

FS = 16000


def field_like(seconds: float, fs: int, seed: int = 0) -> np.ndarray:
    """Noise, a steady 3 kHz tone, a 500 Hz hum that starts half-way and a chirp: every band has energy."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * fs)) / fs
    chirp = 0.2 * np.sin(2 * np.pi * (1500 * t + 1500 * t**2)) * (np.sin(np.pi * t / 0.7) ** 4)
    return 0.3 * np.sin(2 * np.pi * 3000 * t) + 0.05 * rng.normal(size=t.size) + 0.1 * np.sin(
        2 * np.pi * 500 * t
    ) * (t > seconds / 2) + chirp


def maad_indices(x: np.ndarray, fs: int, p: FeatureParams) -> dict[str, float]:
    """The indices by scikit-maad itself, its spectrogram and its functions, with the same parameters."""
    from maad import features as mf
    from maad import sound

    sxx, _, fn, _ = sound.spectrogram(
        x, fs, nperseg=p.n_fft, noverlap=p.n_fft - p.hop, mode="psd",
        detrend="constant" if p.index_detrend else False,
    )
    amp = np.sqrt(sxx)
    nyq = fs / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # maad's own numpy/pandas deprecation noise
        return {
            "aci": float(mf.acoustic_complexity_index(amp)[2]),
            "adi": float(mf.acoustic_diversity_index(
                amp, fn, fmin=p.adi_fmin, fmax=min(p.adi_fmax, nyq), bin_step=p.adi_bin_step,
                dB_threshold=p.adi_db_threshold)),
            "aei": float(mf.acoustic_eveness_index(
                amp, fn, fmin=p.aei_fmin, fmax=min(p.aei_fmax, nyq), bin_step=p.aei_bin_step,
                dB_threshold=p.aei_db_threshold)),
            "bi": float(mf.bioacoustics_index(amp, fn, flim=p.bi_flim)),
            "ndsi": float(mf.soundscape_index(
                sxx, fn, flim_bioPh=p.ndsi_biophony, flim_antroPh=p.ndsi_anthrophony)[0]),
            "h_t": float(mf.temporal_entropy(x, compatibility="QUT", mode="fast", Nt=p.h_t_frame)),
            "h_f": float(mf.frequency_entropy(sxx, compatibility="QUT")[0]),
        }


@pytest.mark.parametrize("k", [28, 192, 397])  # bin-centred: 437.5, 3000 and 6203.125 Hz at 1024 points
def test_sine_centroid_and_peak_at_its_frequency(k: int) -> None:
    freq = k * FS / 1024
    t = np.arange(2 * FS) / FS
    x = 0.5 * np.sin(2 * np.pi * freq * t + 0.3)
    f = compute_features(x, FS, ["centroid", "peaks", "magnitude_spectrum", "rms"])
    # whole frames inside the signal: only the tone's bin and its two Hann neighbours, symmetric
    np.testing.assert_allclose(f["centroid_hz"][2:-2], freq, rtol=1e-9)
    assert f["centroid_mean_hz"] == pytest.approx(freq, rel=0.02)  # the two zero-padded edge frames spread
    assert f["peak_hz"] == pytest.approx(freq, abs=1e-6)
    assert f["peak_dbfs"] == pytest.approx(20 * np.log10(0.5), abs=1e-6)
    assert f["peaks_hz"][0] == f["peak_hz"]
    i = int(np.argmax(f["magnitude_spectrum"]))
    assert abs(f["welch_freqs_hz"][i] - freq) <= FS / 1024 / 2 + 1e-9
    assert f["rms_dbfs"] == pytest.approx(20 * np.log10(0.5) - 3.0103, abs=0.01)


@pytest.mark.parametrize("freq", [440.0, 1234.5, 7001.0])
def test_sine_between_bins_centroid_and_peak_near_its_frequency(freq: float) -> None:
    x = 0.5 * np.sin(2 * np.pi * freq * np.arange(2 * FS) / FS)
    f = compute_features(x, FS, ["centroid", "peaks"])
    assert np.median(f["centroid_hz"][2:-2]) == pytest.approx(freq, rel=2e-3)  # leakage, both sides
    assert f["peak_hz"] == pytest.approx(freq, abs=0.02 * FS / 1024)  # parabolic interpolation: 2 % of a bin
    assert f["peak_dbfs"] == pytest.approx(20 * np.log10(0.5), abs=0.1)


def test_mel_scale_and_filter_bank_equal_librosa() -> None:
    hz = np.array([0.0, 200.0, 999.0, 1000.0, 1001.0, 4000.0, 22050.0])
    np.testing.assert_allclose(hz_to_mel(hz), librosa.hz_to_mel(hz, htk=False), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, rtol=1e-12, atol=1e-9)
    for sr, n_fft, n_mels, fmin, fmax in ((16000, 1024, 64, 0.0, 8000.0), (48000, 2048, 128, 50.0, 15000.0)):
        ours = mel_filter_bank(sr, n_fft, n_mels, fmin, fmax)
        theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, dtype=np.float64)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(
    ("fs", "params"),
    [
        (16000, FeatureParams()),
        (48000, FeatureParams(n_fft=2048, hop=256, n_mels=40, fmin=100.0, fmax=12000.0, pad_mode="reflect")),
        (22050, FeatureParams(n_fft=512, hop=128, n_mels=32, mel_top_db=None)),
    ],
)
def test_log_mel_equals_librosa(fs: int, params: FeatureParams) -> None:
    x = field_like(1.7, fs, seed=1)
    f = compute_features(x, fs, ["log_mel"], params)
    mel = librosa.feature.melspectrogram(
        y=x, sr=fs, n_fft=params.n_fft, hop_length=params.hop, n_mels=params.n_mels, fmin=params.fmin,
        fmax=params.fmax, center=True, pad_mode=params.pad_mode, power=2.0, htk=False, norm="slaney",
        dtype=np.float64,
    )
    ref = librosa.power_to_db(mel, ref=1.0, amin=params.mel_amin, top_db=params.mel_top_db)
    assert f["log_mel"].shape == ref.shape == (params.n_mels, 1 + x.size // params.hop)
    np.testing.assert_allclose(f["log_mel"], ref, rtol=0, atol=1e-5)
    assert f["frame_times_s"].shape == (ref.shape[1],)
    np.testing.assert_allclose(
        f["frame_times_s"], librosa.frames_to_time(np.arange(ref.shape[1]), sr=fs, hop_length=params.hop)
    )


def test_frame_features_equal_librosa() -> None:
    p = FeatureParams()
    x = field_like(2.1, FS, seed=2)
    f = compute_features(x, FS, ["centroid", "bandwidth", "rolloff", "flatness", "rms", "zcr"], p)
    kw = {"y": x, "n_fft": p.n_fft, "hop_length": p.hop}
    lf = librosa.feature
    np.testing.assert_allclose(f["centroid_hz"], lf.spectral_centroid(sr=FS, **kw)[0], rtol=1e-9)
    np.testing.assert_allclose(f["bandwidth_hz"], lf.spectral_bandwidth(sr=FS, **kw)[0], rtol=1e-9)
    np.testing.assert_array_equal(f["rolloff_hz"], lf.spectral_rolloff(sr=FS, roll_percent=0.85, **kw)[0])
    np.testing.assert_allclose(f["flatness"], lf.spectral_flatness(**kw)[0], rtol=1e-9)
    rms = lf.rms(y=x, frame_length=p.n_fft, hop_length=p.hop, dtype=np.float64)[0]
    np.testing.assert_allclose(f["rms"], rms, rtol=1e-12)
    zcr = lf.zero_crossing_rate(x, frame_length=p.n_fft, hop_length=p.hop)[0]
    np.testing.assert_array_equal(f["zcr"], zcr)
    assert f["centroid_mean_hz"] == pytest.approx(float(np.mean(f["centroid_hz"])))
    assert f["zcr_mean_hz"] == pytest.approx(f["zcr_mean"] * FS)


@pytest.mark.parametrize(
    ("fs", "params"),
    [
        (16000, FeatureParams()),
        (48000, FeatureParams()),
        (
            48000,
            FeatureParams(
                n_fft=2048, hop=1024, index_detrend=False, adi_fmax=20000.0, adi_bin_step=500.0,
                adi_db_threshold=-40.0, aei_fmin=1000.0, aei_fmax=16000.0, aei_bin_step=500.0,
                aei_db_threshold=-45.0, bi_flim=(2000.0, 15000.0), ndsi_biophony=(2000.0, 11000.0),
                ndsi_anthrophony=(1000.0, 2000.0), h_t_frame=256,
            ),
        ),
    ],
)
def test_indices_equal_scikit_maad(fs: int, params: FeatureParams) -> None:
    x = field_like(3.0, fs, seed=3)
    f = compute_features(x, fs, ["aci", "adi", "aei", "bi", "ndsi", "h_t", "h_f"], params)
    ref = maad_indices(x, fs, params)
    for name, value in ref.items():
        assert isinstance(f[name], float)
        assert f[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert 0 < f["h_t"] <= 1 and 0 < f["h_f"] <= 1 and -1 <= f["ndsi"] <= 1


@pytest.mark.parametrize(
    "params",
    [FeatureParams(), FeatureParams(n_fft=1000, hop=300), FeatureParams(center=False, hop=384)],
    ids=["segments-from-the-centred-stft", "segments-own-fft", "uncentred"],
)
def test_welch_and_indices_equal_their_definitions_however_the_segments_are_found(params: FeatureParams) -> None:
    """The uncentred segments come from the centred STFT when hop divides n_fft / 2, else from their own
    FFT: both give WelchAccumulator's spectrum and scikit-maad's indices."""
    from fieldrec.analysis.spectrum import WelchAccumulator

    x = field_like(2.3, FS, seed=6) + 0.01  # a DC offset, which maad's per-segment detrend removes
    f = compute_features(x, FS, ["power_spectrum", "aci", "adi", "aei", "bi", "ndsi", "h_f"], params)
    acc = WelchAccumulator(FS, nfft=params.n_fft, window=params.window, overlap=1 - params.hop / params.n_fft)
    acc.hop = params.hop
    acc.process(x)
    np.testing.assert_allclose(f["power_spectrum"], acc.power(), rtol=1e-9, atol=1e-20)
    ref = maad_indices(x, FS, params)
    for name in ("aci", "adi", "aei", "bi", "ndsi", "h_f"):
        assert f[name] == pytest.approx(ref[name], rel=1e-9, abs=1e-12), name


def test_a_batch_equals_each_signal_alone() -> None:
    xs = np.stack([field_like(1.0, FS, seed=s) * (0.2 + s) for s in range(5)])
    xs[3] = 0.0  # a silent one among them
    batch = compute_features_batch(xs, FS)
    assert len(batch) == 5
    for row, got in zip(xs, batch, strict=True):
        alone = compute_features(row, FS)
        assert got.keys() == alone.keys()
        for key, value in alone.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_allclose(got[key], value, rtol=1e-12, atol=0, err_msg=key)
            else:
                assert isinstance(got[key], float)
                assert got[key] == pytest.approx(value, rel=1e-12, abs=0, nan_ok=True), key
    assert compute_features_batch(np.zeros((0, 100)), FS) == []
    with pytest.raises(ValueError, match="2-D"):
        compute_features_batch(np.zeros(100), FS)


def test_every_feature_name_alone_and_all_together() -> None:
    x = field_like(1.5, FS, seed=4)
    every = compute_features(x, FS)
    for name in FEATURE_NAMES:
        alone = compute_features(x, FS, [name])
        assert alone, name
        for key, value in alone.items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float64 and value.size, (name, key)
                np.testing.assert_array_equal(value, every[key])
            else:
                assert isinstance(value, float), (name, key)
                assert np.isfinite(value), (name, key)
                assert value == every[key]
    assert set(every) >= {"power_spectrum", "log_mel", "centroid_mean_hz", "aci", "h_f", "peak_hz", "zcr_mean"}


def test_params_are_recorded_json_safe_and_shape_the_result() -> None:
    p = FeatureParams(n_fft=512, hop=256, n_mels=32, fmax=6000.0, bi_flim=(2000.0, 7000.0))
    d = p.to_dict()
    back = json.loads(json.dumps(d))
    assert back == d
    assert FeatureParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in back.items()}) == p
    assert d["fmax"] == 6000.0 and d["bi_flim"] == [2000.0, 7000.0] and d["n_mels"] == 32
    x = field_like(1.0, FS, seed=5)
    f = compute_features(x, FS, ["log_mel", "bi", "power_spectrum"], p)
    assert f["log_mel"].shape == (32, 1 + x.size // 256)
    assert f["mel_freqs_hz"].max() < 6000.0
    assert f["power_spectrum"].shape == (257,)
    assert f["bi"] != compute_features(x, FS, ["bi"])["bi"]


def test_short_and_silent_signals_give_defined_values() -> None:
    short = compute_features(0.1 * np.sin(np.arange(300)), FS)  # fewer samples than n_fft
    assert short["power_spectrum"].shape == (513,)
    assert short["log_mel"].shape == (64, 1)
    silent = compute_features(np.zeros(FS), FS)
    assert silent["rms_dbfs"] == float("-inf")
    assert np.isnan(silent["centroid_mean_hz"]) and np.all(np.isnan(silent["centroid_hz"]))
    assert np.isnan(silent["peak_hz"]) and silent["peaks_hz"].size == 0
    assert silent["aci"] == 0.0 and silent["aei"] == 0.0 and silent["bi"] == 0.0 and np.isnan(silent["ndsi"])
    assert silent["zcr_mean"] == 0.0
    assert np.all(silent["log_mel"] == -100.0)  # amin 1e-10


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: compute_features(np.zeros(100), FS, ["mfcc"]), "unknown feature"),
        (lambda: compute_features(np.zeros((100, 2)), FS), "1-D"),
        (lambda: compute_features(np.zeros(0), FS), "at least one sample"),
        (lambda: compute_features(np.zeros(2000), FS, ["log_mel"], FeatureParams(fmax=9000.0)), "Nyquist"),
        (lambda: compute_features(np.zeros(2000), FS, ["log_mel"], FeatureParams(fmin=5000.0, fmax=4000.0)),
         "fmin < fmax"),
        (lambda: FeatureParams(hop=2048), "hop"),
        (lambda: FeatureParams(window="kaiser"), "window"),
        (lambda: FeatureParams(pad_mode="wrap"), "pad_mode"),
        (lambda: FeatureParams(rolloff_fraction=0.0), "rolloff"),
        (lambda: FeatureParams(adi_bin_step=0.0), "adi_bin_step"),
        (lambda: FeatureParams(n_mels=0), "n_mels"),
        (lambda: compute_features(np.ones(4000), FS, ["ndsi"], FeatureParams(ndsi_anthrophony=(0.0, 5.0))),
         "anthrophony"),
    ],
)
def test_bad_input_is_one_clear_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_no_librosa_or_maad_at_run_time() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from fieldrec.analysis.frame_features import compute_features; "
        "compute_features(np.ones(4000), 16000); "
        "print(sorted(m for m in ('librosa', 'maad', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
