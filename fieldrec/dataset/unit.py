"""The per-take unit of work: a pure function of (source, parameters) that any executor can run.

``export_take(job)`` hashes the source, looks for a journal entry with the same fingerprint (and checks
the outputs it lists against their SHA-256), and otherwise converts, segments and measures the take,
writing each output under a temporary name and renaming it into place (``os.replace``), then its sidecar
and features, then the journal entry. A source that cannot be read gives a result with ``status``
"failed" and a one-line ``message``; nothing raises for bad input. Returns plain dicts (picklable, JSON).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from fieldrec import __version__
from fieldrec.dataset import convert as cv
from fieldrec.dataset import segment as sg
from fieldrec.dataset.coordinates import metadata_with_policy
from fieldrec.dataset.features import (
    FeatureParams,
    compute_features,
    params_from_dict,
    split_features,
    write_npz,
)
from fieldrec.dataset.fingerprint import FingerprintAccumulator
from fieldrec.dataset.journal import fingerprint, read_entry, write_entry
from fieldrec.dataset.params import ConvertParams, FeatureChoice, SegmentParams
from fieldrec.dataset.records import OutputRecord, Segment, TakeRecord
from fieldrec.metadata.sidecar import Sidecar, iso_utc, set_file_hashes
from fieldrec.storage.chunk_map import build_chunks, parse_start, samples_since_midnight_at
from fieldrec.storage.embed import embed_in_place
from fieldrec.storage.hashing import sha256_file
from fieldrec.storage.reader import AudioFileError
from fieldrec.storage.riff import hash_wav

#: features are computed for outputs up to this long (seconds); longer ones get none (memory stays bounded)
MAX_FEATURE_SECONDS = 600.0


@dataclass(frozen=True)
class TakeJob:
    """Everything one take's export needs; ``split``/``group``/``label`` only place and tag its outputs."""

    take: TakeRecord
    out_dir: str
    base_name: str
    split: str
    group: str
    label: str
    convert: ConvertParams
    segment: SegmentParams
    features: FeatureChoice = field(default_factory=FeatureChoice)
    coordinates: str = "keep"

    def work_parts(self, source_sha256: str) -> dict[str, Any]:
        """What the journal fingerprints (everything that changes an output byte)."""
        return {
            "source_sha256": source_sha256,
            "sidecar": self.take.sidecar,
            "base_name": self.base_name,
            "convert": self.convert.to_dict(),
            "segment": self.segment.to_dict(),
            "features": self.features.to_dict(),
            "coordinates": self.coordinates,
            "fieldrec": __version__,
            "outputs": "sidecar-2+chunks",  # what an output file holds (older journals' outputs had no chunks)
        }


def _result(job: TakeJob, status: str, message: str = "", sha: str = "", key: str = "",
            audio_fp: str = "", outputs: list[OutputRecord] | None = None) -> dict[str, Any]:
    return {"take_id": job.take.take_id, "source_path": job.take.audio_path, "status": status,
            "message": message, "source_sha256": sha, "journal_key": key, "audio_fingerprint": audio_fp,
            "outputs": [o.to_dict() for o in outputs or []]}


def export_take(job: TakeJob) -> dict[str, Any]:
    """Export one take (see the module docstring). ``status``: done, cached, empty (no segments) or failed."""
    take = job.take
    out_dir = Path(job.out_dir)
    sha = sha256_file(take.audio_path)  # an OSError here fails this take in the pipeline, not the export
    declared = (take.sidecar.get("file") or {}).get("sha256")
    if declared and declared != sha:
        return _result(job, "failed", f"{Path(take.audio_path).name}: the audio does not match the SHA-256 in "
                                      "its sidecar (changed or damaged since it was recorded)", sha)
    problem = cv.check_params(take, job.convert)
    if problem:
        return _result(job, "failed", f"{Path(take.audio_path).name}: {problem}", sha)
    key = fingerprint(job.work_parts(sha))
    cached = _from_journal(job, out_dir, key)
    if cached is not None:
        return cached
    try:
        audio_fp, outputs = _convert_take(job, sha, out_dir)
    except (AudioFileError, sg.SegmentError) as err:
        return _result(job, "failed", str(err), sha, key)
    status = "done" if outputs else "empty"
    message = "" if outputs else f"{Path(take.audio_path).name}: no segments ({job.segment.rule})"
    result = _result(job, status, message, sha, key, audio_fp, outputs)
    write_entry(out_dir, key, result)
    return result


