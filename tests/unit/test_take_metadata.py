"""The one save of a finished take's metadata (``fieldrec edit`` and the review view): written to the sidecar
and the chunks with the audio untouched, and every refusal leaves both files as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldrec.metadata import MetadataError
from fieldrec.review.take_metadata import read_take_metadata, save_take_metadata
from fieldrec.storage.errors import StorageError
from tests.readers import validate_sidecar, wav_metadata
from tests.takes import copy_take, record_take


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    return record_take(tmp_path_factory.mktemp("meta"), 0.5, location="Dune", notes="before")


@pytest.fixture
def take(recorded, tmp_path) -> Path:
    return copy_take(recorded, tmp_path)


def _files(take: Path) -> tuple[bytes, bytes]:
    return take.read_bytes(), take.with_suffix(".json").read_bytes()


def test_saved_to_sidecar_and_chunks_audio_hash_kept(take):
    before = json.loads(take.with_suffix(".json").read_text())
    md = read_take_metadata(take)
    md["notes"] = "after"
    md["location"]["name"] = "Dune top"
    saved = save_take_metadata(take, md)
    after = json.loads(take.with_suffix(".json").read_text())
    validate_sidecar(after)
    assert saved["notes"] == after["metadata"]["notes"] == "after"
    assert wav_metadata(take)["ixml_location"] == "Dune top" and wav_metadata(take)["info_comment"] == "after"
    assert after["file"]["audio_sha256"] == before["file"]["audio_sha256"]


@pytest.mark.parametrize("fault, says", [
    ("invalid", "location.latitude"),
    ("read-only audio", "read-only"),
    ("read-only sidecar", "read-only"),
    ("recording", "still recording"),
    ("audio gone", "cannot edit"),
])
def test_refused_writes_nothing(take, fault, says):
    md = read_take_metadata(take)
    md["notes"] = "refused"
    side = take.with_suffix(".json")
    if fault == "invalid":
        md["location"]["latitude"] = 999
    elif fault == "read-only audio":
        take.chmod(0o444)
    elif fault == "read-only sidecar":
        side.chmod(0o444)
    elif fault == "recording":
        data = json.loads(side.read_text())
        data["recording"]["state"] = "recording"
        side.write_text(json.dumps(data))
    files = _files(take)
    if fault == "audio gone":
        take.unlink()
    with pytest.raises(MetadataError if fault == "invalid" else StorageError, match=says):
        save_take_metadata(take, md)
    if fault == "audio gone":
        assert side.read_bytes() == files[1] and not take.exists()
    else:
        assert _files(take) == files
    assert [p.name for p in take.parent.iterdir() if p.name.startswith(".")] == []
