#!/usr/bin/env python3
"""Screenshots of the real recording window: ``tools/screenshot.py OUT.png [--seconds 10] [--state S]``,
or ``tools/screenshot.py --all DIR`` for every image the docs use (``make screenshots``; the table SHOTS).

Starts ``Xvfb :99 -screen 0 1600x1000x24 -noreset`` when there is no DISPLAY (without -noreset Xvfb resets
when its last client leaves and the next Qt start aborts), runs the window with the simulated source armed,
records a take for ``--seconds`` so the spectrogram fills, adds a marker, grabs the window and saves the PNG.
Settings, log and the take go to a temporary folder: your own settings are not touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def ensure_display(number: int = 99, size: str = "1600x1000") -> subprocess.Popen | None:
    """Start ``Xvfb :number`` at ``size`` (and return it) when there is no DISPLAY; the tools' one way to."""
    if os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        print("screenshot: no DISPLAY and no Xvfb; using Qt's offscreen platform", file=sys.stderr)
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return None
    display = f":{number}"
    proc = subprocess.Popen([xvfb, display, "-screen", "0", f"{size}x24", "-noreset"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = Path(f"/tmp/.X11-unix/X{number}")
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    os.environ["DISPLAY"] = display
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    return proc


#: the docs' images: file name, state of the window, seconds before the grab, extra arguments
SHOTS = [
    ("main-window.png", "recording", 10.0, []),  # README, guide: a take running, a marker set
    ("armed.png", "armed", 6.0, []),  # guide, at the site: levels and spectra before the take starts
    ("recording-4ch.png", "recording", 8.0, ["--channels", "4"]),  # guide: a multichannel take
    ("field-panel.png", "armed", 6.0, ["--field"]),  # docs/field.md, guide: the Field dock, armed for a trigger
]


def show_field(w) -> None:
    """The Field dock as a recordist sets it up for a dawn chorus: pre-roll, a level trigger, 15 min files and
    a schedule around sunrise at the take's place."""
    from fieldrec.field.schedule import parse_schedule

    p = w.field_panel
    p.show()
    p.raise_()
    p.pre_roll_spin.setValue(10)
    p.split_combo.setCurrentIndex(p.split_combo.findData("time"))
    p.split_value.setValue(15)
    p.threshold.setValue(-12.0)
    p.detrigger.setValue(-18.0)
    p.trigger_box.setChecked(True)
    data = {"location": {"latitude": 47.3769, "longitude": 8.5417, "timezone": "Europe/Zurich"},
            "period": [{"name": "dawn chorus", "start": "civil_dawn-30m", "end": "sunrise+2h"},
                       {"name": "dusk", "start": "sunset-30m", "duration": "1h30m", "duty": "5m/15m"}]}
    w.field.set_schedule(parse_schedule(data, "schedule"), data)
    p.changed.emit()


def shoot_schedule_dialog(out: Path) -> int:
    """The schedule editor with a dawn and a dusk period at Zurich, checked, listing the next periods."""
    import datetime as dt

    xvfb = ensure_display()
    try:
        from PySide6.QtWidgets import QApplication

        from fieldrec.field.schedule import Location
        from fieldrec.gui.schedule_dialog import ScheduleDialog
        from fieldrec.gui.theme import apply_dark_theme

        app = QApplication.instance() or QApplication(["fieldrec"])
        apply_dark_theme(app)
        d = ScheduleDialog({}, Location(47.3769, 8.5417), None, now=dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC))
        d.tz_edit.setText("Europe/Zurich")
        d.add_period({"name": "dawn chorus", "start": "civil_dawn-30m", "end": "sunrise+2h"})
        d.add_period({"name": "dusk", "start": "sunset-30m", "duration": "1h30m", "duty": "5m/15m",
                      "from": "2026-05-01", "until": "2026-06-30"})
        d.show()
        ok = d.check()
        app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        saved = d.grab().save(str(out))
        print(f"screenshot: {out if saved else 'NOT saved'} (schedule {'valid' if ok else 'refused'})")
        return 0 if saved and ok else 1
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


def shoot_all(folder: Path) -> int:
    """Every image in SHOTS, each from its own run of the window (one Xvfb for all)."""
    xvfb = ensure_display()
    failed = 0
    try:
        for name, state, seconds, extra in SHOTS:
            cmd = [sys.executable, __file__, str(folder / name), "--state", state, "--seconds", str(seconds), *extra]
            failed += subprocess.run(cmd).returncode != 0
        cmd = [sys.executable, __file__, str(folder / "schedule-dialog.png"), "--schedule-dialog"]
        failed += subprocess.run(cmd).returncode != 0
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, nargs="?", help="the PNG to write")
    ap.add_argument("--all", type=Path, metavar="DIR", help="write every image of the docs into DIR")
    ap.add_argument("--state", choices=("recording", "armed"), default="recording",
                    help="recording: a take runs and gets a marker; armed: input live, no take")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="recorded seconds (recording) or displayed seconds (armed) before the grab")
    ap.add_argument("--timeout", type=float, default=180.0, help="give up after this many wall-clock seconds")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--samplerate", type=int, default=48000)
    ap.add_argument("--field", action="store_true",
                    help="open the Field dock: 10 s pre-roll, armed for a level trigger, 15 min split, a schedule")
    ap.add_argument("--schedule-dialog", action="store_true",
                    help="grab the schedule editor (two periods around sunrise and sunset) instead of the window")
    args = ap.parse_args(argv)
    if args.schedule_dialog and args.out is not None:
        return shoot_schedule_dialog(args.out)
    if args.all is not None:
        return shoot_all(args.all)
    if args.out is None:
        ap.error("give OUT.png or --all DIR")
    xvfb = ensure_display()
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        from fieldrec.gui.app import create_window, setup_logging
        from fieldrec.gui.config import GuiConfig
        from fieldrec.gui.theme import apply_dark_theme

        tmp = Path(tempfile.mkdtemp(prefix="fieldrec-shot-"))
        setup_logging(tmp / "log")
        app = QApplication.instance() or QApplication(["fieldrec"])
        apply_dark_theme(app)
        cfg = GuiConfig(device="simulated", samplerate=args.samplerate, channels=args.channels,
                        out_dir=str(tmp / "takes"), settings_path=tmp / "gui.json", log_dir=tmp / "log")
        cfg.metadata = {
            "location": {"name": "Reed bed north", "latitude": 47.3769, "longitude": 8.5417},
            "equipment": {"recorder": "MixPre-6 II", "microphone": "MKH 8040 ORTF"},
            "notes": "Dawn chorus, light wind from the west.\nWren close at the start.",
            "tags": ["dawn chorus", "wetland", "wind"],
        }
        w = create_window(cfg)
        w.resize(1600, 1000)
        w.show()
        if args.field:
            QTimer.singleShot(200, lambda: show_field(w))
        t_start = time.monotonic()
        ok = {"saved": False}
        progress = {"started": False, "marked": False}
        # Progress is counted on the take's own clock and the display's frames, not on the wall clock, so a
        # busy machine gives the same picture later rather than an empty one.
        if args.state == "recording":
            w.marker_label_edit.setText("wren")
            QTimer.singleShot(300, w.record)

        def elapsed() -> float:
            st = w.recorder.status() if w.recorder else None
            return st.elapsed_s if st is not None and st.take is not None else 0.0

        def finish(saved: bool, why: str) -> None:
            take = w.recorder.status().take if w.recorder else None
            print(f"screenshot: {args.out if saved else 'NOT saved'} after {time.monotonic() - t_start:.1f} s, "
                  f"{w.frame_count} display frames, take {take.audio.name if take else '-'} at {elapsed():.1f} s"
                  + (f" ({why})" if why else ""))
            ok["saved"] = saved
            w.auto_answer_close = True
            w.close()
            app.quit()

        def poll() -> None:
            if time.monotonic() - t_start > args.timeout:
                finish(False, f"not there within {args.timeout:g} s")
                return
            if args.state == "recording":
                if not progress["marked"] and elapsed() >= args.seconds * 0.6:
                    w.add_marker()
                    progress["marked"] = True
                ready = elapsed() >= args.seconds and progress["marked"]
            else:
                ready = w.frame_count >= args.seconds * 25  # the display runs at up to 30 frames a second
            if ready and w.frame_count >= 30:
                app.processEvents()
                args.out.parent.mkdir(parents=True, exist_ok=True)
                finish(w.grab().save(str(args.out)), "")
                return
            QTimer.singleShot(100, poll)

        QTimer.singleShot(300, poll)
        app.exec()
        shutil.rmtree(tmp, ignore_errors=True)
        return 0 if ok["saved"] else 1
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


if __name__ == "__main__":
    sys.exit(main())
