"""Review benchmark: a 1-hour 192 kHz / 2 ch / 24-bit take (4.1 GB, generated once in /tmp) opened in review.

Figures (all in one run):
* anchor: reading the whole file with soundfile as int32 blocks and doing nothing with them (the least a
  streaming overview pass must do; the OS page cache is warm, as it is right after a take);
* overview build (cold cache, in the view's worker): the streaming min/max + spectral-overview pass, and its
  ratio to the anchor;
* the process's peak RSS growth during the cold open (the overview must never hold the file);
* ``ReviewWidget.open_take`` to its first paint, with the overview cache cold (the view paints at once and
  fills the waveform when the worker finishes) and warm (the overview comes from the cache);
* one zoom or scroll step (new range, waveform envelope, repaint: the GUI thread's share), and the time until
  the spectrogram of the new range is painted too (computed in a worker), median and max of 30 steps at
  zoom levels from the whole hour down to 10 ms.
The take is kept in /tmp/fieldrec-bench-review/ for the next run (delete it to free 4.1 GB).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

SR = 192000
CH = 2
SECONDS = 3600
FOLDER = Path(tempfile.gettempdir()) / "fieldrec-bench-review"
TAKE = FOLDER / "1h_192k_2ch.wav"


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


def main() -> int:
    make_take()
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
    with tempfile.TemporaryDirectory(prefix="fieldrec-bench-cache-") as cache:
        for label in ("cold", "warm"):
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
                steps, spec_steps = [], []
                dur = SECONDS
                spans = [dur, 600, 60, 10, 1, 0.1, 0.01]
                for i in range(30):
                    span = spans[i % len(spans)]
                    start = (i * 97.3) % max(dur - span, 1e-3)
                    s0 = time.perf_counter()
                    w.wave_plot.setXRange(start, start + span, padding=0)
                    w._wave_timer.stop()
                    w._spec_timer.stop()
                    w._redraw_waveform()
                    w._redraw_spectrogram()
                    w.repaint()
                    steps.append(time.perf_counter() - s0)
                    while w.spectrogram_pending:
                        app.processEvents()
                        time.sleep(0.001)
                    w.repaint()
                    spec_steps.append(time.perf_counter() - s0)
                results["step"] = statistics.median(steps), max(steps)
                results["spec"] = statistics.median(spec_steps), max(spec_steps)
            w.close_take()
            w.deleteLater()
            app.processEvents()
    emit("review.read_1h_192k_2ch_anchor", anchor, "s", None)
    t_build = results["cold"][1]
    emit("review.overview_build_1h_192k_2ch", t_build, "s", None)
    emit("review.overview_build_ratio_to_read_anchor", t_build / anchor, "x", None)
    emit("review.cold_open_peak_rss_growth", growth, "MB", "bounded (the file is 4147 MB)")
    emit("review.overview_bytes", ov.nbytes / 1e6, "MB", None)
    emit("review.open_first_paint_cold_cache", results["cold"][0], "s", "< 2 s")
    emit("review.open_overview_ready_cold_cache", results["cold"][1], "s", None)
    emit("review.open_first_paint_warm_cache", results["warm"][0], "s", "< 2 s")
    emit("review.open_overview_ready_warm_cache", results["warm"][2], "s", "< 2 s")
    emit("review.zoom_scroll_step_median", results["step"][0] * 1000, "ms", "< 33 ms (30 fps)")
    emit("review.zoom_scroll_step_max", results["step"][1] * 1000, "ms", None)
    emit("review.zoom_scroll_spectrogram_ready_median", results["spec"][0] * 1000, "ms", None)
    emit("review.zoom_scroll_spectrogram_ready_max", results["spec"][1] * 1000, "ms", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
