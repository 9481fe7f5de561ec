"""EBU Tech 3342 loudness range, cases 1-4 (synthesised): LRA within +-1 LU."""

from __future__ import annotations

import pytest
from ebu_signals import sequence, stereo

from fieldrec.analysis.loudness import LoudnessMeter

CASES = {
    "case1": ([(20, -20.0), (20, -30.0)], 10.0),
    "case2": ([(20, -20.0), (20, -15.0)], 5.0),
    "case3": ([(20, -40.0), (20, -20.0)], 20.0),
    "case4": ([(20, -50.0), (20, -35.0), (20, -20.0), (20, -35.0), (20, -50.0)], 15.0),
}


@pytest.mark.parametrize("fs", [44100, 48000])
@pytest.mark.parametrize("case", sorted(CASES))
def test_loudness_range(case: str, fs: int) -> None:
    pieces, expected = CASES[case]
    m = LoudnessMeter(fs, 2)
    m.process(stereo(sequence(pieces, fs)))
    assert m.loudness_range_lu == pytest.approx(expected, abs=1.0)
