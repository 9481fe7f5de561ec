"""analyze_file and the chunked reader on real files written by soundfile and sox."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fieldrec.analyze import analyze_file, clip_level_for_subtype
from fieldrec.storage.reader import AudioFileError, iter_blocks

FS = 48000
KEYS = {
    "file", "samplerate", "channels", "duration_s", "sample_peak_dbfs", "true_peak_dbtp", "rms_dbfs",
    "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs", "loudness_range_lu", "clipped_samples",
    "clip_events", "dc_offset", "noise_floor_dbfs", "snr_db", "spectral_centroid_hz", "peaks", "per_channel",
}  # fmt: skip
CHANNEL_KEYS = {"peak_dbfs", "true_peak_dbtp", "rms_dbfs", "clipped_samples", "clip_events", "dc_offset"}


def sine(freq: float, amp: float, seconds: float, ch: int = 2, fs: int = FS) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return np.repeat((amp * np.sin(2 * np.pi * freq * t))[:, None], ch, axis=1)


def test_clipped_sine_in_16_bit_wav(tmp_path: Path) -> None:
    path = tmp_path / "clipped.wav"
    sf.write(path, np.clip(sine(1000.0, 1.5, 1.0), -1.0, 1.0), FS, subtype="PCM_16")
    r = analyze_file(path)
    assert set(r) >= KEYS and all(set(c) >= CHANNEL_KEYS for c in r["per_channel"])
    json.dumps(r, allow_nan=False)  # JSON-safe: no NaN/inf, no numpy scalars
    assert (r["clipped_samples"], r["clip_events"]) == (52000, 4000)
    assert r["per_channel"][0]["clipped_samples"] == 26000 and r["per_channel"][0]["clip_events"] == 2000
    assert r["samplerate"] == FS and r["channels"] == 2 and r["duration_s"] == 1.0
    assert r["sample_peak_dbfs"] == pytest.approx(0.0, abs=0.001)


def test_sox_written_sine_levels(tmp_path: Path) -> None:
    """An independent writer: sox makes a 1 kHz sine at -20 dBFS, 24-bit, 3 s."""
    path = tmp_path / "sox.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "44100",
            "-b",
            "24",
            "-c",
            "2",
            str(path),
            "synth",
            "3",
            "sine",
            "1000",
            "gain",
            "-20",
        ],
        check=True,
    )
    r = analyze_file(path, block_frames=1000)
    assert r["sample_peak_dbfs"] == pytest.approx(-20.0, abs=0.01)
    assert r["rms_dbfs"] == pytest.approx(-23.01, abs=0.02)
    assert r["integrated_lufs"] == pytest.approx(-20.0, abs=0.1)
    assert r["spectral_centroid_hz"] == pytest.approx(1000.0, abs=5.0)
    assert r["peaks"][0]["hz"] == pytest.approx(1000.0, abs=44100 / 4096)
    assert r["peaks"][0]["dbfs"] == pytest.approx(-20.0, abs=1.5)  # hann scalloping between bins


def test_float_file_full_scale_and_over(tmp_path: Path) -> None:
    x = sine(1000.0, 1.0, 0.5)
    x[100, 0] = 1.25  # float files can go over full scale
    path = tmp_path / "float.wav"
    sf.write(path, x, FS, subtype="FLOAT")
    r = analyze_file(path)
    assert r["per_channel"][1]["peak_dbfs"] == pytest.approx(0.0, abs=1e-6)
    assert r["per_channel"][0]["peak_dbfs"] == pytest.approx(20 * np.log10(1.25), abs=1e-5)
    assert r["per_channel"][0]["clip_events"] >= 1


def test_block_size_does_not_change_the_result(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.05, (5 * FS, 2)) + sine(300.0, 0.3, 5.0)
    path = tmp_path / "noise.flac"
    sf.write(path, x, FS, subtype="PCM_24")
    a, b = analyze_file(path, block_frames=65536), analyze_file(path, block_frames=999)
    for key in ("integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "short_term_max_lufs", "snr_db"):
        assert a[key] == pytest.approx(b[key], abs=0.01), key
    assert a["spectral_centroid_hz"] == pytest.approx(b["spectral_centroid_hz"], rel=1e-4)


def test_silent_file_gives_none(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((2 * FS, 1)), FS, subtype="PCM_16")
    r = analyze_file(path)
    assert r["integrated_lufs"] is None and r["sample_peak_dbfs"] is None and r["peaks"] == []
    json.dumps(r, allow_nan=False)


def test_reader_blocks_and_info(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    sf.write(path, sine(440.0, 0.5, 1.0, ch=3), FS, subtype="PCM_24")
    info, blocks = iter_blocks(path, 10000)
    assert (info.samplerate, info.channels, info.frames, info.format, info.subtype) == (
        FS,
        3,
        FS,
        "WAV",
        "PCM_24",
    )
    got = list(blocks)
    assert all(b.dtype == np.float32 and b.shape[1] == 3 and b.shape[0] <= 10000 for b in got)
    assert sum(b.shape[0] for b in got) == FS


def test_clip_levels() -> None:
    assert clip_level_for_subtype("PCM_16") == 32767 / 32768
    assert clip_level_for_subtype("FLOAT") == 1.0


def test_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are field notes, not audio\n" * 20)
    with pytest.raises(AudioFileError, match="not an audio file") as err:
        analyze_file(path)
    assert "\n" not in str(err.value)


def test_truncated_wav(tmp_path: Path) -> None:
    full = tmp_path / "full.wav"
    sf.write(full, sine(440.0, 0.5, 1.0), FS, subtype="PCM_24")
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match="truncated") as err:
        analyze_file(cut)
    assert "\n" not in str(err.value)


def test_truncated_flac(tmp_path: Path) -> None:
    full = tmp_path / "full.flac"
    sf.write(full, np.random.default_rng(1).uniform(-0.5, 0.5, (FS, 2)), FS, subtype="PCM_24")
    data = full.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match="truncated|damaged"):
        analyze_file(cut)


def test_empty_files(tmp_path: Path) -> None:
    zero_bytes = tmp_path / "zero.wav"
    zero_bytes.write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty"):
        analyze_file(zero_bytes)
    no_frames = tmp_path / "noframes.wav"
    sf.write(no_frames, np.zeros((0, 2)), FS, subtype="PCM_16")
    with pytest.raises(AudioFileError, match="empty"):
        analyze_file(no_frames)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file"):
        analyze_file(tmp_path / "nope.wav")
    with pytest.raises(AudioFileError, match="folder"):
        analyze_file(tmp_path)


def test_ffprobe_agrees_on_duration(tmp_path: Path) -> None:
    path = tmp_path / "d.wav"
    sf.write(path, sine(440.0, 0.5, 2.5), FS, subtype="PCM_16")
    assert shutil.which("ffprobe")
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert analyze_file(path)["duration_s"] == pytest.approx(float(out), abs=1e-3)


def test_memory_stays_bounded_for_a_long_file(tmp_path: Path) -> None:
    """A 60 s 48 kHz stereo file (46 MB as float64) is measured with a few MB of numpy memory.

    Two threads (and a reader) each hold a block or two of 65536 frames and their FFT temporaries: about
    14 MB; one thread about 7 MB.
    """
    import tracemalloc

    rng = np.random.default_rng(7)
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", FS, 2, subtype="PCM_16") as f:
        for _ in range(60):
            f.write(rng.normal(0, 0.1, (FS, 2)))
    tracemalloc.start()
    try:
        r = analyze_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r["duration_s"] == 60.0
    assert peak < 18e6, f"peak traced memory {peak / 1e6:.1f} MB"


def test_clip_counts_match_a_plain_count_on_random_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    x = np.clip(rng.normal(0, 0.6, (30000, 2)), -1.0, 1.0)
    path = tmp_path / "r.wav"
    sf.write(path, x, FS, subtype="FLOAT")
    r = analyze_file(path, block_frames=777)
    c = np.abs(x) >= 1.0
    runs = (c & ~np.vstack([np.zeros((1, 2), bool), c[:-1]])).sum(axis=0)
    assert [ch["clipped_samples"] for ch in r["per_channel"]] == list(c.sum(axis=0))
    assert [ch["clip_events"] for ch in r["per_channel"]] == list(runs)
