"""Layout: the files around the audio that tools already read.

* ``<split>/metadata.csv`` per split folder (Hugging Face ``audiofolder``): ``file_name`` first, then the
  metadata columns; times as ISO 8601 strings;
* ``README.md``: the data card, with a YAML ``configs:`` block naming each split's files so split inference
  never depends on words in file names (a take called ``mic_test_01`` stays where its split put it);
* ``manifest.json``: provenance of every output (path and SHA-256, source path and SHA-256, frames,
  every parameter, software versions, the export time: the only time stamp anywhere in the dataset);
* ``outputs.jsonl``: the output records, one JSON line each (the manifest as data, Lhotse-style);
* ``metadata.json``: a Croissant 1.0 description (sha256 per file, ``samplingRate``) that
  ``mlcroissant validate --jsonld`` accepts;
* ``rejected.csv``: every source left out and why; ``features.csv`` (and ``features.parquet`` when pyarrow
  is installed): one row of scalar features per output, the arrays in ``features/<split>/<name>.npz``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
from collections import Counter, defaultdict
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from fieldrec import __version__
from fieldrec.dataset.coordinates import apply_policy
from fieldrec.dataset.records import OutputRecord, TakeRecord, to_json_line
from fieldrec.dataset.select import Reject
from fieldrec.storage.hashing import sha256_file

MIME = {"wav": "audio/wav", "flac": "audio/flac"}
OWNED_DIRS = ("features", "sidecars")


def _atomic_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def software_versions() -> dict[str, str]:
    out = {"fieldrec": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "soundfile", "soxr"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    import soundfile
    out["libsndfile"] = soundfile.__libsndfile_version__
    return out


METADATA_COLUMNS = ["file_name", "take", "group", "label", "split", "duration_s", "start_s", "source_first_frame",
                    "source_last_frame", "samplerate", "channels", "channel", "recorded_utc", "recorded_local",
                    "location", "latitude", "longitude", "recorder", "microphone", "tags", "notes", "source_file",
                    "sha256"]


def metadata_row(o: OutputRecord, take: TakeRecord, coordinates: str) -> list[Any]:
    meta, rec = take.metadata, take.recording
    loc, eq = meta.get("location") or {}, meta.get("equipment") or {}
    return [
        Path(o.path).name, o.take_id, o.group, o.label, o.split, f"{o.duration_s:.6f}",
        f"{o.segment.out_start / o.samplerate:.6f}", o.segment.first_source_frame, o.segment.last_source_frame,
        o.samplerate, o.channels, o.channel, rec.get("start_utc"), rec.get("start_local"), loc.get("name"),
        apply_policy(loc.get("latitude"), coordinates), apply_policy(loc.get("longitude"), coordinates),
        eq.get("recorder") or (rec.get("device") or {}).get("name"), eq.get("microphone"),
        ";".join(meta.get("tags") or []), meta.get("notes"), Path(o.source_path).name, o.sha256,
    ]


def remove_stale(out_dir: Path, split_names: tuple[str, ...], keep: set[str]) -> list[str]:
    """Delete files in the split and features folders that are not outputs of this export (older runs with
    other parameters, temporary files of a killed run). Returns the removed relative paths."""
    removed = []
    roots = [out_dir / s for s in ("train", "validation", "test", *split_names)] + [out_dir / d for d in OWNED_DIRS]
    for root in dict.fromkeys(roots):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                rel = path.relative_to(out_dir).as_posix()
                if rel not in keep:
                    path.unlink()
                    removed.append(rel)
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
            if not any(d.iterdir()):
                d.rmdir()
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
    return removed


def expected_files(outputs: list[OutputRecord]) -> set[str]:
    keep = set()
    for o in outputs:
        keep.add(o.path)
        keep.add(o.sidecar_path)
        if o.features_path:
            keep.add(o.features_path)
    for split in {o.split for o in outputs}:
        keep.add(f"{split}/metadata.csv")
    return keep


def write_layout(out_dir: Path, outputs: list[OutputRecord], takes: dict[str, TakeRecord], rejects: list[Reject],
                 params: dict[str, Any], split_report: dict[str, Any], audit: dict[str, Any],
                 split_names: tuple[str, ...], coordinates: str, name: str) -> dict[str, str]:
    """Write every layout file (see the module docstring); returns {relative path: sha256} of them."""
    outputs = sorted(outputs, key=lambda o: o.path)
    written: dict[str, str] = {}
    splits = [s for s in split_names if any(o.split == s for o in outputs)]
    for split in splits:
        rows = [metadata_row(o, takes[o.source_path], coordinates) for o in outputs if o.split == split]
        path = out_dir / split / "metadata.csv"
        _atomic_text(path, _csv_text(METADATA_COLUMNS, rows))
        written[f"{split}/metadata.csv"] = sha256_file(path)
    # reject ledger
    _atomic_text(out_dir / "rejected.csv", _csv_text(["source", "reason"], [[r.source, r.reason] for r in rejects]))
    # features table
    feature_cols = sorted({k for o in outputs for k in o.scalars})
    if any(o.features_path for o in outputs) or feature_cols:
        header = ["file_name", "split", "take", "label", "features_file", *feature_cols]
        rows = [[o.path, o.split, o.take_id, o.label, o.features_path, *[o.scalars.get(k) for k in feature_cols]]
                for o in outputs]
        _atomic_text(out_dir / "features.csv", _csv_text(header, rows))
        _write_parquet(out_dir / "features.parquet", header, rows)
    # records, Croissant, data card
    _atomic_text(out_dir / "outputs.jsonl", "".join(to_json_line(o) + "\n" for o in outputs))
    _atomic_text(out_dir / "metadata.json", json.dumps(croissant(out_dir, outputs, splits, written, name, params),
                                                     indent=1, ensure_ascii=False) + "\n")
    _atomic_text(out_dir / "README.md", data_card(outputs, takes, splits, split_report, audit, params,
                                                  coordinates, name))
    for rel in ("rejected.csv", "outputs.jsonl", "metadata.json", "README.md", "features.csv", "features.parquet"):
        if (out_dir / rel).exists():
            written[rel] = sha256_file(out_dir / rel)
    # the manifest: the one file with the export time
    manifest = {
        "name": name,
        "export_time_utc": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "software": software_versions(),
        "parameters": params,
        "splits": split_report,
        "leak_audit": audit,
        "files": written,
        "outputs": [dict(o.to_dict(), source_path=o.source_path) for o in outputs],
        "rejected": [r.to_dict() for r in rejects],
    }
    _atomic_text(out_dir / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    return written


def _write_parquet(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return  # Parquet is optional: pip install 'fieldrec[parquet]'
    columns = {h: [r[i] for r in rows] for i, h in enumerate(header)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(pa.table(columns), tmp)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- Croissant
def _context() -> dict[str, Any]:
    return {
        "@language": "en", "@vocab": "https://schema.org/", "citeAs": "cr:citeAs", "column": "cr:column",
        "conformsTo": "dct:conformsTo", "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/", "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"}, "dct": "http://purl.org/dc/terms/",
        "equivalentProperty": "cr:equivalentProperty", "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract", "field": "cr:field", "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject", "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes",
        "isLiveDataset": "cr:isLiveDataset", "jsonPath": "cr:jsonPath", "key": "cr:key", "md5": "cr:md5",
        "parentField": "cr:parentField", "path": "cr:path", "recordSet": "cr:recordSet",
        "references": "cr:references", "regex": "cr:regex", "repeated": "cr:repeated", "replace": "cr:replace",
        "samplingRate": "cr:samplingRate", "sc": "https://schema.org/", "separator": "cr:separator",
        "source": "cr:source", "subField": "cr:subField", "transform": "cr:transform",
    }


def croissant(out_dir: Path, outputs: list[OutputRecord], splits: list[str], written: dict[str, str], name: str,
              params: dict[str, Any]) -> dict[str, Any]:
    """The Croissant 1.0 JSON-LD: a FileObject (with sha256) per metadata.csv and per audio file, a FileSet
    per split, and per split two record sets: the audio files (with ``samplingRate``) and the metadata rows."""
    rates = sorted({o.samplerate for o in outputs})
    days = sorted(d for d in params.get("recorded_days", []) if d)
    distribution: list[dict[str, Any]] = []
    record_sets: list[dict[str, Any]] = []
    for split in splits:
        mine = [o for o in outputs if o.split == split]
        containers = sorted({o.container for o in mine})
        csv_id = f"{split}/metadata.csv"
        distribution.append({"@type": "cr:FileObject", "@id": csv_id, "name": csv_id, "contentUrl": csv_id,
                             "encodingFormat": "text/csv", "sha256": written[csv_id]})
        for o in mine:
            distribution.append({"@type": "cr:FileObject", "@id": o.path, "name": o.path, "contentUrl": o.path,
                                 "encodingFormat": MIME[o.container], "sha256": o.sha256})
        for c in containers:
            distribution.append({"@type": "cr:FileSet", "@id": f"{split}-{c}", "name": f"{split}-{c}",
                                 "encodingFormat": MIME[c], "includes": f"{split}/*.{c}"})
        audio_fields = []
        for c in containers:
            source: dict[str, Any] = {"fileSet": {"@id": f"{split}-{c}"}, "extract": {"fileProperty": "content"}}
            if len(rates) == 1:
                source["samplingRate"] = rates[0]
            audio_fields.append({"@type": "cr:Field", "@id": f"{split}_audio/{c}", "name": f"{split}_audio/{c}",
                                 "description": f"{c.upper()} audio at {', '.join(map(str, rates))} Hz",
                                 "dataType": "sc:AudioObject", "source": source})
            audio_fields.append({"@type": "cr:Field", "@id": f"{split}_audio/{c}_filename",
                                 "name": f"{split}_audio/{c}_filename", "dataType": "sc:Text",
                                 "source": {"fileSet": {"@id": f"{split}-{c}"}, "extract": {"fileProperty": "filename"}}})
        record_sets.append({"@type": "cr:RecordSet", "@id": f"{split}_audio", "name": f"{split}_audio",
                            "description": f"the {split} split's audio files", "field": audio_fields})
        cols = [("file_name", "sc:Text"), ("take", "sc:Text"), ("label", "sc:Text"), ("duration_s", "sc:Float"),
                ("start_s", "sc:Float"), ("samplerate", "sc:Integer"), ("recorded_utc", "sc:Text"),
                ("location", "sc:Text"), ("sha256", "sc:Text")]
        record_sets.append({
            "@type": "cr:RecordSet", "@id": f"{split}_metadata", "name": f"{split}_metadata",
            "description": f"one row per {split} file: provenance and metadata",
            "field": [{"@type": "cr:Field", "@id": f"{split}_metadata/{col}", "name": f"{split}_metadata/{col}",
                       "dataType": dtype, "source": {"fileObject": {"@id": csv_id}, "extract": {"column": col}}}
                      for col, dtype in cols],
        })
    return {
        "@context": _context(), "@type": "sc:Dataset", "name": name,
        "description": f"Field recordings exported by fieldrec {__version__}: "
                       f"{len(outputs)} files in splits {', '.join(splits)}; see README.md and manifest.json.",
        "conformsTo": "http://mlcommons.org/croissant/1.0", "url": "README.md",
        "version": "1.0.0", "license": "https://creativecommons.org/licenses/by/4.0/",
        **({"datePublished": days[-1]} if days else {}),
        "citeAs": name, "keywords": ["audio", "field recording", "bioacoustics", "fieldrec"],
        "distribution": distribution, "recordSet": record_sets,
    }


# ----------------------------------------------------------------------------- the data card
def _hms(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def data_card(outputs: list[OutputRecord], takes: dict[str, TakeRecord], splits: list[str], split_report: dict[str, Any],
              audit: dict[str, Any], params: dict[str, Any], coordinates: str, name: str) -> str:
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in splits:
        lines += [f"  - split: {split}", f"    path: \"{split}/**\""]
    lines += ["task_categories:", "- audio-classification", "tags:", "- audio", "- field-recording", "---", "",
              f"# {name}", "",
              f"Field recordings exported by fieldrec {__version__}: {len(outputs)} audio files from "
              f"{len({o.source_path for o in outputs})} takes. Load with "
              "`datasets.load_dataset(\"audiofolder\", data_dir=...)`; the splits come from the `configs` block "
              "above, never from words in file names.", "", "## Splits", "",
              "| split | groups | files | duration |", "| --- | ---: | ---: | ---: |"]
    for split in splits:
        row = split_report["achieved"].get(split, {})
        lines.append(f"| {split} | {row.get('groups', 0)} | {row.get('files', 0)} | {_hms(row.get('seconds', 0.0))} |")
    labels = split_report.get("per_label", {})
    if labels:
        lines += ["", "Per label (files / duration):", "", "| label | " + " | ".join(splits) + " |",
                  "| --- |" + " ---: |" * len(splits)]
        for label, rows in labels.items():
            cells = [f"{rows.get(s, {}).get('files', 0)} / {_hms(rows.get(s, {}).get('seconds', 0.0))}" for s in splits]
            lines.append(f"| {label or '(none)'} | " + " | ".join(cells) + " |")
    sp = params.get("split", {})
    cvp, seg = params.get("convert", {}), params.get("segment", {})
    lines += ["", "## How it was made", "",
              f"* Grouped by `{sp.get('group_by')}` (no group in two splits), "
              f"{'stratified by `' + str(sp.get('stratify_by')) + '`, ' if sp.get('stratify_by') else ''}"
              f"seed {sp.get('seed')}; requested {json.dumps(split_report.get('requested'))}.",
              f"* Audio: {cvp.get('samplerate') or 'source'} Hz, {cvp.get('subtype')} {str(cvp.get('container')).upper()}, "
              f"channels {cvp.get('channels')}, resampled with soxr {cvp.get('quality')}, TPDF dither when the bit depth "
              f"is reduced, normalisation {cvp.get('normalize') or 'none'}.",
              f"* Segments: {seg.get('mode')} {json.dumps({k: v for k, v in seg.items() if k != 'mode'})}.",
              f"* Features: {', '.join(params.get('features', {}).get('names', [])) or 'none'}.",
              f"* Leak audit: {'clean' if audit.get('clean') else 'FOUND LEAKS'} "
              f"({len(audit.get('group_overlap', []))} groups in two splits, "
              f"{len(audit.get('identical_sources', []))} identical sources and "
              f"{len(audit.get('near_identical_audio', []))} near-identical takes across splits).",
              "* Provenance of every file (source, SHA-256, frames, parameters, software) is in `manifest.json`; "
              "a Croissant description in `metadata.json`; sources left out and why in `rejected.csv`.", "",
              "## Equipment and places", ""]
    used = [takes[p] for p in sorted({o.source_path for o in outputs})]
    equipment = Counter()
    places: dict[str, set] = defaultdict(set)
    for t in used:
        eq = t.metadata.get("equipment") or {}
        desc = ", ".join(x for x in (eq.get("recorder"), eq.get("microphone")) if x) or \
            (t.recording.get("device") or {}).get("name") or "unknown"
        equipment[desc] += 1
        loc = t.metadata.get("location") or {}
        lat, lon = apply_policy(loc.get("latitude"), coordinates), apply_policy(loc.get("longitude"), coordinates)
        places[loc.get("name") or "unnamed"].add(f"{lat}, {lon}" if lat is not None and lon is not None else "-")
    for desc, n in sorted(equipment.items()):
        lines.append(f"* {desc}: {n} take(s)")
    lines += ["", f"Coordinates: {coordinates}.", ""]
    for place, coords in sorted(places.items()):
        lines.append(f"* {place}: {'; '.join(sorted(coords))}")
    return "\n".join(lines) + "\n"