# ----------------------------------------------------------------------------- resume
def _from_journal(job: TakeJob, out_dir: Path, key: str) -> dict[str, Any] | None:
    entry = read_entry(out_dir, key)
    if entry is None or entry.get("status") not in ("done", "empty"):
        return None
    try:
        outputs = [OutputRecord.from_dict(o) for o in entry["outputs"]]
    except (KeyError, TypeError):
        return None
    placed = []
    for o in outputs:
        if not (out_dir / o.sidecar_path).is_file():
            return None
        files = [(o.path, o.sha256)] + ([(o.features_path, o.features_sha256)] if o.features_path else [])
        for rel, digest in files:
            old = out_dir / rel
            if not old.is_file() or sha256_file(old) != digest:
                return None
        new = o.moved_to(job.split) if o.split != job.split else o
        for old_rel, new_rel in ((o.path, new.path), (o.features_path, new.features_path),
                                 (o.sidecar_path, new.sidecar_path)):
            if old_rel and old_rel != new_rel and (out_dir / old_rel).exists():
                (out_dir / new_rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(out_dir / old_rel, out_dir / new_rel)
        placed.append(new)
    placed = [_retag(o, job) for o in placed]
    result = dict(entry, status="cached", outputs=[o.to_dict() for o in placed])
    if placed != outputs:
        write_entry(out_dir, key, dict(entry, outputs=[o.to_dict() for o in placed]))
    return result


def _retag(o: OutputRecord, job: TakeJob) -> OutputRecord:
    from dataclasses import replace
    return replace(o, group=job.group, label=job.label)


# ----------------------------------------------------------------------------- the work
@dataclass
class _Out:
    """One output being written."""

    ordinal: int
    channel: int | None  # 0-based column of the converted stream, None = all
    final: Path
    tmp: Path
    file: Any
    quant: cv.Quantiser
    keep: list[np.ndarray] | None
    frames: int = 0


@dataclass
class _Open:
    index: int
    span: sg.Span
    outs: list[_Out]


def _convert_take(job: TakeJob, sha: str, out_dir: Path) -> tuple[str, list[OutputRecord]]:
    take, cp = job.take, job.convert
    rate = cv.output_rate(take, cp)
    nch = cv.output_channels(take, cp)
    gain, gain_rec = cv.normalisation_gain(take, cp)
    dither = cv.will_dither(take, cp)
    feature_params = params_from_dict(job.features.params) if job.features.params else FeatureParams()
    want_features = bool(job.features.names)
    per_output = [None] if cp.channels != "split" else list(range(nch))
    split_dir = out_dir / job.split
    split_dir.mkdir(parents=True, exist_ok=True)
    ext = ".flac" if cp.container == "flac" else ".wav"
    plan = sg.plan(take, rate, job.segment)
    nxt = next(plan, None)
    opened: list[_Open] = []
    finished: list[tuple[_Open, int]] = []  # (segment, frames)
    fp = FingerprintAccumulator(rate)
    seg_index = 0
    pos = 0
    max_keep = int(MAX_FEATURE_SECONDS * rate)

    def name_for(index: int, channel: int | None) -> str:
        stem = job.base_name if job.segment.mode == "whole" else f"{job.base_name}_{index:04d}"
        if channel is not None:
            stem += f"_ch{channel + 1}"
        return stem + ext

    def open_segment(span: sg.Span, index: int) -> _Open:
        outs = []
        for c in per_output:
            final = split_dir / name_for(index, c)
            tmp = cv.temp_path(final)
            ordinal = index * len(per_output) + (c or 0)
            f = cv.open_output(tmp, rate, 1 if c is not None else nch, cp)
            want = want_features and (span.end is None or span.end - span.start <= max_keep)
            outs.append(_Out(ordinal, c, final, tmp, f, cv.Quantiser(cp.subtype, dither, cv.dither_seed(sha, ordinal)),
                             [] if want else None))
        return _Open(index, span, outs)

    def write(seg: _Open, x: np.ndarray) -> None:
        for o in seg.outs:
            part = x if o.channel is None else x[:, o.channel : o.channel + 1]
            q = o.quant(part)
            o.file.write(q)
            o.frames += len(q)
            if o.keep is not None:
                if o.frames <= max_keep:
                    o.keep.append(o.quant.to_float(q))
                else:
                    o.keep = None

    def discard(seg: _Open) -> None:
        for o in seg.outs:
            o.file.close()
            o.tmp.unlink(missing_ok=True)

    try:
        for block in cv.converted_blocks(take, cp, gain):
            fp.process(block)
            end = pos + len(block)
            while nxt is not None and nxt.start < end:
                if nxt.end is None or nxt.end > nxt.start:
                    opened.append(open_segment(nxt, seg_index))
                    seg_index += 1
                nxt = next(plan, None)
            still = []
            for seg in opened:
                a = max(seg.span.start, pos) - pos
                b = (len(block) if seg.span.end is None else min(seg.span.end, end) - pos)
                if b > a:
                    write(seg, block[a:b])
                if seg.span.end is not None and seg.span.end <= end:
                    finished.append((seg, seg.span.end - seg.span.start))
                else:
                    still.append(seg)
            opened = still
            pos = end
        # the stream has ended at `pos`: the open spans are partial
        first_partial = True
        for seg in opened:
            length = pos - seg.span.start
            if seg.span.end is None or job.segment.mode in ("markers", "events"):
                finished.append((seg, length))
            elif first_partial and job.segment.last == "keep" and length > 0:
                finished.append((seg, length))
                first_partial = False
            elif first_partial and job.segment.last == "pad" and length > 0:
                pad = seg.span.end - pos
                write(seg, np.zeros((pad, nch), dtype=np.float32))
                finished.append((seg, seg.span.end - seg.span.start))
                first_partial = False
            else:
                first_partial = False
                discard(seg)
        opened = []
    except BaseException:
        for seg in opened + [s for s, _ in finished]:
            for o in seg.outs:
                if not o.file.closed:
                    o.file.close()
                o.tmp.unlink(missing_ok=True)
        raise
    finished.sort(key=lambda sf: sf[0].index)
    outputs = []
    for seg, frames in finished:
        seg_rec = _segment_record(take, rate, seg, frames, pos, job.segment)
        for o in seg.outs:
            outputs.append(_finish_output(job, sha, out_dir, seg_rec, o, rate, gain_rec, dither, feature_params))
    return fp.hex(), outputs


def _segment_record(take: TakeRecord, rate: int, seg: _Open, frames: int, total: int,
                    p: SegmentParams) -> Segment:
    real = max(0, min(frames, total - seg.span.start))
    first, last = sg.source_frames(take, rate, seg.span.start, max(1, real))
    return Segment(index=seg.index, out_start=seg.span.start, out_frames=frames, first_source_frame=first,
                   last_source_frame=last, rule=p.rule, label=seg.span.label, padded_frames=frames - real)


def _finish_output(job: TakeJob, sha: str, out_dir: Path, seg: Segment, o: _Out, rate: int,
                   gain_rec: dict[str, Any] | None, dither: bool, fparams: FeatureParams) -> OutputRecord:
    take, cp = job.take, job.convert
    o.file.close()
    rel = o.final.relative_to(out_dir).as_posix()
    channels = 1 if o.channel is not None else cv.output_channels(take, cp)
    conversion = {
        "resampler": None if rate == take.samplerate else {"library": "soxr", "quality": cp.quality,
                                                            "from_hz": take.samplerate, "to_hz": rate},
        "channels": cp.channels if not isinstance(cp.channels, int) else f"channel {cp.channels}",
        "source_channel": (o.channel + 1) if o.channel is not None else None,
        "normalize": gain_rec,
        "dither": "tpdf_1lsb" if o.quant.dither else None,
        "dither_seed": cv.dither_seed(sha, o.ordinal) if o.quant.dither else None,
        "quantisation": {"PCM_16": "round to 16 bit", "PCM_24": "round to 24 bit"}.get(cp.subtype, "float32"),
        "clipped_samples": o.quant.clipped,
        "from": {"container": take.container, "subtype": take.subtype, "samplerate": take.samplerate,
                 "channels": take.channels},
    }
    # the output's sidecar first: its chunks are built from it (WAV), then the file is final and hashed
    side = output_sidecar(job, seg, o.final.name, rate, channels, cp, sha, conversion)
    chunks: list[str] = []
    if cp.container == "wav":
        chunks = list(embed_in_place(o.tmp, build_chunks(side, __version__), hash=False, durable=False).chunks)
    os.replace(o.tmp, o.final)
    if cp.container == "wav":
        digest, audio_digest = hash_wav(o.final)
    else:  # FLAC: no chunks (see docs/dataset.md); the decoded-sample hash is left out (it would decode again)
        digest, audio_digest = sha256_file(o.final), None
    side = set_file_hashes(side, size=o.final.stat().st_size, sha256=digest, audio_sha256=audio_digest,
                           chunks=chunks)
    features_rel = features_sha = None
    scalars: dict[str, Any] = {}
    if job.features.names and o.keep is not None:
        x = np.concatenate(o.keep) if o.keep else np.zeros((0, channels), dtype=np.float32)
        mono = (x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)) if x.ndim == 2 else x
        arrays, scalars = split_features(compute_features(mono, rate, job.features.names, fparams))
        npz = out_dir / "features" / job.split / (o.final.stem + ".npz")
        npz.parent.mkdir(parents=True, exist_ok=True)
        tmp = cv.temp_path(npz)
        features_sha = write_npz(tmp, arrays)
        os.replace(tmp, npz)
        features_rel = npz.relative_to(out_dir).as_posix()
    elif job.features.names:
        scalars = {"note": f"no features: longer than {MAX_FEATURE_SECONDS:g} s"}
    record = OutputRecord(
        path=rel, sha256=digest, bytes=o.final.stat().st_size, split=job.split, take_id=take.take_id,
        group=job.group, label=seg.label or job.label, source_path=take.audio_path, source_sha256=sha,
        segment=seg, channel=(o.channel + 1) if o.channel is not None else
        (cp.channels if isinstance(cp.channels, int) else None),
        samplerate=rate, channels=channels, container=cp.container, subtype=cp.subtype, frames=seg.out_frames,
        conversion=conversion, features_path=features_rel, features_sha256=features_sha, scalars=scalars,
    )
    write_output_sidecar(out_dir / record.sidecar_path, side)
    return record


