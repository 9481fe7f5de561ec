"""Records of an export: their dicts are what dataclasses.asdict gives, copied, and they come back."""

from __future__ import annotations

import dataclasses
import json

from fieldrec.dataset.records import OutputRecord, Segment, to_json_line


def test_output_record_dict_is_asdict_copied_and_round_trips() -> None:
    seg = Segment(index=3, out_start=48000, out_frames=16000, first_source_frame=144000,
                  last_source_frame=191999, rule="window:1:1", label="bird")
    conversion = {"resampler": {"library": "soxr", "from_hz": 48000, "to_hz": 16000}, "dither_seed": [1, 2, 3],
                  "pair": (1, 2), "normalize": None}
    rec = OutputRecord(path="train/a_0003.wav", sha256="ab" * 32, bytes=32044, split="train", take_id="a",
                       group="a", label="bird", source_path="/src/a.wav", source_sha256="cd" * 32, segment=seg,
                       channel=None, samplerate=16000, channels=1, container="wav", subtype="PCM_16",
                       frames=16000, conversion=conversion, features_path="features/train/a_0003.npz",
                       features_sha256="ef" * 32, scalars={"aci": 1.5, "ndsi": None, "peaks": [1.0, 2.0]})
    d = rec.to_dict()
    assert d == dataclasses.asdict(rec)
    assert type(d["conversion"]["pair"]) is tuple
    d["conversion"]["resampler"]["to_hz"] = 8000  # a copy: the record is unchanged
    d["scalars"]["peaks"].append(3.0)
    assert rec.conversion["resampler"]["to_hz"] == 16000 and rec.scalars["peaks"] == [1.0, 2.0]
    back = OutputRecord.from_dict(json.loads(to_json_line(rec)))
    assert back.segment == seg and back.to_dict() == json.loads(to_json_line(rec))
