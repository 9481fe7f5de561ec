"""The typed records of an export, each serialising to a JSON-safe dict (one JSON line) and back.

As in Lhotse, a manifest is the data, not a report about it:

* ``TakeRecord``: one source take as read (audio path, header, the sidecar's metadata, markers, analysis);
* ``Segment``: a span of a take in source frames and in output frames, with the rule that made it;
* ``OutputRecord``: one exported file: where it is (relative to the dataset folder), its SHA-256, the
  segment it holds, every conversion step applied to it, its features file.

Frames count from the first frame of the source file; ``last_source_frame`` is inclusive.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any


def _plain(value: Any) -> Any:
    """A copy of JSON-like ``value`` (dicts, lists and tuples copied, the rest as is), as
    ``dataclasses.asdict`` copies a record's fields but without its per-value introspection."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class TakeRecord:
    """A source take. ``sidecar`` is the whole (migrated) sidecar dict, {} for plain audio files."""

    take_id: str  #: the file stem, the default split group
    audio_path: str  #: absolute path of the audio file
    sidecar_path: str | None  #: absolute path of its fieldrec sidecar, None for plain audio
    samplerate: int  #: Hz
    channels: int
    frames: int  #: frames in the file header
    container: str  #: "wav" or "flac" (libsndfile format, lower case)
    subtype: str  #: libsndfile subtype, e.g. "PCM_24"
    sidecar: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate

    @property
    def metadata(self) -> dict[str, Any]:
        return self.sidecar.get("metadata") or {}

    @property
    def recording(self) -> dict[str, Any]:
        return self.sidecar.get("recording") or {}

    @property
    def analysis(self) -> dict[str, Any]:
        return self.sidecar.get("analysis") or {}

    @property
    def markers(self) -> list[dict[str, Any]]:
        return list(self.sidecar.get("markers") or [])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TakeRecord:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Segment:
    """A span of a take: ``[first_source_frame, last_source_frame]`` (inclusive) at the source rate and
    ``[out_start, out_start + out_frames)`` at the output rate; ``rule`` names the segmentation
    (``whole``, ``window:1:1``, ``markers``, ``events``), ``label`` a marker/label text if any,
    ``padded_frames`` zeros appended to reach a window's length (``--last-window pad``)."""

    index: int
    out_start: int
    out_frames: int
    first_source_frame: int
    last_source_frame: int
    rule: str
    label: str = ""
    padded_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # flat: asdict without its cost

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Segment:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class OutputRecord:
    """One exported audio file and everything needed to trust it."""

    path: str  #: relative to the dataset folder, e.g. "train/take_0003.wav"
    sha256: str
    bytes: int
    split: str
    take_id: str
    group: str  #: the value of the split grouping key
    label: str
    source_path: str
    source_sha256: str
    segment: Segment
    channel: int | None  #: 1-based source channel for --channels split/N, None otherwise
    samplerate: int
    channels: int
    container: str
    subtype: str
    frames: int
    conversion: dict[str, Any]  #: every step: resampler, channel mix, gain, dither, quantisation
    features_path: str | None = None
    features_sha256: str | None = None
    scalars: dict[str, Any] = field(default_factory=dict)  #: scalar features (the features.csv row)

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate

    def to_dict(self) -> dict[str, Any]:
        """As ``dataclasses.asdict(self)`` (the segment as a dict, every container copied), faster: the
        layout and the journal write this for every output."""
        d = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        d["segment"] = self.segment.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputRecord:
        data = dict(data)
        data["segment"] = Segment.from_dict(data["segment"])
        return _from_dict(cls, data)

    @property
    def sidecar_path(self) -> str:
        """Relative path of the output's own sidecar: ``sidecars/<split>/<stem>.json``."""
        return "sidecars/" + self.path.rsplit(".", 1)[0] + ".json"

    def moved_to(self, split: str) -> OutputRecord:
        """The same output placed in another split folder (paths rewritten)."""
        def move(p: str | None) -> str | None:
            if p is None:
                return None
            parts = p.split("/")
            if parts[0] in ("features", "sidecars"):
                return "/".join([parts[0], split, *parts[2:]])
            return "/".join([split, *parts[1:]])
        return dataclasses.replace(self, split=split, path=move(self.path), features_path=move(self.features_path))


def to_json_line(record: Any) -> str:
    """One record as a compact, key-sorted JSON line (no NaN: missing numbers are null)."""
    return json.dumps(record.to_dict(), sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def read_json_lines(text: str, cls: type) -> list[Any]:
    """Records of type ``cls`` from JSON-lines text (blank lines ignored)."""
    return [cls.from_dict(json.loads(line)) for line in text.splitlines() if line.strip()]
