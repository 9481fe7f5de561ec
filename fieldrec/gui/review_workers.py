"""The review view's background work: the bridge that brings results to the GUI thread, and the
spectrogram worker (one thread, the newest request wins) so the GUI thread never waits on the file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from fieldrec.review.frames import TakeReader
from fieldrec.review.overview import SPEC_NFFT, Overview
from fieldrec.review.spectra import Spectrogram, range_spectrogram


class Bridge(QObject):
    """Delivers a worker's result to the GUI thread (queued signal)."""

    done = Signal(str, object, int)  # kind, result (or Exception), generation
    progress = Signal(float)


class SpectrogramWorker:
    """One thread that computes the spectrogram of the newest requested range (older requests are dropped),
    so the GUI thread never waits on the file. Wide views come from the overview's spectral columns. Each
    answer goes out as ``(the request's arguments, Spectrogram or Exception)``."""

    def __init__(self, audio: Path, bridge: Bridge, gen: int) -> None:
        self.audio, self.bridge, self.gen = audio, bridge, gen
        self.overview: Overview | None = None
        self._cond = threading.Condition()
        self._request: tuple | None = None
        self._closed = False
        self.thread = threading.Thread(target=self._run, name="fieldrec-review-spectrogram", daemon=True)
        self.thread.start()

    def request(self, *args: Any) -> None:
        with self._cond:
            self._request = args
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        reader = None
        try:
            while True:
                with self._cond:
                    while self._request is None and not self._closed:
                        self._cond.wait()
                    if self._closed:
                        return
                    asked = self._request
                    a, b, nfft, cols, channel = asked
                    self._request = None
                try:
                    ov = self.overview
                    wide = ov.spectrogram(a, b, cols) if ov is not None and nfft == SPEC_NFFT and channel is None \
                        else None
                    if wide is not None:
                        centres, db = wide
                        freqs = np.fft.rfftfreq(SPEC_NFFT, 1.0 / ov.samplerate)
                        sg: Any = Spectrogram(freqs, centres / ov.samplerate, db, a, b)
                    else:
                        if reader is None:
                            reader = TakeReader(self.audio)
                        sg = range_spectrogram(reader, a, b, nfft=nfft, max_columns=cols, channel=channel)
                except Exception as err:  # said on the status line; the next request tries again
                    sg = err
                self.bridge.done.emit("spectrogram", (asked, sg), self.gen)
        finally:
            if reader is not None:
                reader.close()
