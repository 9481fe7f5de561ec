"""The sidecar model is the one definition: the committed JSON Schema and field table are generated from it,
and every version-1 sidecar the landed recorder wrote (tests/data/sidecar_v1, made by the v1 code with the
simulated source, one of them cut off by kill -9) migrates to a valid version 2 without losing a value."""

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from fieldrec.metadata import Sidecar, finish_sidecar, new_sidecar
from fieldrec.metadata.schema import FIELDS_DOC_HEAD, field_table, schema_text
from fieldrec.storage.errors import SidecarError
from fieldrec.storage.sidecar import (
    load_schema,
    read_sidecar,
    read_sidecar_model,
    sidecar_model,
    write_sidecar,
)

REPO = Path(__file__).resolve().parents[2]
V1 = sorted((REPO / "tests" / "data" / "sidecar_v1").glob("*.json"))


def test_committed_schema_is_generated_from_the_model():
    text = schema_text()
    for path in (REPO / "docs" / "sidecar.schema.json", REPO / "fieldrec" / "schemas" / "sidecar.schema.json"):
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run python -m fieldrec.metadata.schema"
    assert (REPO / "docs" / "metadata-fields.md").read_text(encoding="utf-8") == FIELDS_DOC_HEAD + field_table()
    jsonschema.Draft202012Validator.check_schema(json.loads(text))


def test_field_table_lists_nested_user_fields():
    table = field_table()
    for path in ("metadata.location.elevation_m", "metadata.equipment.channels[].function",
                 "metadata.equipment.microphones[].sensitivity_mv_pa", "metadata.time.timezone",
                 "file.audio_sha256", "markers[].length_frames", "recording.uid"):
        assert f"`{path}`" in table


@pytest.mark.parametrize("path", V1, ids=[p.stem for p in V1])
def test_every_v1_sidecar_migrates_to_a_valid_v2(path: Path, tmp_path: Path):
    v1 = json.loads(path.read_text(encoding="utf-8"))
    assert v1["schema_version"] == 1
    model = read_sidecar_model(path)
    data = model.model_dump(mode="json")
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    assert data["schema_version"] == 2
    # nothing of v1 is lost: every v1 leaf is found at the same place in v2 (or under metadata.v1_extra)
    def leaves(node, prefix=()):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from leaves(v, (*prefix, k))
        elif isinstance(node, list) and node:
            for i, v in enumerate(node):
                yield from leaves(v, (*prefix, i))
        else:
            yield prefix, node
    for where, value in leaves({k: v for k, v in v1.items() if k != "schema_version"}):
        if where[0] == "metadata" and where[1] in data["metadata"].get("v1_extra", {}):
            where = ("metadata", "v1_extra", *where[1:])
        node = data
        for key in where:
            node = node[key]
        assert node == value, where
    assert data["metadata"]["time"]["start_utc"] == v1["recording"]["start_utc"]
    write_sidecar(tmp_path / "x.json", model)  # and it writes back as v2
    assert read_sidecar(tmp_path / "x.json") == data


def test_v1_value_with_a_v2_name_but_another_shape_is_kept_aside():
    v1 = json.loads((REPO / "tests/data/sidecar_v1/complete_empty.json").read_text(encoding="utf-8"))
    v1["metadata"]["project"] = {"name": "old style"}
    v1["metadata"]["take"] = "3b"
    from fieldrec.storage.sidecar import migrate
    model = sidecar_model(migrate(v1))
    assert model.metadata.project == "" and model.metadata.take is None
    assert model.metadata.model_extra["v1_extra"] == {"project": {"name": "old style"}, "take": "3b"}


def test_new_and_finished_sidecar_validate_against_the_schema():
    start = datetime(2026, 11, 25, 5, 15, tzinfo=UTC)
    sc = new_sidecar(file_name="a.wav", samplerate=48000, channels=2, container="wav", subtype="PCM_24",
                     start=start, metadata={"scene": "1", "take": 2}, device_name="sim", hostapi="x")
    validator = jsonschema.Draft202012Validator(load_schema())
    validator.validate(sc.to_json())
    assert sc.metadata.time.start_utc == "2026-11-25T05:15:00Z" and len(sc.recording.uid) == 32
    done = finish_sidecar(sc, frames=48000, stop_reason="user", end=start, analysis={"integrated_lufs": -23.0})
    validator.validate(done.to_json())
    assert done.audio.duration_s == 1.0 and done.recording.state == "complete"
    assert done.analysis.integrated_lufs == -23.0


def test_model_errors_name_the_field(tmp_path: Path):
    bad = {"schema_version": 2, "file": {"name": "a.wav"},
           "audio": {"samplerate": 48000, "channels": 2, "container": "wav", "subtype": "PCM_24"},
           "recording": {"state": "complete", "end_utc": None}}
    with pytest.raises(ValidationError):
        Sidecar.model_validate(bad)
    (tmp_path / "a.json").write_text(json.dumps(dict(bad, audio=dict(bad["audio"], channels=0))))
    with pytest.raises(SidecarError, match=r"audio\.channels: .*greater than or equal to 1"):
        read_sidecar_model(tmp_path / "a.json")
