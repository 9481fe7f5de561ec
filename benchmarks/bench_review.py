"""Review benchmark: a 1-hour 192 kHz / 2 ch / 24-bit take (4.1 GB, generated once in /tmp) opened in review.

Figures (all in one run):
* anchor: reading the whole file with soundfile as int32 blocks and doing nothing with them (the least a
  streaming overview pass must do; the OS page cache is warm, as it is right after a take);
* overview build (cold cache, in the view's worker): the streaming min/max + spectral-overview pass, and its
  ratio to the anchor;
* the process's peak RSS growth during the cold open (the overview must never hold the file);
* ``ReviewWidget.open_take`` to its first paint, with the overview cache cold (the view paints at once and
  fills the waveform when the worker finishes) and warm (the overview comes from the cache);
* one zoom or scroll step as the event loop runs it (new range, the view's pending redraws, a repaint of the
  whole view): GUI-thread CPU (``time.thread_time()``) and wall clock, median and max of 30 steps at zoom
  levels from the whole take down to 10 ms; and the time until the spectrogram of the new range is painted
  too (computed in a worker);
* a burst of ten wheel events delivered in one frame (what a fast wheel or a touchpad sends) until the view
  is painted: GUI-thread CPU, median and max of 10 bursts;
* a pan by dragging (20 mouse moves of 10 px, the event loop run after each): GUI-thread CPU per move.
The take is kept in /tmp/fieldrec-bench-review/ for the next run (delete it to free 4.1 GB).

``FIELDREC_BENCH_REVIEW_SECONDS`` sets the take's length (default 3600; a shorter take for iteration: the
zoom figures do not depend on it, the overview being cached). ``FIELDREC_BENCH_REVIEW_ZOOM_ONLY=1`` skips the
anchor and the cold open (the overview is built once into /tmp/fieldrec-bench-review/overview-cache and
kept there for the next run, uncounted). The fieldrec on ``PYTHONPATH`` is the one
measured (so the same script measures an anchor checkout: ``PYTHONPATH=/work/main``); without one, this
checkout's.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

SR = 192000
CH = 2
SECONDS = int(os.environ.get("FIELDREC_BENCH_REVIEW_SECONDS", "3600"))
ZOOM_ONLY = os.environ.get("FIELDREC_BENCH_REVIEW_ZOOM_ONLY") == "1"
FOLDER = Path(tempfile.gettempdir()) / "fieldrec-bench-review"
TAKE = FOLDER / ("1h_192k_2ch.wav" if SECONDS == 3600 else f"{SECONDS}s_192k_2ch.wav")
TAG = "1h" if SECONDS == 3600 else f"{SECONDS}s"


def emit(name: str, value: float, unit: str, target: str | None) -> None:
    print(json.dumps({"name": name, "value": round(value, 4), "unit": unit, "target": target}), flush=True)


def make_take() -> None:
    frames = SR * SECONDS
    if TAKE.exists():
        try:
            if sf.info(str(TAKE)).frames == frames:
                return
        except RuntimeError:
            pass
    FOLDER.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    block = 1 << 20
    t = np.arange(block) / SR
    base = 0.05 * rng.standard_normal((block, CH)) + 0.2 * np.sin(2 * np.pi * 3000 * t)[:, None]
    tmp = TAKE.with_suffix(".tmp.wav")
    with sf.SoundFile(str(tmp), "w", SR, CH, subtype="PCM_24", format="RF64") as f:
        done, k = 0, 0
        while done < frames:
            n = min(block, frames - done)
            f.write((base[:n] * (0.5 + 0.5 * np.sin(k / 50.0))).astype(np.float32))
            done += n
            k += 1
    os.replace(tmp, TAKE)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def settle(app, w) -> None:
    """Run the event loop until the view's pending waveform redraw has run and been painted (a zero-time
    timer in the code before 2026-12-02; since then the range is drawn when it changes, the wheel's by a
    queued call)."""
    app.processEvents()
    timer = getattr(w, "_wave_timer", None)
    while timer is not None and timer.isActive():
        time.sleep(0.001)
        app.processEvents()
    app.processEvents()


def zoom_steps(app, w) -> dict[str, tuple[float, float]]:
    """30 zoom/scroll steps (setXRange as the wheel and drag do, the event loop, a repaint): GUI-thread CPU
    and wall clock of each, then until the spectrogram of the new range is painted; 10 bursts of ten wheel
    events delivered in one frame."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent

    dur = w.frames / w.samplerate
    spans = [s for s in (3600, 600, 60, 10, 1, 0.1, 0.01) if s < dur] + [dur]
    spans.sort(reverse=True)
    cpu, wall, full, spec_cpu, spec_wall = [], [], [], [], []
    for i in range(30):
        span = spans[i % len(spans)]
        start = (i * 97.3) % max(dur - span, 1e-3)
        c0, s0 = time.thread_time(), time.perf_counter()
        w.wave_plot.setXRange(start, start + span, padding=0)
        settle(app, w)  # what the event loop paints: the plots whose range changed
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - s0)
        w.repaint()  # the whole view, tables and panel too (the figure of 2026-12-01)
        full.append(time.thread_time() - c0)
        while w._spec_timer.isActive() or w.spectrogram_pending:
            app.processEvents()
            time.sleep(0.001)
        w.repaint()
        spec_cpu.append(time.thread_time() - c0)
        spec_wall.append(time.perf_counter() - s0)
    bursts = []
    vp = w.wave.viewport()
    centre = QPointF(vp.width() / 2, vp.height() / 2)
    for _k in range(10):
        w.wave_plot.setXRange(0, dur, padding=0)
        settle(app, w)
        w.repaint()
        while w._spec_timer.isActive() or w.spectrogram_pending:
            app.processEvents()
            time.sleep(0.001)
        c0 = time.thread_time()
        for _ in range(10):
            ev = QWheelEvent(centre, vp.mapToGlobal(centre), QPoint(), QPoint(0, 120),
                             Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                             False)
            app.postEvent(vp, ev)
        settle(app, w)
        w.repaint()
        bursts.append(time.thread_time() - c0)
        if np.isclose(w.wave_plot.viewRange()[0][1] - w.wave_plot.viewRange()[0][0], dur):
            raise RuntimeError("the wheel events did not zoom the view")
    # pan by dragging: 20 mouse moves of 10 px, the event loop run after each, 20 ms apart (a mouse at 50 Hz;
    # pyqtgraph drops moves that come faster than its mouseRateLimit, 100/s, and pans by the next one)
    from PySide6.QtTest import QTest

    w.wave_plot.setXRange(dur * 0.4, dur * 0.4 + dur / 12, padding=0)
    settle(app, w)
    y = vp.height() // 2
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(vp.width() // 2, y))
    settle(app, w)
    before = w.wave_plot.viewRange()[0][0]
    envelopes = getattr(w, "envelopes_drawn", 0)
    drag = []
    for i in range(1, 21):
        time.sleep(0.02)
        c0 = time.thread_time()
        QTest.mouseMove(vp, QPoint(vp.width() // 2 - 10 * i, y))
        settle(app, w)
        drag.append(time.thread_time() - c0)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(vp.width() // 2 - 200, y))
    if w.wave_plot.viewRange()[0][0] <= before:
        raise RuntimeError("the drag did not pan the view")
    if hasattr(w, "envelopes_drawn") and w.envelopes_drawn - envelopes < 20:
        raise RuntimeError("mouse moves were dropped: the figure would not be per move")
    return {"step_cpu": (statistics.median(cpu), max(cpu)), "step_wall": (statistics.median(wall), max(wall)),
            "drag_cpu": (statistics.mean(drag), max(drag)),
            "step_full_cpu": (statistics.median(full), max(full)),
            "spec_cpu": (statistics.median(spec_cpu), max(spec_cpu)),
            "spec_wall": (statistics.median(spec_wall), max(spec_wall)),
            "burst_cpu": (statistics.median(bursts), max(bursts))}


def main() -> int:
    make_take()
    import fieldrec

    print(f"measuring {Path(fieldrec.__file__).parent}", file=sys.stderr)
    if not ZOOM_ONLY:
        t0 = time.perf_counter()
        with sf.SoundFile(str(TAKE)) as f:
            buf = np.empty((1 << 20, CH), np.int32)
            while f.read(out=buf).shape[0]:
                pass
        anchor = time.perf_counter() - t0

    from PySide6.QtWidgets import QApplication

    from fieldrec.gui.review import ReviewWidget
    from fieldrec.gui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    results = {}
    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-cache-") as tmp_cache:
        cache = FOLDER / "overview-cache" if ZOOM_ONLY else tmp_cache
        for label in ("warm",) if ZOOM_ONLY else ("cold", "warm"):
            w = ReviewWidget(cache_folder=Path(cache))
            w.resize(1400, 900)
            w.show()
            app.processEvents()
            before = rss_mb()
            ready = []
            w.overview_ready.connect(lambda _o, ready=ready: ready.append(time.perf_counter()))
            t0 = time.perf_counter()
            w.open_take(TAKE)
            w.repaint()
            app.processEvents()
            first_paint = time.perf_counter() - t0
            while not ready:
                app.processEvents()
                time.sleep(0.005)
            w.repaint()
            results[label] = (first_paint, ready[0] - t0, time.perf_counter() - t0)
            if label == "cold":
                growth = rss_mb() - before
                ov = w.overview
            if label == "warm":
                results.update(zoom_steps(app, w))
            w.close_take()
            w.deleteLater()
            app.processEvents()
    if not ZOOM_ONLY:
        emit(f"review.read_{TAG}_192k_2ch_anchor", anchor, "s", None)
        t_build = results["cold"][1]
        emit(f"review.overview_build_{TAG}_192k_2ch", t_build, "s", None)
        emit("review.overview_build_ratio_to_read_anchor", t_build / anchor, "x", None)
        emit("review.cold_open_peak_rss_growth", growth, "MB", f"bounded (the file is {TAKE.stat().st_size / 1e6:.0f} MB)")
        emit("review.overview_bytes", ov.nbytes / 1e6, "MB", None)
        emit("review.open_first_paint_cold_cache", results["cold"][0], "s", "< 2 s")
        emit("review.open_overview_ready_cold_cache", results["cold"][1], "s", None)
        emit("review.open_first_paint_warm_cache", results["warm"][0], "s", "< 2 s")
        emit("review.open_overview_ready_warm_cache", results["warm"][2], "s", "< 2 s")
    frame = "< 33 ms (30 fps)"
    for prefix, key, target, labels in (  # each (median or mean, max) pair of the steps, in ms
        ("zoom_scroll_step_gui_cpu", "step_cpu", frame, ("median", "max")),
        ("zoom_scroll_step_wall", "step_wall", None, ("median", "max")),
        ("zoom_scroll_step_full_repaint_gui_cpu", "step_full_cpu", None, ("median", "max")),
        ("wheel_burst_10_gui_cpu", "burst_cpu", frame, ("median", "max")),
        ("drag_pan_gui_cpu_per_move", "drag_cpu", frame, ("mean", "max")),
        ("zoom_scroll_spectrogram_ready_gui_cpu", "spec_cpu", None, ("median",)),
        ("zoom_scroll_spectrogram_ready_wall", "spec_wall", None, ("median", "max")),
    ):
        for label, value in zip(labels, results[key], strict=False):  # spec_cpu: the median only
            emit(f"review.{prefix}_{label}", value * 1000, "ms", target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
