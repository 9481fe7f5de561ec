"""The live view: scrolling waveform, FFT spectrum with its controls, scrolling spectrogram, level meters.

``LiveView.update_frame(recorder, status, dt)`` is called once per display frame: one pull from the monitor
tap (``recorder.latest``), sliced for each view, then the views redraw what changed. A view that is not on
screen (collapsed splitter, minimised window) costs nothing; nor does the whole live view while it is not
shown (a hidden tab) or after ``set_active(False)`` (its owner's choice, e.g. while another tab is in
front): no audio is pulled, no spectrum computed, no meter fed. On ``set_active(True)`` or when shown again
the waveform and spectrogram fill with the newest audio at once (their accumulators are capped at a full
view) and the meters take the recorder's snapshot of that moment.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from fieldrec.gui import dsp, theme
from fieldrec.gui.config import GuiConfig
from fieldrec.gui.meter_widget import MeterPanel
from fieldrec.gui.plots import SpectrogramView, SpectrumView, WaveformView
from fieldrec.gui.setup_bar import select_data
from fieldrec.recorder import Recorder, TakeSettings, TakeState

FFT_SIZES = (1024, 2048, 4096, 8192, 16384, 32768)
AVERAGING = (1, 2, 4, 8, 16, 32)
WAVEFORM_SECONDS = 5.0
SPECTROGRAM_COLUMN_S = 1.0 / 30.0
#: the spectrum and the spectrogram redraw every SPECTRA_EVERY display frames (15 Hz at 30 fps)
SPECTRA_EVERY = 2


def spectrogram_nfft(samplerate: int) -> int:
    """About 40 ms per spectrogram frame, a power of two (2048 at 48 kHz, 8192 at 192 kHz)."""
    return 1 << max(9, int(math.ceil(math.log2(samplerate * 0.04))))


def on_screen(w: QWidget) -> bool:
    """The widget is shown with some area, in a window that is not minimised."""
    return w.isVisible() and w.width() > 1 and w.height() > 1 and not w.window().isMinimized()


class LiveView(QSplitter):
    """Plots on the left (waveform above; spectrum and spectrogram below their controls), meters on the right.

    FFT size, window, averaging, channel and waveform zoom are remembered in ``cfg``."""

    def __init__(self, cfg: GuiConfig, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.cfg = cfg
        plots = QSplitter(Qt.Orientation.Vertical, self)
        self.waveform = WaveformView(cfg.samplerate, cfg.channels, seconds=WAVEFORM_SECONDS)
        self.waveform.follow_width = True  # one (min, max) pair per pixel column
        plots.addWidget(self.waveform)
        lower = QWidget(plots)
        ll = QVBoxLayout(lower)
        ll.setContentsMargins(0, 0, 0, 0)
        ctl = QHBoxLayout()
        self.fft_combo = QComboBox(lower)
        self.fft_combo.setObjectName("fftSizeCombo")
        for n in FFT_SIZES:
            self.fft_combo.addItem(str(n), n)
        self.window_combo = QComboBox(lower)
        self.window_combo.setObjectName("windowCombo")
        for w in dsp.WINDOWS:
            self.window_combo.addItem(w, w)
        self.avg_combo = QComboBox(lower)
        self.avg_combo.setObjectName("averagingCombo")
        for a in AVERAGING:
            self.avg_combo.addItem("off" if a == 1 else f"{a} frames", a)
        self.chan_combo = QComboBox(lower)
        self.chan_combo.setObjectName("analysisChannelCombo")
        self.zoom_combo = QComboBox(lower)
        self.zoom_combo.setObjectName("waveformZoomCombo")
        self.zoom_combo.setToolTip("Vertical zoom of the waveform for quiet scenes (+12 dB = x4); levels: see the meters")
        for gain, text in ((1.0, "x1 (0 dB)"), (4.0, "x4 (+12 dB)"), (16.0, "x16 (+24 dB)"), (64.0, "x64 (+36 dB)")):
            self.zoom_combo.addItem(text, gain)
        self.hold_reset = QPushButton("Reset peak hold", lower)
        self.hold_reset.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for label, w in (
            ("FFT", self.fft_combo),
            ("Window", self.window_combo),
            ("Averaging", self.avg_combo),
            ("Channel", self.chan_combo),
            ("Waveform zoom", self.zoom_combo),
        ):
            ctl.addWidget(QLabel(label, lower))
            ctl.addWidget(w)
        ctl.addWidget(self.hold_reset)
        ctl.addStretch(1)
        ll.addLayout(ctl)
        spl = QSplitter(Qt.Orientation.Horizontal, lower)
        self.spectrum = SpectrumView()
        self.spectrogram = SpectrogramView(columns=300)
        spl.addWidget(self.spectrum)
        spl.addWidget(self.spectrogram)
        ll.addWidget(spl, 1)
        plots.addWidget(lower)
        plots.setSizes([380, 420])
        self.addWidget(plots)
        self.meters = MeterPanel(cfg.channels)
        self.meters.setMinimumWidth(250)
        self.addWidget(self.meters)
        self.setStretchFactor(0, 4)
        self.setStretchFactor(1, 1)

        select_data(self.fft_combo, cfg.fft_size)
        select_data(self.window_combo, cfg.fft_window)
        select_data(self.avg_combo, cfg.fft_averaging)
        self.spectrum.averaging = int(self.avg_combo.currentData())
        select_data(self.zoom_combo, float(cfg.waveform_zoom))
        self.waveform.gain = float(self.zoom_combo.currentData())
        for combo in (self.fft_combo, self.window_combo, self.avg_combo, self.chan_combo):
            combo.currentIndexChanged.connect(self._analysis_changed)
        self.hold_reset.clicked.connect(self.spectrum.reset)
        self.zoom_combo.currentIndexChanged.connect(self._zoom_changed)
        self._wave_acc = 0.0
        self._sg_acc = 0.0
        self._sg_drawn = -1
        self._frames = 0
        self._active = True
        self._missed_s = 0.0  # seconds of frames skipped while inactive

    def set_active(self, active: bool) -> None:
        """False: ``update_frame`` does nothing at all (the owner shows something else in front of the live
        view); True: it draws again from the newest audio."""
        self._active = bool(active)

    def is_active(self) -> bool:
        """Whether the live view is updated: active (``set_active``) and on screen."""
        return self._active and on_screen(self)

    # -- settings ------------------------------------------------------------------------------
    def configure(self, s: TakeSettings) -> None:
        """Size every view for the input's rate and channel count."""
        self.waveform.configure(s.samplerate, s.channels)
        self.meters.set_channels(s.channels)
        self.spectrum.set_range(s.samplerate)
        self.spectrum.reset()
        self.spectrogram.configure(s.samplerate, SPECTROGRAM_COLUMN_S)
        self.chan_combo.blockSignals(True)
        keep = self.chan_combo.currentData()
        self.chan_combo.clear()
        self.chan_combo.addItem("all", None)
        for c in range(s.channels):
            self.chan_combo.addItem(f"{c + 1}", c)
        select_data(self.chan_combo, keep)
        self.chan_combo.blockSignals(False)
        self._wave_acc = 0.0
        self._sg_acc = 0.0

    def _zoom_changed(self, *_a) -> None:
        self.waveform.gain = float(self.zoom_combo.currentData())
        self.cfg.waveform_zoom = self.waveform.gain
        title = "Waveform" if self.waveform.gain == 1.0 else f"Waveform (zoom {self.zoom_combo.currentText()})"
        self.waveform.plot_item.setTitle(title, color=theme.DIM if self.waveform.gain == 1.0 else theme.YELLOW,
                                         size="10pt")
        self.waveform.viewport().update()  # the views repaint only when told (plots._repaint_all)

    def _analysis_changed(self, *_a) -> None:
        self.cfg.fft_size = int(self.fft_combo.currentData())
        self.cfg.fft_window = str(self.window_combo.currentData())
        self.cfg.fft_averaging = int(self.avg_combo.currentData())
        self.spectrum.averaging = self.cfg.fft_averaging
        self.spectrum.reset()

    # -- takes ---------------------------------------------------------------------------------
    def new_take(self) -> None:
        self.waveform.clear_markers()
        self.meters.reset_clips()

    def add_marker(self, frame: int, label: str, file_frame_now: int) -> None:
        self.waveform.add_marker(frame, label, file_frame_now)

    # -- the frame -----------------------------------------------------------------------------
    def update_frame(self, r: Recorder, st, dt: float, update_text: bool) -> None:
        """Pull the newest audio and meters from ``r`` (status ``st``, ``dt`` s since the last frame); nothing
        while the live view is inactive or not on screen."""
        if not self.is_active():
            self._missed_s = min(self._missed_s + dt, 2 * WAVEFORM_SECONDS)  # caught up when shown again
            return
        dt, self._missed_s = dt + self._missed_s, 0.0
        self._frames += 1
        sr = st.samplerate
        running = st.state is not TakeState.IDLE and st.device_state == "ok"
        show_wave, show_spec, show_sg = (on_screen(v) for v in (self.waveform, self.spectrum, self.spectrogram))
        # waveform and meters every frame; spectrum and spectrogram at half the frame rate, on alternate frames
        # (no audio is skipped: the spectrum's window spans two frames, the spectrogram adds both columns)
        spec_turn = self._frames % SPECTRA_EVERY == 0
        show_spec = show_spec and spec_turn
        show_sg = show_sg and not spec_turn
        if running:
            self._wave_acc += dt * sr
            n_wave = int(min(self._wave_acc, WAVEFORM_SECONDS * sr))
            self._wave_acc -= n_wave
            nfft = int(self.fft_combo.currentData())
            hop = max(1, int(round(SPECTROGRAM_COLUMN_S * sr)))
            self._sg_acc = min(self._sg_acc + dt * sr, self.spectrogram.columns * hop)  # capped while hidden
            k = min(int(self._sg_acc // hop), self.spectrogram.columns) if show_sg else 0
            self._sg_acc -= k * hop
            sg_nfft = spectrogram_nfft(sr)
            n_sg = (k - 1) * hop + sg_nfft if k > 0 else 0
            x = r.latest(max(n_wave if show_wave else 0, 2 * nfft if show_spec else 0, n_sg if show_sg else 0))
            ch = self.chan_combo.currentData()
            # waveform: the frames that arrived since the previous frame (by the clock; capped)
            if n_wave > 0 and show_wave:
                self.waveform.push(x[-n_wave:])
            xs = x if ch is None else x[:, ch]
            # spectrum: FFT size x 2 newest frames, Welch (3 segments), then exponential averaging
            if len(x) >= 64 and show_spec:
                f, db = dsp.spectrum_dbfs(xs[-2 * nfft :], sr, nfft, str(self.window_combo.currentData()))
                self.spectrum.update_spectrum(f, db, steps=SPECTRA_EVERY)
            # spectrogram: one column per 1/30 s of audio (a true time axis even when the GUI lags)
            if k > 0 and len(x) >= sg_nfft and show_sg:
                freqs, cols = dsp.spectrogram_columns_db(xs[-n_sg:], sr, sg_nfft, hop, "hann")
                self.spectrogram.add_columns(freqs, np.maximum(cols, self.spectrogram.levels[0]))
        if show_wave:
            self.waveform.refresh(round(st.elapsed_s * sr) if st.state is TakeState.RECORDING else None)
        if show_sg and self.spectrogram.total_columns != self._sg_drawn:
            self._sg_drawn = self.spectrogram.total_columns
            self.spectrogram.refresh()
        snap = r.meters()
        if snap is not None:
            self.meters.set_snapshot(snap, dt, update_text=update_text)
