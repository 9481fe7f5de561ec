"""Real takes for the library and review tests: recorded through ``fieldrec.recorder.Recorder``."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np

from fieldrec.metadata import new_take_metadata
from fieldrec.recorder import Recorder, TakeSettings


def record_take(out_dir: Path, seconds: float, device: str = "simulated", samplerate: int = 48000,
                channels: int = 2, subtype: str = "PCM_24", location: str = "", tags: tuple[str, ...] = (),
                notes: str = "", name: str = "{date}_{time}_{location}", wait_for_signal: bool = False) -> Path:
    """Record one take of ``seconds`` (sample-exact, stops by itself) and return its audio path once the
    sidecar is final. ``wait_for_signal``: arm first and start only once the input is not silent (a virtual
    device being fed)."""
    rec = Recorder(TakeSettings(device=device, samplerate=samplerate, channels=channels, subtype=subtype,
                                out_dir=Path(out_dir), duration_s=seconds, name_template=name))
    try:
        if wait_for_signal:
            rec.arm()
            deadline = time.monotonic() + 15
            while not (len(block := rec.latest(4800)) and float(np.abs(block).max()) > 0.01):
                assert time.monotonic() < deadline, "no signal reached the input within 15 s"
                time.sleep(0.05)
        take = rec.record(new_take_metadata(location=location, tags=list(tags), notes=notes))
        result = rec.wait(seconds + 30)
        assert result is not None, "the take did not end by itself"
        wait_final = getattr(rec, "wait_finalised", None)  # the take API with a finaliser thread
        if wait_final is not None:
            wait_final(30)
        paths = getattr(take, "paths", take)
        return Path(paths.audio)
    finally:
        rec.close()


def copy_take(audio: Path, folder: Path) -> Path:
    """A copy of a recorded take (audio and sidecar) in ``folder``, for a test that changes it: a module's
    take is recorded once and each test gets its own copy."""
    dst = Path(folder) / Path(audio).name
    shutil.copy(audio, dst)
    shutil.copy(Path(audio).with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def starve(seconds: float) -> None:
    """Hold the GIL for longer than the simulated interface's 0.25 s buffer: it loses blocks exactly as a
    real device's buffer does. Nothing is patched."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
    finally:
        sys.setswitchinterval(old)


def record_take_with_overflow(out_dir: Path, seconds: float = 2.0, location: str = "starved") -> Path:
    """A take from the simulated source with at least one real input overflow in it (the GIL held 0.7 s)."""
    rec = Recorder(TakeSettings(device="simulated", samplerate=48000, channels=2, out_dir=Path(out_dir),
                                duration_s=seconds))
    try:
        take = rec.record(new_take_metadata(location=location))
        deadline = time.monotonic() + 20
        while take.frames < 0.5 * 48000:
            assert time.monotonic() < deadline, "the take did not start"
            time.sleep(0.02)
        starve(0.7)
        result = rec.wait(seconds + 30)
        assert result is not None and result.overflows, "no overflow happened"
        rec.wait_finalised(30)
        return Path(take.paths.audio)
    finally:
        rec.close()
