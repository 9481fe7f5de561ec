"""The one place that says which sidecar field goes to which chunk, and back (docs/metadata.md has the table).

``build_chunks(sidecar)`` gives the chunk bytes to embed, in file order: ``cue ``, ``LIST/adtl``,
``LIST/INFO``, ``bext``, ``iXML``, ``guan``. ``read_embedded(riff)`` parses what a WAV carries (ours or
another recorder's) and ``metadata_from_embedded(embedded)`` maps it into the model's metadata dict and
markers: the fieldrec iXML element when present (our own files round-trip exactly), else the standard
fields (bext Description key=value lines, iXML, GUANO, INFO, cue/labl).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

from fieldrec.metadata.sidecar import Sidecar
from fieldrec.storage.chunks import (
    FIELDREC_NS,
    IXML_VERSION,
    Bext,
    CuePoint,
    Embedded,
    adtl_pack,
    cue_pack,
    cue_parse,
    description_lines,
    guano_pack,
    guano_parse,
    info_pack,
    info_parse,
    ixml_pack,
    ixml_parse,
    ixml_values,
    sub,
)
from fieldrec.storage.riff import RiffFile, pack_chunk

#: Chunk ids fieldrec writes (LIST chunks by their type).
FIELDREC_CHUNKS = ("cue ", "LIST/adtl", "LIST/INFO", "bext", "iXML", "guan")

_BITS = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32}


def parse_start(text: str | None) -> datetime | None:
    """An ISO 8601 start time (``Z`` allowed), or None when missing or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _start_local(sc: Sidecar) -> datetime | None:
    return parse_start(sc.metadata.time.start_local or sc.recording.start_local)


def samples_since_midnight_at(start: datetime | None, samplerate: int) -> int:
    """Samples at ``samplerate`` from the local midnight of ``start``'s day to ``start`` (0 when unknown)."""
    if start is None:
        return 0
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return round((start - midnight).total_seconds() * samplerate)


def samples_since_midnight(sc: Sidecar) -> int:
    """bext TimeReference: samples from local midnight to the first frame (0 when the start is unknown);
    ``recording.time_reference`` when the sidecar states it (an exported segment does)."""
    if sc.recording.time_reference is not None:
        return sc.recording.time_reference
    return samples_since_midnight_at(_start_local(sc), sc.audio.samplerate)


def _extra(sc: Sidecar, key: str) -> dict[str, Any]:
    value = (sc.metadata.model_extra or {}).get(key)
    return value if isinstance(value, dict) else {}


def family_fields(sc: Sidecar) -> dict[str, Any] | None:
    """The split family a file belongs to (``metadata.field.family``, written by ``fieldrec.session``):
    ``id``, ``index`` (from 1), ``first_frame`` (of this file in the family), ``total`` once known; None
    for a file that is not in a family."""
    fam = _extra(sc, "field").get("family")
    return fam if isinstance(fam, dict) and fam.get("id") else None


def parent_fields(sc: Sidecar) -> dict[str, Any]:
    """What a derived file (an exported segment) was made from: ``metadata.derived_from`` (``source`` file
    name, ``parent_uid``), or {}."""
    return _extra(sc, "derived_from")


def _take_text(sc: Sidecar) -> str:
    return "" if sc.metadata.take is None else f"{sc.metadata.take:03d}"


def _channel_names(sc: Sidecar) -> list[tuple[int, str, str]]:
    out = []
    for index in range(1, sc.audio.channels + 1):
        ch = sc.metadata.equipment.channel(index)
        out.append((index, ch.name if ch else "", ch.function if ch else ""))
    return out


