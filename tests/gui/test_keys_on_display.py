"""Space, R and M on a shown window on a real X display (Xvfb), with real key and mouse events (xdotool).

Issue 11, fault 8: the window started with the focus on the device list; recording disabled the list and Qt
moved the focus into the marker-label field, so the next Space or M was typed there and the take went on.
These tests drive the window as a user does and read the outcome where a user sees it: the window title,
the take's audio file and its sidecar. Calling the slots would prove nothing about what a key does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf

HERE = Path(__file__).resolve().parent


def _wait(what: str, predicate, timeout: float = 20.0, proc: subprocess.Popen | None = None):
    """Poll ``predicate`` until it returns something true (not a timing assert: a generous deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the window exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def xdisplay(tmp_path: Path):
    """A private Xvfb display (``-noreset``: without it the server resets when its last client leaves)."""
    missing = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} not installed; run `make test` (tools/setup-system.sh test)",
                    pytrace=False)
    for n in range(70, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            break
    log = open(tmp_path / "xvfb.log", "wb")
    proc = subprocess.Popen(["Xvfb", f":{n}", "-noreset", "-nolisten", "tcp", "-screen", "0", "1600x1000x24"],
                            stdout=log, stderr=log)
    _wait("Xvfb", lambda: Path(f"/tmp/.X11-unix/X{n}").exists(), 15, proc)
    yield f":{n}"
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


class ShownWindow:
    """The child process with the window, and xdotool on its display."""

    def __init__(self, display: str, tmp: Path):
        self.env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp / "xdg"),
                    "HOME": str(tmp / "home")}
        self.takes = tmp / "takes"
        (tmp / "home").mkdir()
        self.stderr = open(tmp / "window.stderr", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "display_app.py"), str(tmp / "cfg" / "gui.json"),
             "--device", "simulated", "--out", str(self.takes)],
            env=self.env, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("{"):
            self.proc.wait(timeout=10)
            self.stderr.seek(0)
            raise AssertionError(f"the window did not start: {self.stderr.read()[-2000:]}")
        self.where = json.loads(line)
        self.wid = str(self.where["winid"])
        self._reader = threading.Thread(target=self._read_layout, daemon=True)
        self._reader.start()
        _wait("the input to be armed", lambda: "armed" in self.title(), proc=self.proc)
        self.xdo("windowfocus", "--sync", self.wid)

    def _read_layout(self) -> None:
        for line in self.proc.stdout:  # the window reports where its widgets moved to
            if line.startswith("{"):
                self.where = json.loads(line)

    def xdo(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=20,
                              check=True).stdout.strip()

    def title(self) -> str:
        return self.xdo("getwindowname", self.wid)

    def key(self, *keys: str) -> None:
        self.xdo("key", "--delay", "60", *keys)

    def type(self, text: str) -> None:
        self.xdo("type", "--delay", "60", text)

    def click(self, widget: str) -> None:
        time.sleep(0.2)  # a layout change of the last frames is reported (frames are 33 ms apart)
        x, y = self.where[widget]
        self.xdo("mousemove", "--sync", str(x), str(y), "click", "1")

    def screenshot(self, path: Path) -> None:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab", "-video_size", "1600x1000",
                        "-i", self.env["DISPLAY"], "-frames:v", "1", str(path)], env=self.env, check=True,
                       timeout=60)

    def takes_on_disk(self) -> list[Path]:
        return sorted(self.takes.glob("*.wav"))

    def sidecar(self, wav: Path) -> dict:
        try:
            return json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):  # not yet written, or caught between write and rename
            return {}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self._reader.join(timeout=10)
        self.proc.stdout.close()
        self.stderr.close()


@pytest.fixture
def shown_window(xdisplay, tmp_path):
    w = ShownWindow(xdisplay, tmp_path)
    yield w
    w.close()


def _recording(w: ShownWindow) -> bool:
    return "recording" in w.title()


