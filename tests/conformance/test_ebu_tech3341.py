"""EBU Tech 3341 (v4) minimum requirements, with synthesised signals (see docs/analysis.md).

Tolerances from Tech 3341: M, S, I within +-0.1 LU; true peak within +0.2 / -0.4 dB.
Cases 7, 8 (authentic programme) and 20-23 (distributed only as files) are not synthesised.
"""

from __future__ import annotations

import numpy as np
import pytest
from ebu_signals import sequence, sine, stereo, true_peak_case

from fieldrec.analysis.loudness import LoudnessMeter
from fieldrec.analysis.meters import MeterBank
from fieldrec.analysis.true_peak import TruePeakMeter

FS = 48000
TOL = 0.1


def run(x: np.ndarray, fs: int = FS) -> LoudnessMeter:
    m = LoudnessMeter(fs, x.shape[1])
    m.process(x)
    return m


def trace(x: np.ndarray, fs: int = FS, hop_s: float = 0.010) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feed ``x`` in ``hop_s`` blocks; return (end time s, momentary LUFS, short-term LUFS) per block."""
    m = LoudnessMeter(fs, x.shape[1])
    hop = int(hop_s * fs)
    times, mom, st = [], [], []
    for i in range(0, x.shape[0], hop):
        m.process(x[i : i + hop])
        times.append(min(i + hop, x.shape[0]) / fs)
        mom.append(m.momentary_lufs)
        st.append(m.short_term_lufs)
    return np.array(times), np.array(mom), np.array(st)


@pytest.mark.parametrize("fs", [44100, 48000, 96000, 192000])
@pytest.mark.parametrize("level", [-23.0, -33.0], ids=["case1", "case2"])
def test_cases_1_2_steady_sine(level: float, fs: int) -> None:
    m = run(stereo(sine(20.0, level, fs)), fs)
    assert m.momentary_lufs == pytest.approx(level, abs=TOL)
    assert m.short_term_lufs == pytest.approx(level, abs=TOL)
    assert m.integrated_lufs == pytest.approx(level, abs=TOL)


CASES_I = {
    "case3": [(10, -36.0), (60, -23.0), (10, -36.0)],
    "case4": [(10, -72.0), (10, -36.0), (60, -23.0), (10, -36.0), (10, -72.0)],
    "case5": [(20, -26.0), (20.1, -20.0), (20, -26.0)],
}


@pytest.mark.parametrize("fs", [44100, 48000, 96000])
@pytest.mark.parametrize("case", sorted(CASES_I))
def test_cases_3_4_5_gating(case: str, fs: int) -> None:
    m = run(stereo(sequence(CASES_I[case], fs)), fs)
    assert m.integrated_lufs == pytest.approx(-23.0, abs=TOL)


def test_case_6_five_channels() -> None:
    levels = [-28.0, -28.0, -24.0, -30.0, -30.0]  # L, R, C, Ls, Rs
    x = np.stack([sine(20.0, lv) for lv in levels], axis=1)
    assert run(x).integrated_lufs == pytest.approx(-23.0, abs=TOL)


def test_case_6_six_channels_lfe_ignored() -> None:
    levels = [-28.0, -28.0, -24.0, 0.0, -30.0, -30.0]  # L, R, C, LFE (full scale!), Ls, Rs
    x = np.stack([sine(20.0, lv) for lv in levels], axis=1)
    assert run(x).integrated_lufs == pytest.approx(-23.0, abs=TOL)


def test_case_9_short_term_constant() -> None:
    x = stereo(sequence([(1.34, -20.0), (1.66, -30.0)] * 20))
    times, _, st = trace(x, hop_s=0.05)
    after = st[times >= 3.0]
    assert after.size > 1000
    assert np.all(np.abs(after + 23.0) <= TOL), (after.min(), after.max())


def test_case_12_momentary_constant() -> None:
    x = stereo(sequence([(0.18, -20.0), (0.22, -30.0)] * 50))
    times, mom, _ = trace(x)
    after = mom[times >= 1.0]
    assert np.all(np.abs(after + 23.0) <= TOL), (after.min(), after.max())


def bursts(
    durations: list[float], levels: list[float], gap: float
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Bursts separated by ``gap`` s of silence, each starting off the 10 ms grid; returns (x, spans)."""
    pieces: list[tuple[float, float | None]] = []
    spans, t = [], 0.0
    for i, (d, lv) in enumerate(zip(durations, levels, strict=True)):
        lead = gap + 0.0037 * (i + 1)
        pieces += [(lead, None), (d, lv)]
        spans.append((t + lead, t + lead + d))
        t += lead + d
    pieces.append((gap, None))
    return stereo(sequence(pieces)), spans


