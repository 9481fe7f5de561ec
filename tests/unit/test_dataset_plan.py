"""A dry run's plan (takes, files, seconds per split) equals what the export then writes, for every
segmentation rule, a resampled and a kept rate, and one file per channel; the options map bad words to one
line; a cancelled export stops between takes and a rerun finishes it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from fieldrec.dataset.options import ExportOptions, request_from_options
from fieldrec.dataset.pipeline import ExportCancelled, ExportInputError, run_export
from tests.dataset_takes import write_take


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plan")
    for i, secs in enumerate((1.37, 2.0, 0.61, 1.05)):
        write_take(root, f"take{i}", seconds=secs, seed=i, rate=44100 if i % 2 else 48000,
                   markers=((4410, "wren"), (30000, "wind")) if i < 2 else (), tags=("birds",))
    rng = np.random.default_rng(7)  # two calls over quiet noise: two events
    x = rng.normal(0, 0.001, 72000)
    for a in (12000, 50000):
        x[a : a + 6000] += 0.3 * np.sin(2 * np.pi * 2000 * np.arange(6000) / 48000)
    write_take(root, "calls", signal=x, tags=("birds",))
    return root


def achieved(summary) -> dict:
    out = {}
    for o in summary.outputs:
        row = out.setdefault(o.split, {"takes": set(), "files": 0, "seconds": 0.0})
        row["takes"].add(o.take_id)
        row["files"] += 1
        row["seconds"] += o.duration_s
    return {k: {"takes": len(v["takes"]), "files": v["files"], "seconds": round(v["seconds"], 6)}
            for k, v in out.items()}


@pytest.mark.parametrize("words", [
    dict(segment="whole"),
    dict(segment="window:500ms", last_window="drop", samplerate=16000),
    dict(segment="window:400ms:300ms", last_window="pad", samplerate=22050),
    dict(segment="window:300ms", last_window="keep", channels="split"),
    dict(segment="markers", samplerate=16000),
    dict(segment="events"),
])
def test_plan_equals_the_export(tmp_path, src, words):
    opts = ExportOptions(sources=[str(src)], out=str(tmp_path / "ds"), workers=1, **words)
    dry = run_export(request_from_options(dataclasses.replace(opts, dry_run=True)))
    assert not (tmp_path / "ds").exists()
    real = run_export(request_from_options(opts))
    assert real.exit_code == 0 and real.outputs
    plan = {k: v for k, v in dry.plan.items() if v["takes"]}
    assert plan == achieved(real)


def test_bad_words_are_one_line(tmp_path, src):
    for words, text in ((dict(split="train=0.5,test=0.4"), "add up to 1"), (dict(segment="window:0s"), "more than zero"),
                        (dict(format="mp3"), "unknown format"), (dict(bbox="1,2,3"), "SOUTH,WEST,NORTH,EAST"),
                        (dict(out=" "), "output folder"), (dict(sources=[]), "nothing to export")):
        opts = dataclasses.replace(ExportOptions(sources=[str(src)], out=str(tmp_path / "ds")), **words)
        with pytest.raises(ExportInputError, match=text) as err:
            request_from_options(opts)
        assert "\n" not in str(err.value)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportInputError, match="cannot use the output folder"):
        run_export(request_from_options(ExportOptions(sources=[str(src)], out=str(blocker / "ds"), workers=1)))


def test_cancel_stops_between_takes_and_a_rerun_finishes(tmp_path, src):
    req = request_from_options(ExportOptions(sources=[str(src)], out=str(tmp_path / "ds"), workers=1))
    seen = []
    with pytest.raises(ExportCancelled) as err:
        run_export(req, seen.append, cancel=lambda: len(seen) >= 2)
    assert (err.value.done, err.value.total) == (2, 5) and len(seen) == 2
    assert not (tmp_path / "ds" / "manifest.json").exists()
    again = run_export(req)
    assert again.exported_takes == 5 and again.cached_takes == 2
