"""The export's options as people give them (words, as typed on the command line or picked in the window's
Export dialog) and the one mapping from them to an ``ExportRequest``.

``ExportOptions`` holds the words, one field per ``fieldrec export`` option (named as argparse names them,
with the same defaults); ``request_from_options`` checks and turns them into the parameter records and
raises ``ExportInputError`` with one line for anything wrong. ``fieldrec export`` builds its options with
``options_from(args)``; the Export dialog fills an ``ExportOptions`` from its widgets. There is no second
parser.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from fieldrec.dataset import params as dp
from fieldrec.dataset.features import FeatureParams, parse_features
from fieldrec.dataset.pipeline import ExportInputError, ExportRequest
from fieldrec.dataset.select import Filters, Where
from fieldrec.durations import parse_time

DEFAULT_SPLIT = "train=0.7,validation=0.15,test=0.15"


@dataclass
class ExportOptions:
    """The words of ``fieldrec export`` (see docs/dataset.md for each); None = option not given."""

    sources: list[str]
    out: str
    name: str | None = None
    samplerate: int | None = None
    format: str = "wav16"
    channels: str = "keep"
    normalize: str | None = None
    segment: str = "whole"
    last_window: str = "drop"
    features: str = "none"
    split: str = DEFAULT_SPLIT
    folds: int | None = None
    group_by: str = "take"
    stratify_by: str | None = None
    label_by: str = "tag"
    seed: int = 0
    coordinates: str = "keep"
    tag: list[str] | None = None
    label: list[str] | None = None
    location: str | None = None
    bbox: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    min_duration: str | None = None
    max_duration: str | None = None
    max_clipped: int | None = None
    min_snr: float | None = None
    max_noise_floor: float | None = None
    max_true_peak: float | None = None
    where: list[str] | None = None
    include_incomplete: bool = False
    workers: int | None = None
    dask: str | None = None
    dry_run: bool = False


def options_from(namespace: Any) -> ExportOptions:
    """An ``ExportOptions`` from any object with the options as attributes (an ``argparse.Namespace``);
    missing attributes keep their defaults."""
    names = [f.name for f in dataclasses.fields(ExportOptions)]
    return ExportOptions(**{n: getattr(namespace, n) for n in names if hasattr(namespace, n)})


def _day(word: str | None, flag: str) -> date | None:
    if word is None:
        return None
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise ValueError(f"{flag} must be a date YYYY-MM-DD, got {word!r}") from None


def _bbox(word: str | None) -> tuple[float, float, float, float] | None:
    if not word:
        return None
    try:
        parts = [float(v) for v in word.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not (-90 <= parts[0] <= parts[2] <= 90 and -180 <= parts[1] <= parts[3] <= 180):
        raise ValueError("--bbox must be SOUTH,WEST,NORTH,EAST in decimal degrees (south <= north, west <= east)")
    return parts[0], parts[1], parts[2], parts[3]


def request_from_options(o: ExportOptions) -> ExportRequest:
    """The ``ExportRequest`` for ``o``; raises ``ExportInputError`` (one line) for bad words."""
    try:
        if not o.sources:
            raise ValueError("nothing to export: give folders or audio files")
        if not str(o.out).strip():
            raise ValueError("give an output folder (--out)")
        container, subtype = dp.parse_format(o.format)
        filters = Filters(
            tags=tuple(o.tag or ()), labels=tuple(o.label or ()), label_by=o.label_by,
            location=o.location, bbox=_bbox(o.bbox), date_from=_day(o.date_from, "--from"),
            date_to=_day(o.date_to, "--to"),
            min_duration=parse_time(o.min_duration) if o.min_duration else None,
            max_duration=parse_time(o.max_duration) if o.max_duration else None,
            max_clipped=o.max_clipped, min_snr=o.min_snr, max_noise_floor=o.max_noise_floor,
            max_true_peak=o.max_true_peak, where=tuple(Where.parse(w) for w in o.where or ()),
            include_incomplete=o.include_incomplete,
        )
        convert = dp.ConvertParams(samplerate=o.samplerate, container=container, subtype=subtype,
                                   channels=dp.parse_channels(o.channels), normalize=dp.parse_normalize(o.normalize))
        segment = dp.parse_segment(o.segment, o.last_window, parse_time)
        names = parse_features(o.features)
        if o.folds is not None and o.folds < 2:
            raise ValueError("--folds must be at least 2")
        split = dp.SplitParams(ratios=dp.parse_split(o.split), folds=o.folds, group_by=o.group_by,
                               stratify_by=o.stratify_by, label_by=o.label_by, seed=o.seed)
        layout = dp.LayoutParams(name=o.name or Path(o.out).name, coordinates=dp.parse_coordinates(o.coordinates))
        if o.samplerate is not None and not 1000 <= o.samplerate <= 768000:
            raise ValueError(f"--samplerate must be between 1000 and 768000 Hz, got {o.samplerate}")
        if o.workers is not None and o.workers < 1:
            raise ValueError("--workers must be at least 1")
    except ValueError as err:
        raise ExportInputError(str(err)) from None
    return ExportRequest(
        sources=tuple(o.sources), out_dir=o.out, filters=filters, convert=convert, segment=segment,
        features=dp.FeatureChoice(names, FeatureParams().to_dict() if names else {}), split=split, layout=layout,
        workers=o.workers, dask=o.dask, dry_run=o.dry_run,
    )
