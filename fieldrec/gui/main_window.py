"""The live recording window: set-up, transport, waveform, spectrum, spectrogram, meters, health, metadata.

A view only: it drives ``fieldrec.recorder.Recorder`` and pulls ``latest()``, ``meters()`` and ``status()``
from a QTimer at ~30 fps. Nothing here can block the audio callback or the writer: every call it makes on
the recorder copies a little data and returns (``stop()`` waits for the writer to finish the file).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from fieldrec import recorder as rec_mod
from fieldrec.gui import dsp, theme
from fieldrec.gui.config import GuiConfig, save_config
from fieldrec.gui.metadata_panel import MetadataPanel
from fieldrec.gui.meter_widget import MeterPanel
from fieldrec.gui.plots import SpectrogramView, SpectrumView, WaveformView
from fieldrec.gui.status_widgets import Banner, HealthStrip, fmt_duration
from fieldrec.recorder import Recorder, RecorderError, TakeSettings, TakeState

log = logging.getLogger(__name__)

FFT_SIZES = (1024, 2048, 4096, 8192, 16384, 32768)
AVERAGING = (1, 2, 4, 8, 16, 32)
WAVEFORM_SECONDS = 5.0
SPECTROGRAM_COLUMN_S = 1.0 / 30.0


def _spectrogram_nfft(samplerate: int) -> int:
    """About 40 ms per spectrogram frame, a power of two (2048 at 48 kHz, 8192 at 192 kHz)."""
    return 1 << max(9, int(math.ceil(math.log2(samplerate * 0.04))))


class MainWindow(QMainWindow):
    """The recording window. ``recorder_factory(TakeSettings) -> Recorder``; ``config`` is remembered.

    ``auto_answer_close``: None asks with a question box when closing while recording; True/False
    answers it without asking (tests, scripted screenshots).
    """

    frameDone = Signal(float)  # seconds of GUI work in the frame (benchmarks)

    def __init__(
        self, recorder_factory: Callable[[TakeSettings], Recorder] = Recorder, config: GuiConfig | None = None
    ):
        super().__init__()
        self.config = config or GuiConfig()
        self.recorder_factory = recorder_factory
        self.recorder: Recorder | None = None
        self.auto_answer_close: bool | None = None
        self.markers: list[Any] = []
        self.frame_count = 0
        self.first_frame_time: float | None = None
        self._devices: list[Any] = []
        self._last_tick = time.monotonic()
        self._wave_acc = 0.0
        self._sg_acc = 0.0
        self._was_recording = False
        self._sg_drawn = -1
        self._last_display_error = ""
        self._health_red = False
        self._user_stopping = False
        self._seen_overflows = 0
        self._seen_device_state = "ok"
        self._edit_last_take = False
        self._last_warning: str | None = None
        self._building = True
        self.setWindowTitle("fieldrec — recording")
        self._build_ui()
        self._populate_devices(refresh=False)
        self._restore_geometry()
        self._building = False
        self._settings_changed()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_frame)
        self.timer.start(max(5, int(1000 / max(1, self.config.fps))))
        self.start_armed = not self.config.arm_on_start
        if self.config.arm_on_start:  # after the first paint: opening the input loads scipy and PortAudio
            QTimer.singleShot(0, self._arm_on_start)

    def _arm_on_start(self) -> None:
        if self.recorder is None:
            self.arm()
        self.start_armed = True  # done trying (armed, or the reason is in the banner)

    # ================================================================ construction
    def _build_ui(self) -> None:
        cfg = self.config
        central = QWidget(self)
        root = QVBoxLayout(central)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)

        self.banner = Banner(central)
        root.addWidget(self.banner)

        # -- input set-up ------------------------------------------------------------------------
        setup = QGroupBox("Input and file", central)
        sl = QHBoxLayout(setup)
        self.device_combo = QComboBox(setup)
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setMinimumWidth(220)
        self.device_combo.setToolTip("Input device, remembered by name")
        self.refresh_button = QPushButton("⟳", setup)
        self.refresh_button.setObjectName("refreshDevices")
        self.refresh_button.setToolTip("Re-scan devices (for an interface plugged in after start)")
        self.rate_combo = QComboBox(setup)
        self.rate_combo.setObjectName("rateCombo")
        for r in rec_mod.COMMON_RATES:
            self.rate_combo.addItem(f"{r / 1000:g} kHz", r)
        self.channels_spin = QSpinBox(setup)
        self.channels_spin.setObjectName("channelsSpin")
        self.channels_spin.setRange(1, 64)
        self.channels_spin.setValue(cfg.channels)
        self.channels_spin.setSuffix(" ch")
        self.format_combo = QComboBox(setup)
        self.format_combo.setObjectName("formatCombo")
        for name in rec_mod.SUPPORTED_FORMATS:
            self.format_combo.addItem(name)
        self.folder_edit = QLineEdit(cfg.out_dir, setup)
        self.folder_edit.setObjectName("folderEdit")
        self.folder_edit.setToolTip("Output folder")
        self.folder_button = QPushButton("…", setup)
        self.folder_button.setToolTip("Choose the output folder")
        self.template_edit = QLineEdit(cfg.name_template, setup)
        self.template_edit.setObjectName("templateEdit")
        self.template_edit.setToolTip("Take name: {date} {time} {location} {device} {samplerate} {channels}")
        for label, w, stretch in (
            ("Device", self.device_combo, 2),
            (None, self.refresh_button, 0),
            ("Rate", self.rate_combo, 0),
            ("Channels", self.channels_spin, 0),
            ("Format", self.format_combo, 0),
            ("Folder", self.folder_edit, 2),
            (None, self.folder_button, 0),
            ("Take name", self.template_edit, 2),
        ):
            if label:
                sl.addWidget(QLabel(label, setup))
            sl.addWidget(w, stretch)
        root.addWidget(setup)
        self.settings_problem = QLabel("", central)
        self.settings_problem.setObjectName("settingsProblem")
        self.settings_problem.setWordWrap(True)
        self.settings_problem.setStyleSheet(f"color: {theme.RED}; font-weight: bold;")
        self.settings_problem.hide()
        root.addWidget(self.settings_problem)

        # -- transport ---------------------------------------------------------------------------
        tr = QHBoxLayout()
        self.arm_button = QPushButton("ARM", central)
        self.arm_button.setObjectName("armButton")
        self.arm_button.setCheckable(True)
        self.arm_button.setToolTip("Monitor the input without writing a file")
        self.record_button = QPushButton("●  RECORD", central)
        self.record_button.setObjectName("recordButton")
        self.record_button.setToolTip("Start recording (Space or R)")
        self.stop_button = QPushButton("■  STOP", central)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop recording (Space or R)")
        self.marker_button = QPushButton("⚑ MARK (M)", central)
        self.marker_button.setObjectName("markerButton")
        self.marker_label_edit = QLineEdit(central)
        self.marker_label_edit.setObjectName("markerLabel")
        self.marker_label_edit.setPlaceholderText("marker label (optional)")
        self.marker_label_edit.setMaximumWidth(200)
        self.marker_label_edit.setMinimumWidth(140)
        for b in (self.arm_button, self.record_button, self.stop_button, self.marker_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(44)
            b.setMinimumWidth(max(110, b.sizeHint().width()))
        self.state_label = QLabel("IDLE", central)
        self.state_label.setObjectName("stateLabel")
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.state_label.setMinimumWidth(190)
        self.elapsed_label = QLabel("00:00.0", central)
        self.elapsed_label.setObjectName("elapsedLabel")
        self.elapsed_label.setStyleSheet(
            "font-family: 'DejaVu Sans Mono', monospace; font-size: 34px; font-weight: bold;"
        )
        self.elapsed_label.setMinimumWidth(190)
        self.take_label = QLabel("no take yet", central)
        self.take_label.setObjectName("takeLabel")
        self.take_label.setStyleSheet(f"color: {theme.DIM}; font-size: 14px;")
        # a long file name must not squeeze the transport buttons
        self.take_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        for w in (
            self.arm_button,
            self.record_button,
            self.stop_button,
            self.marker_button,
            self.marker_label_edit,
        ):
            tr.addWidget(w)
        tr.addSpacing(12)
        tr.addWidget(self.state_label)
        tr.addWidget(self.elapsed_label)
        tr.addWidget(self.take_label, 1)
        root.addLayout(tr)

        # -- plots and meters ------------------------------------------------------------------
        body = QSplitter(Qt.Orientation.Horizontal, central)
        plots = QSplitter(Qt.Orientation.Vertical, body)
        self.waveform = WaveformView(cfg.samplerate, cfg.channels, seconds=WAVEFORM_SECONDS)
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
        body.addWidget(plots)
        self.meters = MeterPanel(cfg.channels)
        self.meters.setMinimumWidth(250)
        body.addWidget(self.meters)
        body.setStretchFactor(0, 4)
        body.setStretchFactor(1, 1)
        root.addWidget(body, 1)

        self.health = HealthStrip(central)
        root.addWidget(self.health)
        self.setCentralWidget(central)

        # -- metadata and markers dock ---------------------------------------------------------
        dock = QDockWidget("Take metadata and markers", self)
        dock.setObjectName("metadataDock")
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        side = QWidget(dock)
        sv = QVBoxLayout(side)
        self.metadata_target = QLabel("Metadata for the next take", side)
        self.metadata_target.setObjectName("metadataTarget")
        self.metadata_target.setWordWrap(True)
        self.metadata_target.setStyleSheet("font-weight: bold;")
        sv.addWidget(self.metadata_target)
        self.metadata_panel = MetadataPanel(side)
        self.metadata_panel.set_metadata(cfg.metadata)
        sv.addWidget(self.metadata_panel, 3)
        self.detach_button = QPushButton("Done editing last take", side)
        self.detach_button.setToolTip("Further edits are for the next take only")
        self.detach_button.hide()
        sv.addWidget(self.detach_button)
        sv.addWidget(QLabel("Markers", side))
        self.marker_list = QListWidget(side)
        self.marker_list.setObjectName("markerList")
        sv.addWidget(self.marker_list, 1)
        dock.setWidget(side)
        dock.setMinimumWidth(280)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.metadata_dock = dock

        # -- select remembered values ----------------------------------------------------------
        self._select_data(self.rate_combo, cfg.samplerate)
        i = self.format_combo.findText(cfg.format_name)
        self.format_combo.setCurrentIndex(max(0, i))
        self._select_data(self.fft_combo, cfg.fft_size)
        self._select_data(self.window_combo, cfg.fft_window)
        self._select_data(self.avg_combo, cfg.fft_averaging)
        self.spectrum.averaging = int(self.avg_combo.currentData())
        self._select_data(self.zoom_combo, float(cfg.waveform_zoom))
        self.waveform.gain = float(self.zoom_combo.currentData())

        # -- signals ---------------------------------------------------------------------------
        self.device_combo.currentIndexChanged.connect(self._device_changed)
        self.refresh_button.clicked.connect(self.refresh_devices)
        self.rate_combo.currentIndexChanged.connect(self._settings_changed)
        self.channels_spin.valueChanged.connect(self._settings_changed)
        self.format_combo.currentIndexChanged.connect(self._settings_changed)
        self.folder_edit.editingFinished.connect(self._settings_changed)
        self.template_edit.editingFinished.connect(self._settings_changed)
        self.folder_button.clicked.connect(self._choose_folder)
        self.arm_button.clicked.connect(self._arm_clicked)
        self.record_button.clicked.connect(self.record)
        self.stop_button.clicked.connect(self.stop)
        self.marker_button.clicked.connect(self.add_marker)
        self.fft_combo.currentIndexChanged.connect(self._analysis_changed)
        self.window_combo.currentIndexChanged.connect(self._analysis_changed)
        self.avg_combo.currentIndexChanged.connect(self._analysis_changed)
        self.chan_combo.currentIndexChanged.connect(self._analysis_changed)
        self.hold_reset.clicked.connect(self.spectrum.reset)
        self.zoom_combo.currentIndexChanged.connect(self._zoom_changed)
        self.meters.clipResetRequested.connect(self.reset_clips)
        self.metadata_panel.metadataChanged.connect(self._metadata_changed)
        self.detach_button.clicked.connect(self._detach_metadata)

        # -- keys: Space/R record-stop, M marker (text fields keep their keys) --------------------
        for key in (Qt.Key.Key_Space, Qt.Key.Key_R):
            QShortcut(QKeySequence(key), self, self.toggle_record)
        QShortcut(QKeySequence(Qt.Key.Key_M), self, self.add_marker)

    @staticmethod
    def _select_data(combo: QComboBox, value: Any) -> None:
        i = combo.findData(value)
        if i >= 0:
            combo.setCurrentIndex(i)

    def _restore_geometry(self) -> None:
        if self.config.geometry:
            self.restoreGeometry(QByteArray.fromHex(self.config.geometry.encode()))
        else:
            self.resize(1560, 960)
        if self.config.window_state:
            self.restoreState(QByteArray.fromHex(self.config.window_state.encode()))

    # ================================================================ settings
    def _populate_devices(self, refresh: bool) -> None:
        wanted = self.device_combo.currentData() if self.device_combo.count() else self.config.device
        try:
            self._devices = rec_mod.list_input_devices(refresh=refresh)
        except Exception as err:  # PortAudio trouble must not stop the window
            self.notify(f"Could not list devices: {err}", "error")
            self._devices = []
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem("System default input", None)
        for d in self._devices:
            text = d.name if d.index >= 0 else "Simulated (no hardware)"
            self.device_combo.addItem(text, d.name)
            self.device_combo.setItemData(
                self.device_combo.count() - 1,
                f"{d.name}: {d.max_input_channels} inputs, {d.hostapi}",
                Qt.ItemDataRole.ToolTipRole,
            )
        i = self.device_combo.findData(wanted)
        if i < 0 and wanted is not None:
            self.notify(f"Device {wanted!r} is not connected; using the system default input", "warning")
        self.device_combo.setCurrentIndex(max(0, i))
        self.device_combo.blockSignals(False)
        if refresh:
            self.notify(f"Found {len(self._devices)} input device(s)", "info")
            self._device_changed()

    def refresh_devices(self) -> None:
        """Re-scan for hot-plugged interfaces. PortAudio must not have a stream open while it re-scans, so the
        input is closed first and re-armed after (never during a take: the button is disabled then)."""
        if self.is_recording():
            return
        was_armed = self.recorder is not None and self.recorder.state is not TakeState.IDLE
        self._close_recorder()
        self._populate_devices(refresh=True)
        if was_armed and self.recorder is None and not self.settings_problem.isVisible():
            self.arm()
        self._update_transport()

    def _device_info(self):
        name = self.device_combo.currentData()
        for d in self._devices:
            if d.name == name:
                return d
        return None

    def _device_changed(self, *_a) -> None:
        if self._building:
            return
        self._settings_changed()

    def current_settings(self) -> TakeSettings:
        container, subtype = rec_mod.SUPPORTED_FORMATS[self.format_combo.currentText()]
        return TakeSettings(
            device=self.device_combo.currentData(),
            samplerate=int(self.rate_combo.currentData()),
            channels=int(self.channels_spin.value()),
            container=container,
            subtype=subtype,
            out_dir=Path(self.folder_edit.text().strip() or self.config.out_dir).expanduser(),
            name_template=self.template_edit.text().strip() or rec_mod.DEFAULT_TEMPLATE,
        )

    def _explain_rates(self, base: TakeSettings) -> None:
        """Disable the sample rates the device cannot do, with the reason as tooltip."""
        model = self.rate_combo.model()
        for i in range(self.rate_combo.count()):
            s = TakeSettings(**{**base.__dict__, "samplerate": int(self.rate_combo.itemData(i))})
            reason = rec_mod.check_settings(s)
            item = model.item(i)
            item.setEnabled(reason is None)
            item.setToolTip(reason or "")

    def _settings_changed(self, *_a) -> None:
        """Re-check the combination; if it is fine and nothing is recording, reopen the input."""
        if self._building:
            return
        dev = self._device_info()
        if dev is not None:
            self.channels_spin.blockSignals(True)
            self.channels_spin.setMaximum(max(1, dev.max_input_channels))
            self.channels_spin.blockSignals(False)
        settings = self.current_settings()
        self._store_settings_in_config()
        r = self.recorder
        if r is not None and r.state is TakeState.RECORDING:
            return  # the set-up is locked while recording
        if r is not None and r.state is not TakeState.IDLE and r.settings == settings:
            self._show_settings_problem(None)  # open and running with exactly these settings
            return
        was_armed = r is not None and r.state is not TakeState.IDLE
        # Probe with our own stream closed: an ALSA hw device held by it would answer "busy" to every probe.
        self._close_recorder()
        self._explain_rates(settings)
        reason = rec_mod.check_settings(settings)
        self._show_settings_problem(reason)
        if reason is None:
            self._reconfigure_views(settings)
            if was_armed:
                self.arm()
        self._update_transport()

    def _show_settings_problem(self, reason: str | None) -> None:
        self.settings_problem.setVisible(reason is not None)
        self.settings_problem.setText(f"These settings cannot record: {reason}" if reason else "")

    def _store_settings_in_config(self) -> None:
        cfg = self.config
        cfg.device = self.device_combo.currentData()
        cfg.samplerate = int(self.rate_combo.currentData())
        cfg.channels = int(self.channels_spin.value())
        cfg.format_name = self.format_combo.currentText()
        cfg.out_dir = self.folder_edit.text().strip() or cfg.out_dir
        cfg.name_template = self.template_edit.text().strip() or cfg.name_template

    def _reconfigure_views(self, s: TakeSettings) -> None:
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
        self._select_data(self.chan_combo, keep)
        self.chan_combo.blockSignals(False)
        self._wave_acc = 0.0
        self._sg_acc = 0.0

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
            self._settings_changed()

    def _zoom_changed(self, *_a) -> None:
        self.waveform.gain = float(self.zoom_combo.currentData())
        self.config.waveform_zoom = self.waveform.gain
        title = "Waveform" if self.waveform.gain == 1.0 else f"Waveform (zoom {self.zoom_combo.currentText()})"
        self.waveform.plot_item.setTitle(title, color=theme.DIM if self.waveform.gain == 1.0 else theme.YELLOW,
                                         size="10pt")

    def _analysis_changed(self, *_a) -> None:
        self.config.fft_size = int(self.fft_combo.currentData())
        self.config.fft_window = str(self.window_combo.currentData())
        self.config.fft_averaging = int(self.avg_combo.currentData())
        self.spectrum.averaging = self.config.fft_averaging
        self.spectrum.reset()

    # ================================================================ transport
    def _close_recorder(self) -> None:
        if self.recorder is not None:
            try:
                self.recorder.close()
            except Exception as err:
                self.notify(f"Closing the input failed: {err}", "error")
            self.recorder = None

    def arm(self) -> bool:
        """Open the input (monitor without writing). Returns False (and shows why) when it cannot."""
        settings = self.current_settings()
        try:
            if self.recorder is None:
                self._reconfigure_views(settings)
                self.recorder = self.recorder_factory(settings)
            self.recorder.arm()
        except (RecorderError, OSError, ValueError) as err:
            self.notify(f"Cannot open the input: {err}", "error")
            self._close_recorder()
            self._update_transport()
            return False
        self._last_tick = time.monotonic()
        self._update_transport()
        return True

    def disarm(self) -> None:
        if self.recorder is not None and self.recorder.state is TakeState.RECORDING:
            return
        self._close_recorder()
        self._update_transport()

    def _arm_clicked(self, checked: bool) -> None:
        if checked:
            self.arm()
        else:
            self.disarm()

    def is_recording(self) -> bool:
        return self.recorder is not None and self.recorder.state is TakeState.RECORDING

    def toggle_record(self) -> None:
        if self.is_recording():
            self.stop()
        else:
            self.record()

    def record(self) -> bool:
        if self.is_recording():
            return True
        if self.recorder is None and not self.arm():
            return False
        assert self.recorder is not None
        self.metadata_panel.flush()
        if not self.metadata_panel.is_valid():
            self.notify(
                "Recording without the fields marked red; fix them and they are saved to this take as "
                "soon as they are valid",
                "warning",
            )
        self._edit_last_take = False
        try:
            paths = self.recorder.record(self.metadata_panel.metadata()).paths
        except RecorderError as err:
            self.notify(f"Cannot record: {err}", "error")
            self._update_transport()
            return False
        self.markers = []
        self.marker_list.clear()
        self.waveform.clear_markers()
        self.meters.reset_clips()
        self._was_recording = True
        self._seen_overflows = 0
        self.take_label.setText(paths.audio.name)
        self.take_label.setToolTip(str(paths.audio))
        self.metadata_target.setText(
            f"Metadata of {paths.audio.name} (recording; edits are saved as you type)"
        )
        self._update_transport()
        log.info("GUI: recording %s", paths.audio)
        return True

    def stop(self) -> Any:
        if not self.is_recording():
            return None
        assert self.recorder is not None
        self.metadata_panel.flush()
        self._user_stopping = True
        try:
            take = self.recorder.stop("user")
            result = take.wait() if take is not None else None  # non-blocking stop comes with the window split
        finally:
            self._user_stopping = False
        self._was_recording = False
        self._after_take(result, by_user=True)
        return result

    def _after_take(self, result: Any, by_user: bool) -> None:
        if result is not None:
            name = result.paths.audio.name
            secs = result.frames / max(1, self.current_settings().samplerate)
            self.take_label.setText(f"{name} — {fmt_duration(secs)}, {result.stop_reason}")
            self._edit_last_take = True
            self.metadata_target.setText(
                f"Editing the last take: {name} (stopped). Edits are saved to its sidecar."
            )
            self.detach_button.show()
            if not by_user or result.overflows:
                level = (
                    "error"
                    if (result.stop_reason not in ("user", "duration") or result.overflows)
                    else "info"
                )
                detail = f" ({result.stop_detail})" if result.stop_detail else ""
                lost = f"; {len(result.overflows)} overflow(s)" if result.overflows else ""
                self.notify(f"Take {name} ended: {result.stop_reason}{detail}{lost}", level)
        self._update_transport()

    def _detach_metadata(self) -> None:
        self._edit_last_take = False
        self.detach_button.hide()
        self.metadata_target.setText("Metadata for the next take")

    def add_marker(self) -> Any:
        if not self.is_recording():
            self.notify("Markers are added while recording", "info")
            return None
        assert self.recorder is not None
        label = self.marker_label_edit.text().strip()
        try:
            m = self.recorder.add_marker(label)
        except RecorderError as err:
            self.notify(f"Marker not added: {err}", "warning")
            return None
        self.marker_label_edit.clear()
        self.markers.append(m)
        self.marker_list.addItem(
            f"{len(self.markers)}. {fmt_duration(m.time_s)}  (frame {m.frame})  {m.label}"
        )
        self.marker_list.scrollToBottom()
        now = self.recorder.status()
        self.waveform.add_marker(
            m.frame, m.label or f"M{len(self.markers)}", round(now.elapsed_s * now.samplerate)
        )
        return m

    def reset_clips(self) -> None:
        if self.recorder is not None:
            self.recorder.reset_clips()
        self.meters.reset_clips()

    def _metadata_changed(self, md: dict) -> None:
        self.config.metadata = md
        r = self.recorder
        if r is None:
            return
        if r.state is TakeState.RECORDING or self._edit_last_take:
            try:
                r.update_metadata(md)
            except RecorderError as err:
                self.notify(f"Metadata not saved: {err}", "warning")

    def _update_transport(self) -> None:
        r = self.recorder
        state = r.state if r is not None else TakeState.IDLE
        recording = state is TakeState.RECORDING
        ok = not self.settings_problem.isVisible()
        self.arm_button.setChecked(state is not TakeState.IDLE)
        self.arm_button.setEnabled(not recording and ok)
        self.record_button.setEnabled(not recording and ok)
        self.record_button.setProperty("recording", recording)
        self.record_button.style().unpolish(self.record_button)
        self.record_button.style().polish(self.record_button)
        self.stop_button.setEnabled(recording)
        self.marker_button.setEnabled(recording)
        for w in (
            self.device_combo,
            self.refresh_button,
            self.rate_combo,
            self.channels_spin,
            self.format_combo,
            self.folder_edit,
            self.folder_button,
            self.template_edit,
        ):
            w.setEnabled(not recording)
        text, bg = {
            TakeState.IDLE: ("IDLE", theme.PANEL_2),
            TakeState.ARMED: ("ARMED", "#1f5f3a"),
            TakeState.RECORDING: ("● RECORDING", theme.REC_RED),
        }[state]
        if self.state_label.text() == text:
            return
        self.setWindowTitle(f"fieldrec — {text.strip('● ').lower()}" + (f" — {self.take_label.text()}" if recording else ""))
        self.state_label.setText(text)
        self.state_label.setStyleSheet(
            f"background: {bg}; color: white; font-size: 20px; font-weight: bold; "
            "padding: 6px 12px; border-radius: 4px;"
        )

    # ================================================================ notifications
    def notify(self, text: str, level: str = "info") -> None:
        """Show a non-blocking message in the banner (and log it)."""
        self.banner.show_message(text, level)

    # ================================================================ the frame
    def _on_frame(self) -> None:
        t0 = time.perf_counter()
        now = time.monotonic()
        dt = min(1.0, now - self._last_tick)
        self._last_tick = now
        r = self.recorder
        if r is None:
            return
        try:
            self._update_views(r, dt)
        except Exception as err:  # a display bug must never take the recording down with it
            text = f"Display error (recording continues): {err}"
            if text != self._last_display_error:  # once, not 30 times a second
                self._last_display_error = text
                log.exception("display update failed")
                self.notify(text, "error")
        work = time.perf_counter() - t0
        self.frame_count += 1
        if self.first_frame_time is None:
            self.first_frame_time = time.monotonic()
        self.frameDone.emit(work)

    def _update_views(self, r: Recorder, dt: float) -> None:
        st = r.status()
        sr = st.samplerate
        running = st.state is not TakeState.IDLE and st.device_state == "ok"
        if running:
            # one pull from the monitor tap per frame, sliced for each view
            self._wave_acc += dt * sr
            n_wave = int(min(self._wave_acc, WAVEFORM_SECONDS * sr))
            self._wave_acc -= n_wave
            nfft = int(self.fft_combo.currentData())
            hop = max(1, int(round(SPECTROGRAM_COLUMN_S * sr)))
            self._sg_acc += dt * sr
            k = min(int(self._sg_acc // hop), self.spectrogram.columns)
            self._sg_acc -= k * hop
            sg_nfft = _spectrogram_nfft(sr)
            n_sg = (k - 1) * hop + sg_nfft if k > 0 else 0
            x = r.latest(max(n_wave, 2 * nfft, n_sg))
            ch = self.chan_combo.currentData()
            # waveform: the frames that arrived since the previous frame (by the clock; capped)
            if n_wave > 0:
                self.waveform.push(x[-n_wave:])
            xs = x if ch is None else x[:, ch]
            # spectrum: FFT size x 2 newest frames, Welch (3 segments), then exponential averaging
            if len(x) >= 64:
                f, db = dsp.spectrum_dbfs(xs[-2 * nfft :], sr, nfft, str(self.window_combo.currentData()))
                self.spectrum.update_spectrum(f, db)
            # spectrogram: one column per 1/30 s of audio (a true time axis even when the GUI lags)
            if k > 0 and len(x) >= sg_nfft:
                freqs, cols = dsp.spectrogram_columns_db(xs[-n_sg:], sr, sg_nfft, hop, "hann")
                self.spectrogram.add_columns(freqs, np.maximum(cols, self.spectrogram.levels[0]))
        self.waveform.refresh(round(st.elapsed_s * sr) if st.state is TakeState.RECORDING else None)
        if self.spectrogram.total_columns != self._sg_drawn:
            self._sg_drawn = self.spectrogram.total_columns
            self.spectrogram.refresh()
        snap = r.meters()
        # numbers are read, not watched: text readouts at 10 Hz (bars and lamps every frame)
        text_frame = self.frame_count % 3 == 0 or bool(st.overflows) != self._health_red
        if snap is not None:
            self.meters.set_snapshot(snap, dt, update_text=text_frame)
        if text_frame:
            self._health_red = bool(st.overflows)
            self.health.set_status(st)
        self.elapsed_label.setText(fmt_duration(st.elapsed_s if st.state is TakeState.RECORDING else 0.0))
        # events the recordist must see at once
        if len(st.overflows) > self._seen_overflows:
            ev = st.overflows[-1]
            self.notify(
                f"INPUT OVERFLOW at {fmt_duration(ev.time_s)} ({ev.kind}, {ev.frames_lost} frames lost) — "
                "audio is missing from the file at that point",
                "error",
            )
            self._seen_overflows = len(st.overflows)
        if st.device_state != self._seen_device_state:
            if st.device_state == "stalled":  # a busy machine or a hiccup: the take goes on
                self.notify(f"Input {st.device_name!r} stalled: no audio for over a second; watch the "
                            "overflow count", "warning")
            elif st.device_state != "ok":
                self.notify(
                    f"Input {st.device_name!r} {st.device_state}: reconnect it, refresh the device list "
                    "and arm again",
                    "error",
                )
            self._seen_device_state = st.device_state
        if st.warning and st.warning != self._last_warning:
            self.notify(st.warning, "warning")
        self._last_warning = st.warning
        if self._was_recording and st.state is not TakeState.RECORDING and not self._user_stopping:
            self._was_recording = False  # the take ended by itself (duration, device lost, disk full, error)
            self._after_take(r.wait(), by_user=False)  # its finalisation is shown by the window split (issue 13)
        if (st.state is TakeState.RECORDING) != self.stop_button.isEnabled():
            self._update_transport()

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        if self.is_recording():
            answer = self.auto_answer_close
            if answer is None:
                reply = QMessageBox.question(
                    self,
                    "Stop recording?",
                    "A take is recording. Stop it, save the file and close?",
                    QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                    QMessageBox.StandardButton.No,
                )
                answer = reply == QMessageBox.StandardButton.Yes
            if not answer:
                event.ignore()
                return
            self.stop()
        self.timer.stop()
        self.metadata_panel.flush()
        self._store_settings_in_config()
        self.config.geometry = bytes(self.saveGeometry().toHex()).decode()
        self.config.window_state = bytes(self.saveState().toHex()).decode()
        try:
            save_config(self.config)
        except OSError as err:
            log.error("could not save settings: %s", err)
        self._close_recorder()
        event.accept()
