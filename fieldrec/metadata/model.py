"""The recordist's metadata of a take (the sidecar's ``metadata`` object), as a pydantic v2 model.

Every field is optional and has an empty default, so an empty form, a version-1 sidecar and a foreign
recorder's file all give a complete model. Text is cleaned on the way in (``fieldrec.metadata.text``);
numbers are range-checked with a message that names the field (``location.latitude: latitude must be
between -90 and 90 degrees, got 999``). Unknown keys (from a newer fieldrec, or a user's own) are kept at
every level (``extra="allow"``) and written back unchanged.

``validate_metadata(dict) -> (clean dict, errors)`` is the forgiving entry point the window and the CLI
use: it never raises; a field that fails is emptied and reported under its dotted path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from fieldrec.metadata.text import (
    MAX_NOTES_CHARS,
    MAX_TAG_CHARS,
    MAX_TEXT_CHARS,
    clean_list,
    clean_text,
    parse_coordinate,
    parse_number,
)


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list | tuple | set):
        raise ValueError(f"must be text, got {type(value).__name__}")
    return value


def _text(value: Any) -> str:
    return clean_text(_scalar(value), MAX_TEXT_CHARS)


def _notes(value: Any) -> str:
    return clean_text(_scalar(value), MAX_NOTES_CHARS, multiline=True)


def _tags(value: Any) -> list[str]:
    return clean_list(value, MAX_TAG_CHARS)


Text = Annotated[str, BeforeValidator(_text)]
Notes = Annotated[str, BeforeValidator(_notes)]
TagList = Annotated[list[str], BeforeValidator(_tags)]


def _number(what: str, low: float | None = None, high: float | None = None):
    def check(value: Any) -> float | None:
        return parse_number(value, what, low, high)

    return BeforeValidator(check)


class _Open(BaseModel):
    """Base of every part: unknown keys kept, assignment validated, enums stored as their values."""

    model_config = ConfigDict(extra="allow", validate_assignment=True, use_enum_values=True)


LocationSource = Literal["manual", "gps", "imported"]
ChannelFunction = Literal["LEFT", "RIGHT", "MID", "SIDE", "MONO", "CENTER", "X", "Y", "W", "Z", "LFE",
                          "BOOM", "LAV", "OTHER", ""]


class TrackPoint(_Open):
    """One position of a take's GPS track: where the receiver was at file frame ``frame``."""

    frame: int = Field(..., ge=0, description="frames from the first frame of the file")
    time: str | None = Field(None, description="UTC time of the fix from the receiver, ISO 8601")
    latitude: float = Field(..., ge=-90, le=90, description="decimal degrees, WGS 84")
    longitude: float = Field(..., ge=-180, le=180, description="decimal degrees, WGS 84")
    elevation_m: float | None = Field(None, description="metres above mean sea level")
    accuracy_m: float | None = Field(None, ge=0, description="horizontal position error, metres, 95 %")


class Location(_Open):
    """Where: WGS 84 decimal degrees; elevation in metres above mean sea level; accuracy in metres."""

    name: Text = Field("", description="place name as the recordist calls it")
    latitude: float | None = Field(None, ge=-90, le=90, description="decimal degrees, WGS 84, north positive")
    longitude: float | None = Field(None, ge=-180, le=180, description="decimal degrees, WGS 84, east positive")
    elevation_m: Annotated[float | None, _number("elevation", -500, 9000)] = Field(
        None, description="metres above mean sea level")
    accuracy_m: Annotated[float | None, _number("accuracy", 0, 100000)] = Field(
        None, description="horizontal position error, metres (GPS: 95 %)")
    source: LocationSource | None = Field(None, description="manual, gps or imported")
    track: list[TrackPoint] | None = Field(
        None, description="GPS positions during the take (fieldrec record --gps): the start, then each move "
        "larger than the accuracy; left out when there is none")

    @model_serializer(mode="wrap")
    def _without_empty_track(self, handler: Any) -> Any:
        """No ``track`` key when there is no track, so sidecars and chunks of takes without one stay as they were."""
        data = handler(self)
        if isinstance(data, dict) and data.get("track") is None:
            data.pop("track", None)
        return data

    @field_validator("latitude", "longitude", mode="before")
    @classmethod
    def _coordinate(cls, value: Any, info: Any) -> float | None:
        return parse_coordinate(value, info.field_name)

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return str(value).strip().lower()


