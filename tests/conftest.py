"""Session set-up shared by all tests: the private PulseAudio virtual input (see tests/pulse_rig.py).

The daemon starts in ``pytest_configure``, before any test module imports sounddevice (PortAudio lists
devices once, when it initialises), and its client environment is put into ``os.environ``. Tests that need
it take the ``pulse_rig`` fixture; without pulseaudio they FAIL, saying to run ``make test``.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulse_rig import PulseRig, RigError  # noqa: E402

_rig: PulseRig | None = None
_rig_error: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _rig, _rig_error
    # Qt aborts the whole session when it finds no display; tests run offscreen unless told otherwise.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "sounddevice" in sys.modules:
        _rig_error = "sounddevice was imported before the rig started; PortAudio would not see the device"
    try:
        rig = PulseRig()
        rig.start()
    except (RigError, OSError) as exc:
        _rig_error = _rig_error or str(exc)
        return
    os.environ.update(rig.env)
    _rig = rig
    atexit.register(rig.stop)  # also when pytest dies before pytest_unconfigure (the daemon has PDEATHSIG too)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _rig
    if _rig is not None:
        _rig.stop()
        _rig = None


@pytest.fixture
def pulse_rig() -> PulseRig:
    """The virtual input with a fresh, idle sink ``vin``; PortAudio device name ``rig.device_name``."""
    if _rig is None:
        pytest.fail(f"the PulseAudio virtual device is not available ({_rig_error}); run `make test`, "
                    "which installs pulseaudio and sets it up", pytrace=False)
    _rig.reload_sink()
    return _rig


@pytest.fixture
def pulse_output(pulse_rig: PulseRig):
    """The rig with its virtual output sink loaded (``rig.output_name``, ``rig.record_output``); unloaded after."""
    pulse_rig.load_output()
    yield pulse_rig
    pulse_rig.unload_output()