def _shift(text: str | None, seconds: float, utc: bool = False) -> str | None:
    """An ISO time ``seconds`` later (naive times stay naive), or None when there is none."""
    start = parse_start(text)
    if start is None:
        return None
    moved = start + timedelta(seconds=seconds)
    return iso_utc(moved) if utc and moved.tzinfo else moved.isoformat()


def _scaled(frames: int, num: int, den: int) -> int:
    """``frames * num / den`` rounded half up, in integers (frames at another rate)."""
    return (2 * frames * num + den) // (2 * den)


def output_uid(source_sha256: str, name: str, seg: Segment, conversion: dict[str, Any]) -> str:
    """A file id (iXML FILE_UID, bext OriginatorReference) for an exported file that is the same on every
    rerun: a hash of the source, the output's name (not its split folder) and what was done to it."""
    text = json.dumps([source_sha256, name, seg.first_source_frame, seg.last_source_frame, conversion],
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32].upper()


def _recording(take: TakeRecord, seg: Segment, rate: int, frames: int, uid: str) -> dict[str, Any]:
    """The source's recording block moved to the segment: its start and end, time reference (bext),
    id, and the overflow events inside the segment at the output rate."""
    rec = copy.deepcopy(take.recording) or {}
    src_rate = take.samplerate
    offset = seg.first_source_frame / src_rate
    start_text = take.metadata.get("time", {}).get("start_local") or rec.get("start_local")
    src_ref = rec.get("time_reference")
    if not isinstance(src_ref, int):
        src_ref = samples_since_midnight_at(parse_start(start_text), src_rate)
    day = 86400 * rate
    rec["time_reference"] = _scaled(src_ref + seg.first_source_frame, rate, src_rate) % day
    rec["uid"] = uid
    for key in ("start_utc", "start_local"):
        rec[key] = _shift(rec.get(key), offset, utc=key.endswith("utc"))
    if rec.get("start_utc") or rec.get("start_local"):
        end = offset + frames / rate
        rec["end_utc"] = _shift(take.recording.get("start_utc"), end, utc=True)
        rec["end_local"] = _shift(take.recording.get("start_local"), end)
    events = []
    for ev in rec.get("overflows") or []:
        f = int(ev.get("frame", 0))
        if seg.first_source_frame <= f <= seg.last_source_frame:
            frame = _scaled(f - seg.first_source_frame, rate, src_rate)
            lost = ev.get("frames_lost")
            events.append({**ev, "frame": frame, "time_s": frame / rate,
                           "frames_lost": None if lost is None else _scaled(int(lost), rate, src_rate)})
    rec["overflows"] = events
    rec["overflow_summary"] = {"events": len(events),
                               "frames_lost": sum(e["frames_lost"] or 0 for e in events),
                               "unknown_loss_events": sum(1 for e in events if e["frames_lost"] is None),
                               "events_truncated": bool((take.recording.get("overflow_summary") or {})
                                                        .get("events_truncated"))}
    rec.setdefault("state", "complete")
    if rec["state"] == "complete" and not rec.get("stop_reason"):
        rec["stop_reason"] = "imported"
    return rec