class TakeTime(_Open):
    """When the first frame was captured: ISO 8601 in UTC (``Z``) and local with its offset, the offset
    alone (``+01:00``) and the IANA zone name (``Europe/Zurich``) when the system knows it."""

    start_utc: str | None = Field(None, description="ISO 8601, UTC, e.g. 2026-11-25T05:15:00.123456Z")
    start_local: str | None = Field(None, description="ISO 8601 with offset, e.g. 2026-11-25T06:15:00.123456+01:00")
    utc_offset: str | None = Field(None, pattern=r"^[+-][0-9]{2}:[0-9]{2}$", description="local minus UTC, ±HH:MM")
    timezone: str | None = Field(None, description="IANA time zone name, e.g. Europe/Zurich; null when unknown")


class Microphone(_Open):
    """One microphone; ``sensitivity_mv_pa`` in mV/Pa; ``pattern`` e.g. omni, cardioid, figure-8."""

    make: Text = ""
    model: Text = ""
    serial: Text = ""
    pattern: Text = ""
    sensitivity_mv_pa: Annotated[float | None, _number("sensitivity", 0, 10000)] = Field(
        None, description="mV/Pa")


class Channel(_Open):
    """What one channel of the file carries. ``index`` counts from 1 (iXML CHANNEL_INDEX)."""

    index: int = Field(..., ge=1, le=1024, description="channel number, 1 = first channel of the file")
    name: Text = Field("", description="track name, e.g. 'L', 'boom', 'hydrophone'")
    microphone: Text = Field("", description="which microphone feeds it (free text or a microphone's model)")
    function: ChannelFunction = Field("", description="LEFT, RIGHT, MID, SIDE, MONO, …")
    preamp_gain_db: Annotated[float | None, _number("preamp gain", -100, 100)] = Field(None, description="dB")

    @field_validator("function", mode="before")
    @classmethod
    def _function(cls, value: Any) -> Any:
        return "" if value is None else str(value).strip().upper()


class Equipment(_Open):
    """The recorder or interface and the microphones. ``recorder`` and ``microphone`` are the free-text
    one-liners of version 1 (and of the CLI flags); the structured fields refine them."""

    recorder: Text = Field("", description="recorder or interface, as typed")
    microphone: Text = Field("", description="microphone(s), as typed")
    make: Text = Field("", description="recorder/interface maker")
    model: Text = Field("", description="recorder/interface model")
    serial: Text = Field("", description="recorder/interface serial number")
    microphones: list[Microphone] = Field(default_factory=list)
    windshield: Text = Field("", description="e.g. 'basket + fur', 'none'")
    channels: list[Channel] = Field(default_factory=list, description="channel map, one entry per channel")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"recorder": value} if isinstance(value, str) else value

    @field_validator("channels")
    @classmethod
    def _distinct(cls, value: list[Channel]) -> list[Channel]:
        seen = [c.index for c in value]
        if len(seen) != len(set(seen)):
            raise ValueError("each channel index may appear once")
        return sorted(value, key=lambda c: c.index)

    def channel(self, index: int) -> Channel | None:
        """The channel map entry for channel ``index`` (1-based), if any."""
        return next((c for c in self.channels if c.index == index), None)


class Environment(_Open):
    """Conditions: temperature in °C, relative humidity in %."""

    weather: Text = ""
    wind: Text = Field("", description="e.g. 'calm', 'W 3 Bft'")
    temperature_c: Annotated[float | None, _number("temperature", -90, 70)] = Field(None, description="°C")
    humidity_pct: Annotated[float | None, _number("humidity", 0, 100)] = Field(None, description="% relative")
    habitat: Text = ""
    noise: Text = Field("", description="known noise sources, free text")
    noise_sources: TagList = Field(default_factory=list, description="known noise sources, as a list")


class Subject(_Open):
    """What was recorded: free text, labels, and the project vocabulary the labels come from."""

    text: Text = Field("", description="free text, e.g. 'dawn chorus with blackbird'")
    labels: TagList = Field(default_factory=list, description="labels, e.g. species codes")
    vocabulary: Text = Field("", description="name or URL of the label vocabulary")


