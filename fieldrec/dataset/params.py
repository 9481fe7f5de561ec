"""The parameters of an export, one frozen dataclass per step, each with ``to_dict()`` (JSON-safe).

Every parameter that changes an output byte is in one of these records; the journal fingerprints them,
the manifest stores them. ``parse_*`` turn the command line's words into records and raise ``ValueError``
with a one-line message for bad words.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

#: --format word -> (container, libsndfile subtype); the record command's names
FORMATS: dict[str, tuple[str, str]] = {
    "wav16": ("wav", "PCM_16"), "wav24": ("wav", "PCM_24"), "float": ("wav", "FLOAT"),
    "flac16": ("flac", "PCM_16"), "flac24": ("flac", "PCM_24"),
}
SPLIT_NAMES = ("train", "validation", "test")


def _asdict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


@dataclass(frozen=True)
class ConvertParams:
    """Target format. ``samplerate`` None keeps the source rate; ``channels`` is "keep", "mono" (mean of the
    channels), "split" (one file per channel) or a 1-based channel number; ``normalize`` None,
    ("peak", dBFS) or ("lufs", LUFS), one gain per take measured after resampling."""

    samplerate: int | None = None
    container: str = "wav"
    subtype: str = "PCM_16"
    channels: str | int = "keep"
    normalize: tuple[str, float] | None = None
    quality: str = "VHQ"  #: soxr quality recipe
    block_frames: int = 65536  #: source frames read at a time (bounded memory); does not change outputs

    def to_dict(self) -> dict[str, Any]:
        d = _asdict(self)
        d.pop("block_frames")
        d["normalize"] = list(self.normalize) if self.normalize else None
        return d


@dataclass(frozen=True)
class SegmentParams:
    """How a take is cut. ``mode`` whole | window | markers | events. Windows: ``length_s`` and ``hop_s``
    (seconds), ``last`` drop | pad | keep for the last partial window. Events: an energy detector on
    ``event_frame_s`` frames above the take's noise floor (10th percentile of frame energy) by
    ``event_threshold_db``; ``event_pad_s`` added on both sides, shorter than ``event_min_s`` dropped."""

    mode: str = "whole"
    length_s: float = 1.0
    hop_s: float = 1.0
    last: str = "drop"
    event_threshold_db: float = 10.0
    event_frame_s: float = 0.02
    event_pad_s: float = 0.1
    event_min_s: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        d = _asdict(self)
        if self.mode != "window":
            for k in ("length_s", "hop_s", "last"):
                d.pop(k)
        if self.mode != "events":
            for k in ("event_threshold_db", "event_frame_s", "event_pad_s", "event_min_s"):
                d.pop(k)
        return d

    @property
    def rule(self) -> str:
        if self.mode == "window":
            return f"window:{self.length_s:g}:{self.hop_s:g}:{self.last}"
        return self.mode


@dataclass(frozen=True)
class SplitParams:
    """Train/validation/test ``ratios`` (or ``folds`` K, splits named fold0..fold{K-1}), grouped by
    ``group_by`` (take | site | session | day | recorder | a dotted sidecar key), optionally stratified by
    ``stratify_by``; ``label_by`` is the key whose value is each output's label (default the first tag)."""

    ratios: tuple[tuple[str, float], ...] = (("train", 0.7), ("validation", 0.15), ("test", 0.15))
    folds: int | None = None
    group_by: str = "take"
    stratify_by: str | None = None
    label_by: str = "tag"
    seed: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        if self.folds:
            return tuple(f"fold{i}" for i in range(self.folds))
        return tuple(name for name, _ in self.ratios)

    def to_dict(self) -> dict[str, Any]:
        d = _asdict(self)
        d["ratios"] = dict(self.ratios)
        return d


@dataclass(frozen=True)
class LayoutParams:
    """``coordinates``: "keep", "round:N" (N decimals; 2 is about 1 km) or "drop", applied to every file
    the dataset contains (metadata.csv, sidecars, data card, manifest)."""

    name: str = "fieldrec-dataset"
    coordinates: str = "keep"

    def to_dict(self) -> dict[str, Any]:
        return _asdict(self)


