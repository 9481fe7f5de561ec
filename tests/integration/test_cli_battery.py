"""The battery in `fieldrec record` (issue 15, item 7): its level at the start and stop in the sidecar and the
15-minute warning, with a battery that psutil reads from sysfs (faked in a mount namespace: the test
machines have none), through the real command and the simulated source."""

from __future__ import annotations

import json
import subprocess

from filesystems import with_battery, without_power_supply

from tests.readers import fieldrec_cmd, isolated_env, validate_sidecar


def _record(tmp_path, percent: float | None, seconds_left: float = 0) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "takes"
    cmd = fieldrec_cmd("record", "--device", "simulated", "--duration", "1", "--out", str(out))
    cmd = without_power_supply(cmd) if percent is None else with_battery(cmd, percent, seconds_left)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=isolated_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (sidecar,) = out.glob("*.json")
    doc = json.loads(sidecar.read_text())
    validate_sidecar(doc)
    return proc, doc


def test_the_sidecar_keeps_the_battery_at_start_and_stop(tmp_path):
    proc, doc = _record(tmp_path, 64, 4 * 3600)
    field = doc["metadata"]["field"]
    for key in ("battery_start", "battery_stop"):
        assert field[key] == {"percent": 64.0, "plugged": False, "seconds_left": 14400.0}
    assert "battery" not in proc.stderr  # four hours left: no warning


def test_less_than_15_minutes_of_battery_is_a_warning(tmp_path):
    proc, doc = _record(tmp_path, 7, 600)
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: battery")]
    assert warnings == ["warning: battery: only 0:10:00 left (7 %); plug in the charger"]
    assert doc["metadata"]["field"]["battery_start"]["percent"] == 7.0


def test_a_machine_with_no_power_supply_folder_records_without_a_battery(tmp_path):
    # psutil raises FileNotFoundError there (found by the .deb smoke test in a chroot without /sys)
    proc, doc = _record(tmp_path, None)
    assert "battery_start" not in doc["metadata"].get("field", {}) and "Traceback" not in proc.stderr