def segment_max(times: np.ndarray, values: np.ndarray, spans, window_s: float) -> np.ndarray:
    return np.array([values[(times > a) & (times <= b + window_s + 0.05)].max() for a, b in spans])


def test_case_10_short_term_max_of_bursts() -> None:
    durations = [0.5 + 0.12 * i for i in range(20)]  # 0.5 .. 2.78 s, all shorter than the 3 s window
    levels = [-23.0 + 10 * np.log10(3.0 / d) for d in durations]
    x, spans = bursts(durations, levels, gap=3.2)
    times, _, st = trace(x)
    got = segment_max(times, st, spans, 3.0)
    assert np.all(np.abs(got + 23.0) <= TOL), got


def test_case_11_short_term_max_levels() -> None:
    levels = [-19.0 + i for i in range(20)]  # -19 ... 0 LUFS
    x, spans = bursts([4.0] * 20, levels, gap=3.2)
    times, _, st = trace(x, hop_s=0.05)
    got = segment_max(times, st, spans, 3.0)
    assert np.all(np.abs(got - np.array(levels)) <= TOL), got


def test_case_13_momentary_max_of_bursts() -> None:
    durations = [0.05 + 0.017 * i for i in range(20)]  # 50 .. 373 ms, shorter than the 400 ms window
    levels = [-23.0 + 10 * np.log10(0.4 / d) for d in durations]
    x, spans = bursts(durations, levels, gap=0.6)
    times, mom, _ = trace(x)
    got = segment_max(times, mom, spans, 0.4)
    assert np.all(np.abs(got + 23.0) <= TOL), got


def test_case_14_momentary_max_levels() -> None:
    levels = [-19.0 + i for i in range(20)]
    x, spans = bursts([1.0] * 20, levels, gap=0.6)
    times, mom, _ = trace(x)
    got = segment_max(times, mom, spans, 0.4)
    assert np.all(np.abs(got - np.array(levels)) <= TOL), got


def test_max_readings_match_traces_case_13() -> None:
    """The meter's own momentary maximum catches the shortest burst as the trace does."""
    x, _ = bursts([0.05], [-23.0 + 10 * np.log10(0.4 / 0.05)], gap=0.6)
    m = run(x)
    assert m.momentary_max_lufs == pytest.approx(-23.0, abs=TOL)


@pytest.mark.parametrize(
    ("case", "freq_ratio", "phase_deg", "amplitude", "expected_dbtp"),
    [
        ("case15", 1 / 4, 0.0, 0.50, -6.0),
        ("case16", 1 / 4, 45.0, 0.50, -6.0),
        ("case17", 1 / 6, 60.0, 0.50, -6.0),
        ("case18", 1 / 8, 67.5, 0.50, -6.0),
        ("case19", 1 / 4, 45.0, 1.41, 3.0),
    ],
)
def test_cases_15_19_true_peak(
    case: str, freq_ratio: float, phase_deg: float, amplitude: float, expected_dbtp: float
) -> None:
    x = true_peak_case(freq_ratio, phase_deg, amplitude)
    tp = TruePeakMeter(FS, 2)
    tp.process(x)
    got = 20 * np.log10(tp.max_abs)
    assert np.all(got <= expected_dbtp + 0.2) and np.all(got >= expected_dbtp - 0.4), got


def test_case_19_through_meterbank_sample_peak_lower() -> None:
    """Case 19's samples sit at 1.41 sin 45 deg = -0.02 dBFS while the true peak is +3 dBTP."""
    bank = MeterBank(FS, 2)
    bank.process(true_peak_case(1 / 4, 45.0, 1.41))
    r = bank.result()
    assert r["sample_peak_dbfs"] == pytest.approx(20 * np.log10(1.41 * np.sin(np.pi / 4)), abs=1e-6)
    assert 2.6 <= r["true_peak_dbtp"] <= 3.2