def _channel_map(equipment: Any, source_channel: int | None, mixed: bool) -> Any:
    """The channel map of an output: a chosen source channel (``--channels split`` or ``N``) becomes channel 1
    with its name; a mono mix of several channels has none (its one channel is no source channel); kept
    channels keep theirs."""
    if not isinstance(equipment, dict) or not equipment.get("channels"):
        return equipment
    out = dict(equipment)
    if source_channel is not None:
        out["channels"] = [{**c, "index": 1} for c in equipment["channels"] if c.get("index") == source_channel]
    elif mixed:
        out["channels"] = []
    return out


def output_sidecar(job: TakeJob, seg: Segment, name: str, rate: int, channels: int, cp: ConvertParams,
                   source_sha256: str, conversion: dict[str, Any]) -> Sidecar:
    """The output's own sidecar (the current schema), before its file is hashed: the source's metadata
    (coordinates under ``--coordinates``) and recording block moved to the segment (start, end, bext time
    reference, overflows), the markers inside the segment (shifted, at the output rate), and
    ``metadata.derived_from`` with the provenance (source name, SHA-256 and id, first and last source
    frame, the segment rule and the conversion). Nothing in it depends on the time of the export."""
    take = job.take
    frames = seg.out_frames
    markers = []
    for m in take.markers:
        f = int(m.get("frame", 0))
        if seg.first_source_frame <= f <= seg.last_source_frame:
            frame = int(round(f * rate / take.samplerate)) - seg.out_start
            if 0 <= frame < frames:
                markers.append({"frame": frame, "time_s": frame / rate, "label": str(m.get("label", ""))})
    meta = metadata_with_policy(take.metadata, job.coordinates)
    meta["equipment"] = _channel_map(meta.get("equipment"), conversion.get("source_channel")
                                     or (cp.channels if isinstance(cp.channels, int) else None),
                                     cp.channels == "mono" and take.channels > 1)
    offset = seg.first_source_frame / take.samplerate
    time = dict(meta.get("time") or {})
    for key in ("start_utc", "start_local"):
        time[key] = _shift(time.get(key), offset, utc=key.endswith("utc"))
    meta["time"] = time
    field_info = dict(meta.get("field") or {}) if isinstance(meta.get("field"), dict) else None
    family = field_info.pop("family", None) if field_info is not None else None
    if field_info is not None:  # an output is not a member of its source's split family (no iXML FILE_SET)
        meta["field"] = field_info
    meta["derived_from"] = {
        "source": Path(take.audio_path).name, "source_sha256": source_sha256,
        "parent_uid": take.recording.get("uid"), **({"source_family": family} if family else {}),
        "first_source_frame": seg.first_source_frame, "last_source_frame": seg.last_source_frame,
        "segment_rule": seg.rule, "conversion": conversion,
    }
    uid = output_uid(source_sha256, name, seg, conversion)
    return Sidecar.model_validate({
        "file": {"name": name},
        "audio": {"samplerate": rate, "channels": channels, "container": cp.container, "subtype": cp.subtype,
                  "frames": frames, "duration_s": frames / rate},
        "recording": _recording(take, seg, rate, frames, uid),
        "metadata": meta,
        "markers": markers,
        "analysis": None,
    })


def write_output_sidecar(path: Path, side: Sidecar) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = cv.temp_path(path)
    tmp.write_text(json.dumps(side.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