def build_bext(sc: Sidecar, version: str) -> Bext:
    m = sc.metadata
    lines: list[tuple[str, str]] = []
    for key, value in (("PROJECT", m.project), ("SCENE", m.scene), ("TAKE", _take_text(sc)),
                       ("CIRCLED", "TRUE" if m.circled else "")):
        if value:
            lines.append((key, value))
    for index, name, _function in _channel_names(sc):
        if name:
            lines.append((f"TRK{index}", name))
    if m.notes:
        lines.append(("NOTE", m.notes))
    start = _start_local(sc)
    a = sc.analysis
    mode = {1: "mono", 2: "stereo"}.get(sc.audio.channels, f"{sc.audio.channels}ch")
    device = sc.recording.device.name
    history = (f"A=PCM,F={sc.audio.samplerate},W={_BITS.get(sc.audio.subtype, 24)},M={mode},T=fieldrec {version}"
               + (f"; {device}" if device else ""))
    return Bext(
        description=description_lines(lines),
        originator="fieldrec",
        originator_reference=sc.recording.uid or "",
        origination_date=start.strftime("%Y-%m-%d") if start else "",
        origination_time=start.strftime("%H:%M:%S") if start else "",
        time_reference=samples_since_midnight(sc),
        loudness_value=a.integrated_lufs if a else None,
        loudness_range=a.loudness_range_lu if a else None,
        max_true_peak_level=a.true_peak_dbtp if a else None,
        max_momentary_loudness=a.momentary_max_lufs if a else None,
        max_short_term_loudness=a.short_term_max_lufs if a else None,
        coding_history=history,
    )


