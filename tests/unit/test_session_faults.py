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


def test_a_session_with_nothing_to_watch_holds_no_take_back_and_polls_slowly(tmp_path):
    """A take by hand (with a pre-roll, no trigger, split or end) can only be stopped now, never at a past
    frame: its writer is not held back to the controller's cursor (which made it wake twice as often) and the
    controller reads the ring at IDLE_POLL_S. A take with a duration or a split family is still held (their
    ends are frames the controller finds after the audio arrived)."""
    from fieldrec import session as session_mod

    cases = ((FieldOptions(pre_roll_s=1.0), None, False), (FieldOptions(), 2.0, True),
             (FieldOptions(split_s=5.0), None, True))
    for options, duration, held in cases:
        rec = Recorder(TakeSettings(device="simulated", container="wav", subtype="FLOAT", out_dir=tmp_path))
        ses = FieldSession(rec, options)
        ses.start()
        try:
            take = ses.record({}, duration_s=duration)
            assert (take.hold is not None) is held, options
            assert ses._poll_s() == (session_mod.POLL_S if held else session_mod.IDLE_POLL_S)
        finally:
            ses.close()