@dataclass(frozen=True)
class FeatureChoice:
    """Which features (names of ``fieldrec.dataset.features.FEATURE_NAMES``; empty = none) and their
    parameters (``FeatureParams.to_dict()``)."""

    names: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "params": dict(self.params)}


# ----------------------------------------------------------------------------- parsing
def parse_format(word: str) -> tuple[str, str]:
    key = word.lower().replace("-", "").replace("_", "")
    if key not in FORMATS:
        raise ValueError(f"unknown format {word!r}; choose one of: {', '.join(FORMATS)}")
    return FORMATS[key]


def parse_channels(word: str) -> str | int:
    w = word.strip().lower()
    if w in ("keep", "mono", "split"):
        return w
    if w.isdigit() and int(w) >= 1:
        return int(w)
    raise ValueError(f"--channels must be keep, mono, split or a channel number from 1, got {word!r}")


def parse_normalize(word: str | None) -> tuple[str, float] | None:
    if not word or word.lower() == "none":
        return None
    m = re.fullmatch(r"(peak|lufs):(-?\d+(?:\.\d+)?)", word.strip().lower())
    if not m:
        raise ValueError(f"--normalize must be peak:DBFS or lufs:LUFS (e.g. peak:-1, lufs:-23), got {word!r}")
    value = float(m.group(2))
    if value > 0:
        raise ValueError(f"--normalize target must be at most 0, got {value:g}")
    return m.group(1), value


def parse_segment(word: str, last: str, seconds: Any) -> SegmentParams:
    """``whole``, ``window:LEN[:HOP]``, ``markers`` or ``events``; ``seconds`` parses LEN/HOP ("1s", "500ms")."""
    if last not in ("drop", "pad", "keep"):
        raise ValueError(f"--last-window must be drop, pad or keep, got {last!r}")
    parts = word.strip().split(":")
    mode = parts[0].lower()
    if mode in ("whole", "markers", "events") and len(parts) == 1:
        return SegmentParams(mode=mode)
    if mode == "window" and len(parts) in (2, 3):
        length = seconds(parts[1])
        hop = seconds(parts[2]) if len(parts) == 3 else length
        return SegmentParams(mode="window", length_s=length, hop_s=hop, last=last)
    raise ValueError(f"--segment must be whole, window:LEN[:HOP], markers or events, got {word!r}")


def parse_split(word: str) -> tuple[tuple[str, float], ...]:
    """``train=0.7,validation=0.15,test=0.15`` (ratios summing to 1; ``train=1`` for no split)."""
    ratios: list[tuple[str, float]] = []
    for part in word.split(","):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in SPLIT_NAMES:
            raise ValueError(f"--split takes NAME=RATIO pairs with names {', '.join(SPLIT_NAMES)}, got {part!r}")
        try:
            ratio = float(value)
        except ValueError:
            raise ValueError(f"--split ratio for {name} is not a number: {value!r}") from None
        if not 0 <= ratio <= 1:
            raise ValueError(f"--split ratio for {name} must be between 0 and 1, got {ratio:g}")
        if any(n == name for n, _ in ratios):
            raise ValueError(f"--split names {name} twice")
        ratios.append((name, ratio))
    total = sum(r for _, r in ratios)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"--split ratios must add up to 1, they add up to {total:g}")
    order = {n: i for i, n in enumerate(SPLIT_NAMES)}
    return tuple(sorted(((n, r) for n, r in ratios if r > 0), key=lambda nr: order[nr[0]]))


def parse_coordinates(word: str) -> str:
    w = word.strip().lower()
    if w in ("keep", "drop") or re.fullmatch(r"round:\d", w):
        return w
    raise ValueError(f"--coordinates must be keep, drop or round:N (N decimals, 0-9), got {word!r}")
