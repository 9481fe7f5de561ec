"""The whole take sidecar (``<stem>.json``, schema_version 2) as one pydantic model.

The writer's output, the JSON Schema in ``docs/sidecar.schema.json`` and this model are one definition:
``Sidecar.model_dump(mode="json")`` is what is written, ``sidecar_json_schema()`` is what is published.

Units: samplerate in Hz; durations and times in seconds; positions in frames (samples per channel) from
the first frame of the file. Unknown keys are kept at every level (``extra="allow"``).

The take builds its sidecar with ``new_sidecar(...)`` at start and ``finish_sidecar(...)`` at stop.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

from fieldrec import __version__
from fieldrec.metadata.model import Metadata, parse_metadata

#: Format version of the sidecar this code writes.
SCHEMA_VERSION = 2

_ISO_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$"
_ISO_LOCAL = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"
_SHA = r"^[0-9a-f]{64}$"

Container = Literal["wav", "flac"]
Subtype = Literal["PCM_16", "PCM_24", "PCM_32", "FLOAT"]
State = Literal["recording", "complete", "interrupted"]
#: trigger: the trigger's post-roll or max take length ended it; split: the next file of its family goes on at the
#: next frame; schedule: its period ended; run_for: the session's time was over (issue 15).
StopReason = Literal["user", "duration", "device_lost", "disk_full", "error", "interrupted", "imported", "trigger",
                     "split", "schedule", "run_for"]
OverflowKind = Literal["input_overflow", "ring_overrun", "device_lost"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", validate_assignment=True)


class FileInfo(_Part):
    """The audio file. ``sha256`` covers every byte of the final file (metadata chunks included);
    ``audio_sha256`` covers only the sample bytes of the ``data`` chunk (FLAC: the decoded samples as
    little-endian PCM), so it stays the same when metadata is edited."""

    name: str = Field(..., min_length=1, pattern=r"^[^/\\]+$", description="audio file name, no folder")
    bytes: int = Field(0, ge=0, description="audio file size in bytes when the sidecar was written")
    sha256: str | None = Field(None, pattern=_SHA, description="SHA-256 of the whole file; null while recording")
    audio_sha256: str | None = Field(None, pattern=_SHA,
                                     description="SHA-256 of the audio samples only; null while recording")
    chunks: list[str] = Field(default_factory=list,
                              description="metadata chunks fieldrec embedded (bext, iXML, guan, cue, LIST/adtl, LIST/INFO)")


class AudioInfo(_Part):
    samplerate: int = Field(..., ge=1, description="Hz")
    channels: int = Field(..., ge=1, le=1024)
    container: Container
    subtype: Subtype
    frames: int = Field(0, ge=0, description="frames (samples per channel) in the file")
    duration_s: float = Field(0.0, ge=0, description="frames / samplerate, seconds")


class Device(_Part):
    name: str = ""
    hostapi: str = ""


class Overflow(_Part):
    """Audio that did not reach the file."""

    kind: OverflowKind
    frame: int = Field(..., ge=0, description="position of the gap in the file: the frame at which the "
                                              "missing audio would have started")
    time_s: float = Field(..., ge=0, description="frame / samplerate, seconds")
    frames_lost: int | None = Field(0, ge=0, description="frames missing at this position; 0 = the flag was set "
                                    "but nothing was lost; null = the backend gave no timing to tell")


class OverflowSummary(_Part):
    """Exact totals over every event of the take, however many the list keeps."""

    events: int = Field(0, ge=0)
    frames_lost: int = Field(0, ge=0, description="sum over events of known size")
    unknown_loss_events: int = Field(0, ge=0)
    events_truncated: bool = Field(False, description="true when more events happened than the list holds")


class Recording(_Part):
    state: State = "recording"
    uid: str | None = Field(None, max_length=64,
                            description="unique id of the take: bext OriginatorReference = iXML FILE_UID")
    start_utc: str | None = Field(None, pattern=_ISO_UTC)
    start_local: str | None = Field(None, pattern=_ISO_LOCAL)
    end_utc: str | None = Field(None, pattern=_ISO_UTC)
    end_local: str | None = Field(None, pattern=_ISO_LOCAL)
    time_reference: int | None = Field(
        None, ge=0, description="bext TimeReference as written: samples from local midnight of the start_local "
        "day to the first frame, at audio.samplerate; null = computed from start_local (an exported segment sets "
        "it: the source's time reference plus its first source frame, rescaled to the output rate)")
    device: Device = Field(default_factory=Device)
    blocksize: int = Field(0, ge=0, description="frames per callback; 0 = chosen by the host")
    latency_s: float | None = Field(None, ge=0, description="seconds")
    stream_settled: bool | None = Field(None, description="false when the take began before the input stream "
                                        "delivered steadily (0.2 s without overflow within 4 s)")
    overflows: list[Overflow] = Field(default_factory=list,
                                      description="the take's events in order, at most 1000 (see overflow_summary)")
    overflow_summary: OverflowSummary = Field(default_factory=OverflowSummary)
    warnings: list[str] = Field(default_factory=list,
                                description="faults during the take that did not stop it (sidecar writes, meters)")
    stop_reason: StopReason | None = None
    stop_detail: str | None = None
    repaired: str | None = Field(None, description="what `fieldrec check --repair` did, if anything")

    @model_validator(mode="after")
    def _complete_has_end(self) -> Recording:
        # an imported file (or a segment exported from one) may not say when it was recorded
        if self.state == "complete" and (self.stop_reason is None
                                         or (self.end_utc is None and self.stop_reason != "imported")):
            raise ValueError("a complete recording needs end_utc and stop_reason")
        return self


class Marker(_Part):
    """A cue point; ``length_frames`` > 0 makes it a region (cue + ltxt)."""

    frame: int = Field(..., ge=0, description="file position, frames")
    time_s: float = Field(..., ge=0, description="frame / samplerate, seconds")
    label: str = Field("", max_length=500)
    length_frames: int = Field(0, ge=0, description="region length in frames; 0 = a point")


class Peak(_Part):
    hz: float | None = None
    dbfs: float | None = None


class Analysis(_Part):
    """The keys of ``fieldrec analyze --json`` (docs/analysis.md); numbers are null where undefined."""

    samplerate: int | float | None = Field(None, ge=1)
    channels: int | None = Field(None, ge=1)
    frames: int | None = Field(None, ge=0)
    duration_s: float | None = None
    sample_peak_dbfs: float | None = None
    true_peak_dbtp: float | None = None
    rms_dbfs: float | None = None
    integrated_lufs: float | None = None
    momentary_max_lufs: float | None = None
    short_term_max_lufs: float | None = None
    loudness_range_lu: float | None = None
    noise_floor_dbfs: float | None = None
    snr_db: float | None = None
    spectral_centroid_hz: float | None = None
    clipped_samples: int | None = Field(None, ge=0)
    clip_events: int | None = Field(None, ge=0)
    dc_offset: float | list[float | None] | None = None
    peaks: list[Peak] = Field(default_factory=list)
    per_channel: list[dict[str, Any]] = Field(default_factory=list)
    partial: bool | None = Field(None, description="true when the live analysis missed part of the take")
    partial_reason: str | None = None


class Software(_Part):
    name: Literal["fieldrec"] = "fieldrec"
    version: str = Field(__version__, min_length=1)


class Sidecar(_Part):
    """One take's sidecar. ``imported`` holds a foreign file's original metadata verbatim."""

    model_config = ConfigDict(extra="allow", validate_assignment=True,
                              json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"})

    schema_version: Literal[2] = SCHEMA_VERSION
    file: FileInfo
    audio: AudioInfo
    recording: Recording = Field(default_factory=Recording)
    metadata: Metadata = Field(default_factory=Metadata)
    markers: list[Marker] = Field(default_factory=list)
    analysis: Analysis | None = None
    software: Software = Field(default_factory=Software)
    imported: dict[str, Any] | None = Field(
        None, description="for imported takes: source path and every embedded value as read, verbatim")

    @field_serializer("analysis")
    def _analysis_as_given(self, value: Analysis | None) -> dict[str, Any] | None:
        """The analysis as the meters gave it: keys they did not give are not added."""
        return None if value is None else value.model_dump(mode="json", exclude_unset=True)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return value if value is not None else {}

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict (what ``write_sidecar`` writes)."""
        return self.model_dump(mode="json")


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 in UTC with ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_zone_name() -> str | None:
    """The IANA name of the local time zone (``TZ``, ``/etc/timezone`` or the ``/etc/localtime`` link)."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz and not tz.startswith("/"):
        return tz
    try:
        text = Path("/etc/timezone").read_text(encoding="utf-8").strip()
        if text:
            return text
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def take_time(moment: datetime) -> dict[str, Any]:
    """The ``metadata.time`` values for a take whose first frame was captured at ``moment``."""
    local = moment.astimezone()
    offset = local.strftime("%z")
    return {
        "start_utc": iso_utc(moment),
        "start_local": local.isoformat(),
        "utc_offset": f"{offset[:3]}:{offset[3:]}" if offset else None,
        "timezone": local_zone_name(),
    }


def new_uid() -> str:
    """A unique take id (32 hex digits), for bext OriginatorReference and iXML FILE_UID."""
    return uuid.uuid4().hex.upper()


def new_sidecar(
    *,
    file_name: str,
    samplerate: int,
    channels: int,
    container: str,
    subtype: str,
    start: datetime,
    metadata: Metadata | dict[str, Any] | None = None,
    device_name: str = "",
    hostapi: str = "",
    blocksize: int = 0,
    latency_s: float | None = None,
    stream_settled: bool | None = None,
) -> Sidecar:
    """The sidecar of a take that starts now (state ``recording``); ``start`` is the first frame's time.

    ``metadata.time`` is set from ``start`` (whatever the metadata held there).
    Raises ``MetadataError`` naming the field when ``metadata`` is invalid.
    """
    from fieldrec.metadata.model import MetadataError

    meta, errors = parse_metadata(metadata)
    if errors:
        raise MetadataError(errors)
    # the take's own start, always: a time carried in from a preset, a form or an earlier take is stale
    meta = meta.model_copy(update={"time": meta.time.model_validate(take_time(start))})
    return Sidecar(
        file=FileInfo(name=file_name),
        audio=AudioInfo(samplerate=samplerate, channels=channels, container=container, subtype=subtype),
        recording=Recording(
            state="recording", uid=new_uid(), start_utc=iso_utc(start), start_local=start.astimezone().isoformat(),
            device=Device(name=device_name, hostapi=hostapi), blocksize=blocksize, latency_s=latency_s,
            stream_settled=stream_settled,
        ),
        metadata=meta,
    )


def finish_sidecar(
    sidecar: Sidecar,
    *,
    frames: int,
    stop_reason: str,
    end: datetime,
    stop_detail: str | None = None,
    overflows: list[dict[str, Any]] | None = None,
    analysis: dict[str, Any] | None = None,
    state: str = "complete",
) -> Sidecar:
    """A copy of ``sidecar`` completed at stop: frames, duration, end time, stop reason, analysis.
    The hashes and size are set by the take after the file is final (``set_file_hashes``)."""
    data = sidecar.model_dump(mode="json")
    sr = data["audio"]["samplerate"]
    data["audio"].update(frames=int(frames), duration_s=frames / sr)
    data["recording"].update(
        state=state, end_utc=iso_utc(end), end_local=end.astimezone().isoformat(),
        stop_reason=stop_reason, stop_detail=stop_detail,
    )
    if overflows is not None:
        data["recording"]["overflows"] = overflows
    data["analysis"] = analysis
    return Sidecar.model_validate(data)


def set_file_hashes(sidecar: Sidecar, *, size: int, sha256: str | None, audio_sha256: str | None,
                    chunks: list[str] | None = None) -> Sidecar:
    """A copy with the final file size (bytes) and both hashes (see ``FileInfo``)."""
    file = sidecar.file.model_copy(update={"bytes": int(size), "sha256": sha256, "audio_sha256": audio_sha256})
    if chunks is not None:
        file.chunks = list(chunks)
    return sidecar.model_copy(update={"file": FileInfo.model_validate(file.model_dump())})


def parse_sidecar(data: dict[str, Any] | Sidecar) -> Sidecar:
    """The model of a version-2 sidecar dict; raises pydantic's ``ValidationError``."""
    return data if isinstance(data, Sidecar) else Sidecar.model_validate(data)
