"""Fixtures for the window tests: fresh settings in a temp folder, the simulated source, no leftover threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fieldrec.gui.config import GuiConfig


@pytest.fixture
def gui_config(tmp_path: Path) -> GuiConfig:
    return GuiConfig(
        device="simulated",
        samplerate=48000,
        channels=2,
        format_name="WAV 24-bit",
        out_dir=str(tmp_path / "takes"),
        settings_path=tmp_path / "config" / "gui.json",
        log_dir=tmp_path / "log",
    )


@pytest.fixture
def make_window(qtbot, qapp):
    """Factory: a shown MainWindow on the real Recorder; closed (auto-answer yes) at teardown."""
    from fieldrec.gui.main_window import MainWindow
    from fieldrec.gui.theme import apply_dark_theme

    apply_dark_theme(qapp)
    windows = []

    def make(config: GuiConfig):
        w = MainWindow(config=config)
        # answer "yes, stop and close" without a modal box: pytest-qt closes widgets at teardown, and a failed
        # test may leave a take running (a question box would wait for a click forever offscreen)
        w.auto_answer_close = True
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        qtbot.waitUntil(lambda: w.start_armed, timeout=15000)  # the input opens just after the first paint
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.auto_answer_close = True
        w.close()
    leftover = [t.name for t in threading.enumerate() if t.name.startswith("fieldrec-") and t.is_alive()]
    assert not leftover, f"threads left running after the window closed: {leftover}"


@pytest.fixture
def window(make_window, gui_config):
    w = make_window(gui_config)
    return w
