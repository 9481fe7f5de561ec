"""A field session whose take cannot start ends with the reason, never a dead thread (simulated source)."""

from __future__ import annotations

import pytest

from fieldrec.analysis.trigger import parse_trigger
from fieldrec.recorder import Recorder, RecorderError, TakeSettings
from fieldrec.session import FieldOptions, FieldSession


def test_a_trigger_whose_take_cannot_be_created_ends_the_session_with_the_reason(tmp_path):
    out = tmp_path / "card"
    rec = Recorder(TakeSettings(device="simulated", container="wav", subtype="FLOAT", out_dir=out))
    events = []
    ses = FieldSession(rec, FieldOptions(trigger=parse_trigger("level:-60dBFS", min_trigger_s=0.0)),
                       on_event=events.append)
    out.write_text("not a folder")  # the card's folder is gone and a file has its name
    ses.start()
    try:
        assert ses.wait(20)
    finally:
        ses.close()
    assert ses.error is not None and "cannot create the take" in ses.error
    assert events[-1].startswith("session ended: cannot create the take")
    assert list(tmp_path.iterdir()) == [out]


def test_options_out_of_range_are_refused():
    for opts, message in ((FieldOptions(pre_roll_s=61), "outside 0-60 s"), (FieldOptions(split_s=0.5), "split at 1 s"),
                          (FieldOptions(split_bytes=1000), "at least 1 MiB"), (FieldOptions(run_for_s=0), "--run-for")):
        with pytest.raises(RecorderError, match=message):
            opts.validate()
