"""The sidecar's JSON Schema and its field table, generated from the model (never written by hand).

``python -m fieldrec.metadata.schema`` rewrites ``docs/sidecar.schema.json``,
``fieldrec/schemas/sidecar.schema.json`` and the field table in ``docs/metadata-fields.md``;
``tests/unit/test_metadata_schema.py`` fails when a committed copy differs from what the model gives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fieldrec.metadata.sidecar import SCHEMA_VERSION, Sidecar

SCHEMA_ID = f"https://fieldrec.invalid/schemas/sidecar-{SCHEMA_VERSION}.schema.json"


def sidecar_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a version-2 sidecar."""
    schema = Sidecar.model_json_schema(mode="validation")
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "fieldrec take sidecar",
        "description": (f"Metadata of one take, stored as <stem>.json next to the audio file. schema_version "
                        f"{SCHEMA_VERSION}. Units: samplerate Hz, durations and times seconds, positions in "
                        "frames (samples per channel) from the first frame of the file. Generated from "
                        "fieldrec.metadata.sidecar.Sidecar; unknown keys are allowed and kept."),
    }
    schema.pop("title", None)
    schema.pop("description", None)
    out.update(schema)
    return out


def schema_text() -> str:
    """The schema as committed: 2-space JSON, UTF-8, trailing newline."""
    return json.dumps(sidecar_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return "object"
    if "const" in prop:
        return json.dumps(prop["const"])
    if "enum" in prop:
        return " / ".join(json.dumps(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_type_of(p, defs) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type_of(prop.get('items', {}), defs)}"
    bounds = []
    if "minimum" in prop or "exclusiveMinimum" in prop:
        bounds.append(f"≥ {prop.get('minimum', prop.get('exclusiveMinimum'))}")
    if "maximum" in prop:
        bounds.append(f"≤ {prop['maximum']}")
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _rows(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> list[tuple[str, str, str]]:
    rows = []
    for name, prop in schema.get("properties", {}).items():
        path = f"{prefix}{name}"
        target = prop
        refs = [p for p in prop.get("anyOf", []) if "$ref" in p]
        if "$ref" in prop:
            target = defs[prop["$ref"].split("/")[-1]]
        elif refs:
            target = defs[refs[0]["$ref"].split("/")[-1]]
        elif prop.get("type") == "array" and "$ref" in prop.get("items", {}):
            target = defs[prop["items"]["$ref"].split("/")[-1]]
            path += "[]"
        desc = prop.get("description") or target.get("description", "")
        rows.append((path, _type_of(prop, defs), " ".join(desc.split())))
        if target is not prop and "properties" in target:
            rows.extend(_rows(target, defs, path + "."))
    return rows


def field_table() -> str:
    """A Markdown table of every sidecar field: dotted path, type, meaning."""
    schema = sidecar_json_schema()
    defs = schema.get("$defs", {})
    lines = ["| Field | Type | Meaning |", "|-------|------|---------|"]
    for path, kind, desc in _rows(schema, defs, ""):
        lines.append(f"| `{path}` | {kind.replace('|', '/')} | {desc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


FIELDS_DOC_HEAD = ("# Sidecar fields (generated)\n\nGenerated from `fieldrec.metadata.sidecar.Sidecar` by "
                   "`python -m fieldrec.metadata.schema`; do not edit by hand. The meaning of the model and "
                   "where each field goes in the WAV is in [metadata.md](metadata.md).\n\n")


def write_all(repo: Path) -> list[Path]:
    """Rewrite the generated files under ``repo``; returns the paths written."""
    text = schema_text()
    paths = [repo / "docs" / "sidecar.schema.json", repo / "fieldrec" / "schemas" / "sidecar.schema.json"]
    for path in paths:
        path.write_text(text, encoding="utf-8")
    doc = repo / "docs" / "metadata-fields.md"
    doc.write_text(FIELDS_DOC_HEAD + field_table(), encoding="utf-8")
    return [*paths, doc]


if __name__ == "__main__":  # pragma: no cover - a developer tool
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    for written in write_all(root):
        print(written)