class Metadata(_Open):
    """The recordist's part of a take. ``take`` numbers count from 1 per (project, scene)."""

    project: Text = ""
    session: Text = ""
    scene: Text = ""
    take: int | None = Field(None, ge=1, le=99999, description="take number within the scene, from 1")
    circled: bool = Field(False, description="the good take (Sound Devices 'circled')")
    recordist: Text = ""
    licence: Text = Field("", description="e.g. CC-BY-4.0")
    location: Location = Field(default_factory=Location)
    time: TakeTime = Field(default_factory=TakeTime)
    equipment: Equipment = Field(default_factory=Equipment)
    environment: Environment = Field(default_factory=Environment)
    subject: Subject = Field(default_factory=Subject)
    tags: TagList = Field(default_factory=list)
    notes: Notes = ""

    @field_validator("take", mode="before")
    @classmethod
    def _take(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return value

    @field_validator("circled", mode="before")
    @classmethod
    def _circled(cls, value: Any) -> Any:
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("", "0", "false", "no", "n", "off"):
                return False
            if low in ("1", "true", "yes", "y", "on", "circled"):
                return True
        return value if value is not None else False


class MetadataError(ValueError):
    """Invalid metadata; ``errors`` maps a dotted field path to a message; ``str(err)`` is one line."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def error_messages(err: ValidationError) -> dict[str, str]:
    """Dotted field path → one-line message for each problem pydantic found."""
    out: dict[str, str] = {}
    for item in err.errors():
        path = ".".join(str(p) for p in item["loc"])
        msg = str(item["msg"])
        msg = msg.removeprefix("Value error, ")
        msg = " ".join(msg.split())
        out.setdefault(path or "metadata", msg)
    return out


def empty_metadata() -> dict[str, Any]:
    """A metadata dict with every field present and empty."""
    return Metadata().model_dump(mode="json")


def _drop(data: Any, path: tuple[Any, ...]) -> bool:
    """Remove the value at ``path`` from nested dicts/lists; True if something was removed."""
    node = data
    for key in path[:-1]:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return False
    last = path[-1] if path else None
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        del node[last]
        return True
    return False


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data


def parse_metadata(data: Any) -> tuple[Metadata, dict[str, str]]:
    """The model from a dict, never raising: invalid values are dropped (so they take their empty
    default) and reported as ``{dotted path: message}``."""
    if isinstance(data, Metadata):
        return data, {}
    if data is not None and not isinstance(data, dict):
        return Metadata(), {"metadata": f"metadata must be an object, got {type(data).__name__}"}
    work = _plain(data or {})
    errors: dict[str, str] = {}
    for _ in range(50):
        try:
            return Metadata.model_validate(work), errors
        except ValidationError as err:
            removed = False
            for item in err.errors():
                path = tuple(item["loc"])
                key = ".".join(str(p) for p in path) or "metadata"
                errors.setdefault(key, " ".join(str(item["msg"]).removeprefix("Value error, ").split()))
                removed = _drop(work, path) or removed
                if not removed and len(path) > 1:
                    removed = _drop(work, path[:-1])
            if not removed:
                break
    return Metadata(), errors


def validate_metadata(data: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean and check a metadata dict: ``(clean, errors)``.

    ``clean`` always has every field (invalid values replaced by empty ones) as JSON-ready values;
    ``errors`` maps a field path (``"location.latitude"``) to a message. Unknown keys are kept.
    """
    model, errors = parse_metadata(data)
    return model.model_dump(mode="json"), errors


def new_take_metadata(
    location: str = "",
    latitude: float | str | None = None,
    longitude: float | str | None = None,
    recorder: str = "",
    microphone: str = "",
    notes: str = "",
    tags: list[str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A raw metadata dict from plain values (the CLI's flags); validate it with ``validate_metadata``."""
    data: dict[str, Any] = {
        "location": {"name": location, "latitude": latitude, "longitude": longitude},
        "equipment": {"recorder": recorder, "microphone": microphone},
        "notes": notes,
        "tags": list(tags or []),
    }
    data.update(more)
    return data
