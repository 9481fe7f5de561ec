"""The fast file path of ``fieldrec analyze``: the same numbers as the live MeterBank, bit for bit.

FileMeter (two threads, true peak as a take maximum), the int32 read of PCM files, the read-ahead thread,
and the numpy windows that stand in for scipy.signal's.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from fieldrec.analysis.file_meter import FileMeter
from fieldrec.analysis.meters import MeterBank
from fieldrec.analysis.true_peak import TruePeakMeter
from fieldrec.analysis.windows import COSINE_WINDOWS, cosine_window, kaiser_lowpass
from fieldrec.analyze import _read_ahead, analyze_file, clip_level_for_subtype
from fieldrec.storage.reader import iter_blocks


def field_like(seconds: float, fs: int, ch: int, seed: int) -> np.ndarray:
    """Coloured noise, a chirp that swells and a few bursts: peaks in some places only."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    noise = signal.lfilter([1.0], [1.0, -0.97], rng.normal(0, 0.004, (n, ch)), axis=0)
    chirp = 0.3 * signal.chirp(t % 0.7, 500, 0.7, 0.3 * fs) * np.sin(np.pi * t / 1.4) ** 8
    x = noise + chirp[:, None] * np.linspace(1.0, 0.5, ch)[None, :]
    i = int(rng.uniform(0, n - fs // 10))
    x[i : i + fs // 10] += rng.normal(0, 0.2, (fs // 10, ch))
    return np.clip(x, -1.0, 1.0)


@pytest.mark.parametrize("name", sorted(COSINE_WINDOWS))
@pytest.mark.parametrize("n", [1, 2, 63, 1024, 4096, 4097])
def test_cosine_windows_equal_scipy_to_the_bit(name: str, n: int) -> None:
    for periodic in (True, False):
        np.testing.assert_array_equal(cosine_window(name, n, periodic), signal.get_window(name, n, fftbins=periodic))


@pytest.mark.parametrize("factor", [2, 3, 4, 5])
def test_kaiser_lowpass_equals_firwin_to_the_bit(factor: int) -> None:
    n = 32 * factor + 1
    want = signal.firwin(n, cutoff=0.5 / factor, window=("kaiser", 8.0), fs=1.0)
    np.testing.assert_array_equal(kaiser_lowpass(n, 0.5 / factor, 8.0), want)


def test_kaiser_lowpass_refuses_a_cutoff_at_nyquist() -> None:
    with pytest.raises(ValueError, match="cutoff"):
        kaiser_lowpass(65, 0.5, 8.0)


@pytest.mark.parametrize(("fs", "ch"), [(44100, 1), (48000, 2), (96000, 3)])
@pytest.mark.parametrize("block", [777, 65536])
def test_take_maximum_true_peak_equals_the_block_by_block_one(fs: int, ch: int, block: int) -> None:
    """process_max_t skips frames that cannot reach the maximum; the maximum is the same float."""
    x = field_like(2.0, fs, ch, seed=fs + ch)
    a, b = TruePeakMeter(fs, ch), TruePeakMeter(fs, ch)
    for i in range(0, x.shape[0], block):
        xt = np.ascontiguousarray(x[i : i + block].T)
        a.process_t(xt)
        b.process_max_t(xt)
    assert np.array_equal(a.max_abs, b.max_abs)
    assert (a.max_abs >= np.abs(x).max(axis=0)).all()


def test_take_maximum_true_peak_of_silence_after_a_peak() -> None:
    """Blocks far below the maximum compute nothing and change nothing."""
    tp = TruePeakMeter(48000, 2)
    x = field_like(0.5, 48000, 2, seed=3)
    tp.process_max_t(np.ascontiguousarray(x.T))
    before = tp.max_abs.copy()
    tp.process_max_t(np.full((2, 48000), 1e-4))
    assert np.array_equal(tp.max_abs, before)


@pytest.mark.parametrize(
    ("fs", "ch", "subtype", "fmt"),
    [(48000, 2, "PCM_24", "WAV"), (44100, 1, "PCM_16", "WAV"), (96000, 2, "PCM_24", "FLAC"),
     (48000, 2, "FLOAT", "WAV"), (48000, 6, "PCM_32", "WAV")],
)  # fmt: skip
def test_analyze_file_equals_the_meterbank_to_the_bit(
    tmp_path: Path, fs: int, ch: int, subtype: str, fmt: str
) -> None:
    """Two threads, one thread, and the live MeterBank fed float32 blocks: identical dicts."""
    x = field_like(3.0, fs, ch, seed=ch)
    x[1000:1003, 0] = 1.0  # a clip run (PCM: clipped at the clip level; float: full scale)
    path = tmp_path / f"take.{fmt.lower()}"
    sf.write(path, x, fs, subtype=subtype, format=fmt)
    bank = MeterBank(fs, ch, clip_level=clip_level_for_subtype(subtype))
    _, blocks = iter_blocks(path, 65536)
    for block in blocks:
        bank.process(block)
    want = bank.result()
    two = analyze_file(path, threads=2)
    one = analyze_file(path, threads=1)  # the same blocks (FFT frames fall with the blocks)
    for got in (two, one):
        assert {k: got[k] for k in want} == want
    assert two["clipped_samples"] >= 3


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_int32_reading_gives_the_float32_values(tmp_path: Path, subtype: str, fmt: str) -> None:
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, np.random.default_rng(0).uniform(-1, 1, (5000, 2)), 48000, subtype=subtype, format=fmt)
    _, as_float = iter_blocks(path, 1024)
    _, as_int = iter_blocks(path, 1024, dtype="int32")
    for f, i in zip(as_float, as_int, strict=True):
        assert i.dtype == np.int32
        np.testing.assert_array_equal(f.astype(np.float64), i.astype(np.float64) * 2.0**-31)


def test_reader_refuses_other_dtypes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dtype"):
        iter_blocks(tmp_path / "x.wav", 1024, dtype="float64")


def test_file_meter_refuses_a_wrong_shape() -> None:
    with FileMeter(48000, 2) as meter, pytest.raises(ValueError, match="expected a block of shape"):
        meter.process_t(np.zeros((3, 100)))


def test_file_meter_takes_frames_channels_blocks_too() -> None:
    """MeterBank.process() (tiny blocks gathered, int16 scaled) works on a FileMeter as on a MeterBank."""
    x = np.round(field_like(1.0, 48000, 2, seed=9) * 20000).astype(np.int16)
    live = MeterBank(48000, 2)
    with FileMeter(48000, 2) as meter:
        for i in range(0, x.shape[0], 300):
            live.process(x[i : i + 300])
            meter.process(x[i : i + 300])
        assert meter.result() == live.result()


def test_read_ahead_raises_the_readers_error_after_its_items() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk went away")

    got = []
    with pytest.raises(OSError, match="disk went away"):
        for v in _read_ahead(items(), 1):
            got.append(v)
    assert got == [1, 2]


def test_read_ahead_stops_the_reader_when_the_consumer_stops() -> None:
    """The consumer leaves after one item while the reader waits on a full queue: the source is closed."""
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    for v in _read_ahead(items(), 1):
        time.sleep(0.3)  # the reader fills the queue and waits (queue.Full) meanwhile
        assert v == 0
        break
    assert closed.wait(2.0)
    assert not [t for t in threading.enumerate() if t.name == "fieldrec-read"]


def test_a_read_error_part_way_through_a_file_is_one_line(tmp_path: Path) -> None:
    """The error is raised on the reader thread and reported by analyze_file as for one thread."""
    full = tmp_path / "full.flac"
    sf.write(full, np.random.default_rng(1).uniform(-0.5, 0.5, (4 * 48000, 2)), 48000, subtype="PCM_24")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 3 // 4])
    from fieldrec.storage.reader import AudioFileError

    for threads in (1, 2):
        with pytest.raises(AudioFileError, match="truncated|damaged") as err:
            analyze_file(cut, block_frames=4096, threads=threads)
        assert "\n" not in str(err.value)


def test_sosfilt_kernel_equals_sosfilt_to_the_bit() -> None:
    from fieldrec.analysis.kweighting import k_weighting_sos
    from fieldrec.analysis.lazy_scipy import sosfilt_kernel

    sos = k_weighting_sos(48000)
    rng = np.random.default_rng(4)
    x, zi = rng.normal(0, 0.3, (3, 5000)), rng.normal(0, 0.01, (3, 2, 2))
    y, z = x.copy(), zi.copy()
    sosfilt_kernel()(sos, y, z)
    want_y, want_z = signal.sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(z, want_z.transpose(1, 0, 2))


def test_analyze_does_not_import_scipy_signal(tmp_path: Path) -> None:
    """scipy.signal (and scipy.stats with it) cost about 0.6 s of CPU to import: a fresh process shows none."""
    import subprocess
    import sys

    path = tmp_path / "x.wav"
    sf.write(path, field_like(1.0, 48000, 2, seed=1), 48000, subtype="PCM_24")
    code = (
        "import sys\nfrom fieldrec.analyze import analyze_file\nr = analyze_file(sys.argv[1])\n"
        "assert r['peaks'] and r['integrated_lufs'] is not None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('scipy.signal', 'scipy.stats'))))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['scipy.signal._sosfilt']"


def test_sosfilt_kernel_falls_back_to_scipy_signal(tmp_path: Path) -> None:
    """Where the extension is not found (another scipy layout), it comes from scipy.signal itself."""
    import sys

    from fieldrec.analysis import lazy_scipy

    saved = sys.modules.pop("scipy.signal._sosfilt", None)
    try:
        kernel = lazy_scipy._load_kernel(tmp_path)  # an empty folder: no _sosfilt*.so
        assert lazy_scipy._load_kernel(None) is lazy_scipy._public_sosfilt  # scipy has no file location
    finally:
        if saved is not None and "scipy.signal._sosfilt" not in sys.modules:
            sys.modules["scipy.signal._sosfilt"] = saved
    assert kernel is lazy_scipy._public_sosfilt
    sos = signal.butter(2, 0.1, output="sos")
    x, zi = np.random.default_rng(6).normal(size=(2, 300)), np.zeros((2, 1, 2))
    y = x.copy()
    kernel(sos, y, zi)
    np.testing.assert_array_equal(y, signal.sosfilt(sos, x, axis=-1))


def test_peaks_by_prominence_equal_find_peaks() -> None:
    from fieldrec.analysis.features import find_peaks_by_prominence

    rng = np.random.default_rng(5)
    for trial in range(400):
        n = int(rng.integers(1, 80))
        x = rng.integers(0, 5, n).astype(float) if trial % 2 else rng.normal(0, 6, n)  # plateaus, or not
        for prominence in (0.0, 1.0, 10.0):
            want = signal.find_peaks(x, prominence=prominence)[0]
            np.testing.assert_array_equal(find_peaks_by_prominence(x, prominence), want)


def test_keep_freed_memory_sets_glibc_and_refuses_quietly_elsewhere() -> None:
    import subprocess
    import sys
    from types import SimpleNamespace

    from fieldrec.malloc_tuning import keep_freed_memory

    code = "from fieldrec.malloc_tuning import keep_freed_memory as k; print(k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"  # this test machine runs glibc
    assert keep_freed_memory(SimpleNamespace()) is False  # a C library without mallopt (musl)
    assert keep_freed_memory(SimpleNamespace(mallopt=lambda option, value: 0)) is False  # refused


def test_default_threads_follow_the_free_cores(tmp_path: Path) -> None:
    from fieldrec.analyze import _other_runnable_tasks, default_threads

    assert [default_threads(2, 0), default_threads(2, 1), default_threads(2, 2), default_threads(1, 0)] == [2, 2, 1, 1]
    assert default_threads(8, 7) == 2 and default_threads(8, 8) == 1
    assert default_threads() in (1, 2)
    assert _other_runnable_tasks() >= 0  # this machine's /proc/loadavg
    fake = tmp_path / "loadavg"
    fake.write_text("0.50 0.40 0.30 3/250 12345\n")
    assert _other_runnable_tasks(str(fake)) == 2.0  # three running, one of them this process
    fake.write_text("garbled\n")  # IndexError: falls back to the load average
    assert _other_runnable_tasks(str(fake)) == pytest.approx(os.getloadavg()[0], abs=2.0)
    assert _other_runnable_tasks(str(tmp_path / "none")) >= 0  # OSError: no such file