def build_ixml(sc: Sidecar, bext: Bext) -> bytes:
    m = sc.metadata
    root = ET.Element("BWFXML")
    sub(root, "IXML_VERSION", IXML_VERSION)
    sub(root, "PROJECT", m.project)
    sub(root, "SCENE", m.scene)
    sub(root, "TAKE", _take_text(sc))
    sub(root, "CIRCLED", "TRUE" if m.circled else "FALSE")
    sub(root, "NOTE", m.notes)
    sub(root, "FILE_UID", sc.recording.uid or "")
    # HISTORY, for the files of a split take and for derived files only: the name the file was made with (the
    # sidecar's file.name) and a derived file's parent. A plain take has none, so that the chunks of takes made
    # before HISTORY was written still equal what `fieldrec check` rebuilds from their sidecars.
    parent = parent_fields(sc)
    fam = family_fields(sc)
    if fam is not None or parent:
        history = sub(root, "HISTORY")
        sub(history, "ORIGINAL_FILENAME", sc.file.name)
        if parent.get("source"):
            sub(history, "PARENT_FILENAME", parent["source"])
        if parent.get("parent_uid"):
            sub(history, "PARENT_UID", parent["parent_uid"])
    if fam is not None:  # FILE_SET: the files of one split take; left out (not written blank) otherwise
        file_set = sub(root, "FILE_SET")
        if fam.get("total"):
            sub(file_set, "TOTAL_FILES", fam["total"])
        sub(file_set, "FAMILY_UID", str(fam["id"]))
        sub(file_set, "FILE_SET_INDEX", fam.get("index", ""))
    sub(root, "USER", "\n".join(f"{k}={v}" for k, v in (("RECORDIST", m.recordist), ("LICENCE", m.licence)) if v))
    speed = sub(root, "SPEED")
    sub(speed, "FILE_SAMPLE_RATE", sc.audio.samplerate)
    sub(speed, "AUDIO_BIT_DEPTH", _BITS.get(sc.audio.subtype, 24))
    ref = bext.time_reference
    sub(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI", ref >> 32)
    sub(speed, "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO", ref & 0xFFFFFFFF)
    sub(speed, "TIMESTAMP_SAMPLE_RATE", sc.audio.samplerate)
    tracks = sub(root, "TRACK_LIST")
    sub(tracks, "TRACK_COUNT", sc.audio.channels)
    for index, name, function in _channel_names(sc):
        track = sub(tracks, "TRACK")
        sub(track, "CHANNEL_INDEX", index)
        sub(track, "INTERLEAVE_INDEX", index)
        sub(track, "NAME", name)
        sub(track, "FUNCTION", function)
    loc = sub(root, "LOCATION")
    sub(loc, "LOCATION_NAME", m.location.name)
    if m.location.latitude is not None and m.location.longitude is not None:
        sub(loc, "LOCATION_GPS", f"{m.location.latitude:.7f}, {m.location.longitude:.7f}")
    if m.location.elevation_m is not None:
        sub(loc, "LOCATION_ALTITUDE", f"{m.location.elevation_m:g}")
    mirror = sub(root, "BEXT")
    sub(mirror, "BWF_DESCRIPTION", bext.description)
    sub(mirror, "BWF_ORIGINATOR", bext.originator)
    sub(mirror, "BWF_ORIGINATOR_REFERENCE", bext.originator_reference)
    sub(mirror, "BWF_ORIGINATION_DATE", bext.origination_date)
    sub(mirror, "BWF_ORIGINATION_TIME", bext.origination_time)
    sub(mirror, "BWF_TIME_REFERENCE_LOW", ref & 0xFFFFFFFF)
    sub(mirror, "BWF_TIME_REFERENCE_HIGH", ref >> 32)
    sub(mirror, "BWF_VERSION", bext.version)
    sub(mirror, "BWF_UMID", "0" * 128)
    sub(mirror, "BWF_CODING_HISTORY", bext.coding_history)
    ET.register_namespace("fieldrec", FIELDREC_NS)
    own = ET.SubElement(root, f"{{{FIELDREC_NS}}}FIELDREC")
    sub(own, f"{{{FIELDREC_NS}}}SCHEMA_VERSION", sc.schema_version)
    sub(own, f"{{{FIELDREC_NS}}}METADATA_JSON", json.dumps(sc.metadata.model_dump(mode="json"),
                                                           ensure_ascii=True, sort_keys=True))
    return ixml_pack(root)


#: Horizontal error radius at 68 % over the radius at 95 % for a circular normal error (Rayleigh:
#: sqrt(-2 ln 0.32) / sqrt(-2 ln 0.05) = 1.5096 / 2.4477).
R68_PER_R95 = 0.6167


def guano_accuracy_m(loc: Any) -> float | None:
    """GUANO's Loc Accuracy is a 68 % radius. A location that says it is at 95 % (``accuracy_confidence``,
    as gpsd reports) is converted, or its ``accuracy_68_m`` used; one that says nothing is written as given."""
    extra = getattr(loc, "model_extra", None) or {}
    if extra.get("accuracy_68_m") is not None:
        return float(extra["accuracy_68_m"])
    if loc.accuracy_m is not None and extra.get("accuracy_confidence") == 0.95:
        return round(loc.accuracy_m * R68_PER_R95, 2)
    return loc.accuracy_m


def build_guano(sc: Sidecar) -> bytes:
    m = sc.metadata
    loc = m.location
    e = m.environment
    start = m.time.start_local or sc.recording.start_local
    values: list[tuple[str, Any]] = [
        ("Timestamp", start),
        ("Loc Position", f"{loc.latitude:.7f} {loc.longitude:.7f}"
         if loc.latitude is not None and loc.longitude is not None else None),
        ("Loc Elevation", loc.elevation_m),
        ("Loc Accuracy", guano_accuracy_m(loc)),
        ("Make", m.equipment.make or None),
        ("Model", m.equipment.model or m.equipment.recorder or None),
        ("Serial", m.equipment.serial or None),
        ("Samplerate", sc.audio.samplerate),
        ("Length", f"{sc.audio.duration_s:.6f}"),
        ("Note", m.notes or None),
        ("Tags", ",".join(m.tags) or None),
        ("Original Filename", sc.file.name),
        ("Temperature Ext", e.temperature_c),
        ("Humidity", e.humidity_pct),
        ("Species Manual ID", ",".join(m.subject.labels) or None),
        ("fieldrec|Project", m.project or None),
        ("fieldrec|Session", m.session or None),
        ("fieldrec|Scene", m.scene or None),
        ("fieldrec|Take", m.take),
        ("fieldrec|Circled", "true" if m.circled else None),
        ("fieldrec|Recordist", m.recordist or None),
        ("fieldrec|Licence", m.licence or None),
        ("fieldrec|Location", loc.name or None),
        ("fieldrec|Microphone", m.equipment.microphone or None),
        ("fieldrec|UID", sc.recording.uid),
        ("fieldrec|Timezone", m.time.timezone),
    ]
    return guano_pack(values)


def build_info(sc: Sidecar, version: str) -> dict[str, str]:
    m = sc.metadata
    start = _start_local(sc)
    title = " ".join(x for x in (m.project, f"scene {m.scene}" if m.scene else "",
                                 f"take {_take_text(sc)}" if m.take else "") if x)
    return {
        "INAM": title or sc.file.name.rsplit(".", 1)[0],
        "ICMT": m.notes,
        "IART": m.recordist,
        "ICRD": start.strftime("%Y-%m-%d") if start else "",
        "ISFT": f"fieldrec {version}",
        "IKEY": "; ".join(m.tags),
        "ICOP": m.licence,
        "ISBJ": m.subject.text,
    }


def cue_points(sc: Sidecar) -> list[CuePoint]:
    """Markers as cue points (ids from 1); markers past 2^32 frames cannot be cued and are left out."""
    return [CuePoint(i, mk.frame, mk.label, mk.length_frames)
            for i, mk in enumerate(sc.markers, start=1) if mk.frame < 2**32]


def build_chunks(sc: Sidecar, version: str) -> list[tuple[str, bytes]]:
    """``[(name, chunk bytes incl. header and pad)]`` for every chunk fieldrec embeds, in file order."""
    bext = build_bext(sc, version)
    out = []
    points = cue_points(sc)
    if points:
        out.append(("cue ", cue_pack(points)))
        out.append(("LIST/adtl", adtl_pack(points)))
    out.append(("LIST/INFO", info_pack(build_info(sc, version))))
    out.append(("bext", pack_chunk(b"bext", bext.pack())))
    out.append(("iXML", pack_chunk(b"iXML", build_ixml(sc, bext))))
    out.append(("guan", pack_chunk(b"guan", build_guano(sc))))
    return out


# ------------------------------------------------------------------------------------------- reading
def read_embedded(riff: RiffFile) -> Embedded:
    """Parse every metadata chunk of ``riff``; a malformed chunk becomes a line in ``problems``."""
    out = Embedded(problems=list(riff.problems))
    cue_body = adtl_body = None
    for chunk in riff.chunks:
        if chunk.id == b"data":
            continue
        try:
            body = riff.read(chunk)
            if chunk.id == b"bext":
                out.bext = Bext.parse(body)
            elif chunk.id == b"iXML":
                out.ixml = ixml_parse(body)
            elif chunk.id == b"guan":
                out.guano = guano_parse(body)
            elif chunk.id == b"cue ":
                cue_body = body
            elif chunk.id == b"LIST" and body[:4] == b"adtl":
                adtl_body = body
            elif chunk.id == b"LIST" and body[:4] == b"INFO":
                out.info = info_parse(body)
        except (ValueError, UnicodeDecodeError) as exc:
            out.problems.append(f"{chunk.id.decode('latin-1')!r} chunk is malformed: {exc}")
    out.cues = cue_parse(cue_body, adtl_body)
    return out


def present_chunks(riff: RiffFile) -> list[str]:
    """Which of ``FIELDREC_CHUNKS`` the file has."""
    names = []
    for chunk in riff.chunks:
        name = chunk.id.decode("latin-1")
        if chunk.id == b"LIST":
            name = "LIST/" + riff.list_type(chunk).decode("latin-1")
        if name in FIELDREC_CHUNKS and name not in names:
            names.append(name)
    return names


def raw_values(e: Embedded) -> dict[str, Any]:
    """Every embedded value as read, verbatim, for ``sidecar.imported``."""
    out: dict[str, Any] = {}
    if e.bext is not None:
        b = e.bext
        out["bext"] = {"description": b.description, "originator": b.originator,
                       "originator_reference": b.originator_reference, "origination_date": b.origination_date,
                       "origination_time": b.origination_time, "time_reference": b.time_reference,
                       "version": b.version, "coding_history": b.coding_history,
                       "loudness_value": b.loudness_value, "loudness_range": b.loudness_range,
                       "max_true_peak_level": b.max_true_peak_level}
    if e.ixml is not None:
        values = ixml_values(e.ixml)
        out["ixml"] = values
    if e.guano is not None:
        out["guano"] = dict(e.guano)
    if e.info is not None:
        out["info"] = dict(e.info)
    if e.cues:
        out["cues"] = [{"id": c.id, "frame": c.frame, "label": c.label, "length": c.length} for c in e.cues]
    return out


def _float(text: Any) -> float | None:
    try:
        return float(str(text).strip().split()[0].replace(",", "."))
    except (ValueError, IndexError):
        return None


def _set(meta: dict[str, Any], path: str, value: Any) -> None:
    if value is None or value == "" or value == []:
        return
    *parents, last = path.split(".")
    node = meta
    for key in parents:
        node = node.setdefault(key, {})
    node.setdefault(last, value)


def bext_start(b: Bext, samplerate: int | None) -> datetime | None:
    """The local start time a bext chunk gives (no zone: BWF times are local): OriginationDate plus the
    TimeReference (samples since midnight) when the rate is known and it is set, else plus OriginationTime."""
    try:
        day = datetime.strptime(b.origination_date.strip(), "%Y-%m-%d")
    except ValueError:
        return None
    if b.time_reference and samplerate:
        return day + timedelta(microseconds=round(b.time_reference * 1_000_000 / samplerate))
    try:
        clock = datetime.strptime(b.origination_time.strip().replace("-", ":"), "%H:%M:%S")
    except ValueError:
        return day
    return day.replace(hour=clock.hour, minute=clock.minute, second=clock.second)


def metadata_from_embedded(e: Embedded, samplerate: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(metadata dict for the model, markers) from what a file carries.

    Priority: fieldrec's own iXML element (exact), then iXML, bext Description, GUANO, INFO; the first
    source that has a value wins. ``location.source`` is ``imported`` when a position was found.
    """
    meta: dict[str, Any] = {}
    ix: dict[str, Any] = {}
    if e.ixml is not None:
        own = e.ixml.find(f"{{{FIELDREC_NS}}}FIELDREC/{{{FIELDREC_NS}}}METADATA_JSON")
        if own is not None and own.text:
            try:
                meta = json.loads(own.text)
            except json.JSONDecodeError:
                meta = {}
        ix = ixml_values(e.ixml).get("BWFXML", {})
        if not isinstance(ix, dict):
            ix = {}
    desc = e.bext.description_fields() if e.bext is not None else {}
    g = e.guano or {}
    info = e.info or {}

    def pick(*values: Any) -> Any:
        return next((v for v in values if isinstance(v, str) and v.strip()), None)

    _set(meta, "project", pick(ix.get("PROJECT"), desc.get("PROJECT"), g.get("fieldrec|Project")))
    _set(meta, "scene", pick(ix.get("SCENE"), desc.get("SCENE"), g.get("fieldrec|Scene")))
    take = pick(ix.get("TAKE"), desc.get("TAKE"), g.get("fieldrec|Take"))
    if take and re.fullmatch(r"\d{1,5}", take.strip()) and int(take) >= 1:
        _set(meta, "take", int(take))
    circled = pick(ix.get("CIRCLED"), desc.get("CIRCLED"), g.get("fieldrec|Circled"))
    if circled:
        meta.setdefault("circled", circled.strip().upper() in ("TRUE", "1", "YES"))
    _set(meta, "notes", pick(ix.get("NOTE"), g.get("Note"), desc.get("NOTE"), info.get("ICMT")))
    user = ix.get("USER") if isinstance(ix.get("USER"), str) else ""
    user_fields = dict(line.split("=", 1) for line in user.splitlines() if "=" in line)
    _set(meta, "recordist", pick(user_fields.get("RECORDIST"), g.get("fieldrec|Recordist"), info.get("IART")))
    _set(meta, "licence", pick(user_fields.get("LICENCE"), g.get("fieldrec|Licence"), info.get("ICOP")))
    loc = ix.get("LOCATION") if isinstance(ix.get("LOCATION"), dict) else {}
    _set(meta, "location.name", pick(loc.get("LOCATION_NAME"), g.get("fieldrec|Location")))
    lat = lon = None
    gps = pick(loc.get("LOCATION_GPS"))
    if gps:
        parts = re.split(r"[,\s]+", gps.strip())
        if len(parts) >= 2:
            lat, lon = _float(parts[0]), _float(parts[1])
    if lat is None and g.get("Loc Position"):
        parts = re.split(r"[,\s]+", g["Loc Position"].strip())
        if len(parts) >= 2:
            lat, lon = _float(parts[0]), _float(parts[1])
    if lat is not None and lon is not None:
        _set(meta, "location.latitude", lat)
        _set(meta, "location.longitude", lon)
    elevation = _float(loc.get("LOCATION_ALTITUDE")) if pick(loc.get("LOCATION_ALTITUDE")) else None
    if elevation is None and g.get("Loc Elevation"):
        elevation = _float(g["Loc Elevation"])
    _set(meta, "location.elevation_m", elevation)
    if g.get("Loc Accuracy"):
        _set(meta, "location.accuracy_m", _float(g["Loc Accuracy"]))
    if (lat is not None or elevation is not None) and "source" not in meta.get("location", {}):
        meta.setdefault("location", {})["source"] = "imported"
    _set(meta, "equipment.make", pick(g.get("Make")))
    _set(meta, "equipment.model", pick(g.get("Model")))
    _set(meta, "equipment.serial", pick(g.get("Serial")))
    _set(meta, "equipment.microphone", pick(g.get("fieldrec|Microphone")))
    if g.get("Temperature Ext"):
        _set(meta, "environment.temperature_c", _float(g["Temperature Ext"]))
    if g.get("Humidity"):
        _set(meta, "environment.humidity_pct", _float(g["Humidity"]))
    tags = pick(g.get("Tags"))
    if tags:
        meta.setdefault("tags", [t.strip() for t in tags.split(",") if t.strip()])
    elif info.get("IKEY"):
        meta.setdefault("tags", [t.strip() for t in info["IKEY"].split(";") if t.strip()])
    species = pick(g.get("Species Manual ID"))
    if species:
        meta.setdefault("subject", {}).setdefault("labels", [t.strip() for t in species.split(",") if t.strip()])
    if g.get("Timestamp") and not meta.get("time", {}).get("start_local"):
        meta.setdefault("time", {})["start_local"] = g["Timestamp"]
    if e.bext is not None and not meta.get("time", {}).get("start_local"):
        start = bext_start(e.bext, samplerate)
        if start is not None:
            meta.setdefault("time", {})["start_local"] = start.isoformat()
    if g.get("fieldrec|Timezone"):
        meta.setdefault("time", {}).setdefault("timezone", g["fieldrec|Timezone"])
    # channel names: iXML TRACK_LIST, else bext sTRKn
    tracks = ix.get("TRACK_LIST", {}).get("TRACK") if isinstance(ix.get("TRACK_LIST"), dict) else None
    if isinstance(tracks, dict):
        tracks = [tracks]
    channels: list[dict[str, Any]] = []
    for t in tracks or []:
        if not isinstance(t, dict):
            continue
        idx = t.get("CHANNEL_INDEX") or t.get("INTERLEAVE_INDEX")
        if isinstance(idx, str) and idx.strip().isdigit() and (t.get("NAME") or t.get("FUNCTION")):
            channels.append({"index": int(idx), "name": t.get("NAME") or "", "function": t.get("FUNCTION") or ""})
    if not channels:
        for key, value in desc.items():
            m = re.fullmatch(r"TRK(\d+)", key)
            if m and value:
                channels.append({"index": int(m.group(1)), "name": value})
    if channels and not meta.get("equipment", {}).get("channels"):
        meta.setdefault("equipment", {})["channels"] = channels
    markers = []
    for c in e.cues:
        frame = c.frame
        markers.append({"frame": frame, "time_s": frame / samplerate if samplerate else 0.0,
                        "label": c.label, "length_frames": c.length})
    return meta, markers