def test_space_and_m_work_after_recording_starts_and_fields_keep_typed_keys(shown_window, tmp_path):
    w = shown_window
    # 1. The window as it starts (focus where Qt put it: the device list). Space starts a take.
    w.key("space")
    _wait("Space to start a take", lambda: _recording(w) and w.takes_on_disk(), proc=w.proc)
    (wav,) = w.takes_on_disk()
    # 2. Recording disabled the device list. M must add a marker, not type an "m" into the label field.
    w.key("m")
    _wait("M to add a marker", lambda: len(w.sidecar(wav).get("markers", [])) == 1, proc=w.proc)
    assert w.sidecar(wav)["markers"][0]["label"] == ""
    # 3. A field the user clicks into keeps its keys: Space and R are typed, the take goes on.
    w.click("markerLabel")
    w.type("dawn r")
    w.key("Escape")  # leaves the field: the keys are shortcuts again
    w.key("m")
    _wait("the second marker", lambda: len(w.sidecar(wav).get("markers", [])) == 2, proc=w.proc)
    assert w.sidecar(wav)["markers"][1]["label"] == "dawn r"
    assert _recording(w) and w.takes_on_disk() == [wav]
    w.screenshot(tmp_path / "recording.png")
    # 4. Focus on a plot, then on the marker list: Space still stops the take.
    w.click("markerList")
    w.key("r")
    _wait("R to stop the take", lambda: "armed" in w.title(), proc=w.proc)
    side = _wait("the final sidecar", lambda: (s := w.sidecar(wav)).get("recording", {}).get("stop_reason") and s,
                 proc=w.proc)
    assert side["recording"]["stop_reason"] == "user"
    assert side["audio"]["frames"] == sf.info(str(wav)).frames > 0
    w.click("spectrumView")
    w.key("space")
    _wait("Space on a plot to start the next take", lambda: len(w.takes_on_disk()) == 2, proc=w.proc)
    w.key("space")
    _wait("Space to stop it", lambda: "armed" in w.title(), proc=w.proc)
    # 5. A place name typed in the metadata panel keeps its space and its "r"; after Escape, Space records
    #    (had the typed space started a take, this Space would stop it and the title would say armed).
    w.click("md_location_name")
    w.type("Reed bed")
    w.key("Escape", "space")
    _wait("Space after Escape to start a third take", lambda: _recording(w) and len(w.takes_on_disk()) == 3,
          proc=w.proc)
    third = w.takes_on_disk()[-1]
    assert w.sidecar(third)["metadata"]["location"]["name"] == "Reed bed"
    w.key("space")
    _wait("the third take to stop", lambda: w.sidecar(third).get("recording", {}).get("stop_reason"), proc=w.proc)


def test_on_the_review_tab_space_r_and_m_never_touch_the_take(shown_window):
    """While a take records, the Review tab's Space, R and M are the review's (play, region, marker): the take
    goes on and gets no marker; back on the Live tab, Space stops it."""
    w = shown_window
    w.key("space")
    _wait("Space to start a take", lambda: _recording(w) and w.takes_on_disk(), proc=w.proc)
    (wav,) = w.takes_on_disk()
    w.key("ctrl+2", "ctrl+3")  # Library, then Review
    time.sleep(0.5)
    w.key("space", "r", "m", "space")
    time.sleep(1.0)
    assert _recording(w), w.title()
    w.key("ctrl+1")  # Live
    time.sleep(0.3)
    w.key("space")
    side = _wait("Space on the Live tab to stop the take",
                 lambda: (s := w.sidecar(wav)).get("recording", {}).get("stop_reason") and s, proc=w.proc)
    assert side["recording"]["stop_reason"] == "user" and side["markers"] == []


def test_keys_work_with_the_field_dock_open_and_its_spin_box_keeps_typed_digits(shown_window):
    w = shown_window
    w.click("fieldButton")  # the Field dock (issue 15) opens beside the view
    _wait("the dock to be laid out", lambda: w.where["preRollSpin"][0] > 0 and w.where["preRollSpin"][1] > 0,
          proc=w.proc)
    w.click("preRollSpin")  # a field the user clicked into: digits and Space are its own
    w.key("ctrl+a")
    w.type("3 ")
    w.key("Escape", "space")  # leaves it (the new pre-roll reopens the input), then Space records
    _wait("Space after Escape to start a take", lambda: _recording(w) and w.takes_on_disk(), proc=w.proc)
    (wav,) = w.takes_on_disk()
    assert w.sidecar(wav)["metadata"]["field"]["pre_roll"]["asked_seconds"] == 3.0
    w.key("m")  # recording locked the dock's set-up: the focus is not in a text field
    _wait("M to add a marker", lambda: len(w.sidecar(wav).get("markers", [])) == 1, proc=w.proc)
    w.key("space")
    _wait("Space to stop the take", lambda: w.sidecar(wav).get("recording", {}).get("stop_reason"), proc=w.proc)
