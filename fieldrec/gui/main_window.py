"""The recording window: it wires the parts together and drives the take.

What is shown lives in its own module: ``setup_bar`` (input and file), ``transport_bar`` (transport and take
bar), ``live_view`` (waveform, spectrum, spectrogram, meters), ``metadata_dock`` (metadata form and markers),
``status_widgets`` (banner and health strip), ``tabs`` (the Live, Library and Review tabs: ``library``,
``review``). This module holds what connects them: the recorder's life
(arm, record, stop), the settings, the keys and the keyboard focus, the frame timer and closing.

A view only: it drives ``fieldrec.recorder.Recorder`` and pulls ``latest()``, ``meters()`` and ``status()``
from a QTimer at ~30 fps. Nothing here can block the audio callback or the writer: every call it makes on
the recorder copies a little data and returns (``stop()`` waits for the writer to finish the file).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QDialog,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fieldrec import recorder as rec_mod
from fieldrec.gui.config import GuiConfig, save_config
from fieldrec.gui.field_control import FieldControl
from fieldrec.gui.field_panel import FieldPanel
from fieldrec.gui.live_view import LiveView
from fieldrec.gui.metadata_dock import MetadataDock
from fieldrec.gui.setup_bar import InputSetupBar
from fieldrec.gui.status_widgets import Banner, HealthStrip, fmt_duration
from fieldrec.gui.tabs import LIVE, REVIEW, WindowTabs
from fieldrec.gui.transport_bar import STATE_LOOK, TRIGGER_LOOK, TransportBar
from fieldrec.recorder import Recorder, RecorderError, TakeSettings, TakeState

log = logging.getLogger(__name__)

#: widgets that take typed keys: Space, R and M go to them only when the user put the focus there
TEXT_ENTRY = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)
#: ways a take ends that are part of normal work (no red banner): by hand, its length, a trigger's post-roll or
#: maximum, a split boundary, a schedule period's end, a session's run time
NORMAL_STOPS = ("user", "duration", "trigger", "split", "schedule", "run_for")


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
        self._was_recording = False
        self._take: Any = None  # the Take recording now
        self._finalising: list[tuple[Any, bool]] = []  # (Take, stopped by the user) whose finaliser still runs
        self._retired: list[Recorder] = []  # closed inputs whose takes still finalise
        self._closing = False
        self._last_display_error = ""
        self._health_red = False
        self._user_stopping = False
        self._seen_overflows = 0
        self._seen_device_state = "ok"
        self._edit_last_take = False
        self._last_warning: str | None = None
        self._building = True
        self.setWindowTitle("fieldrec")
        self._build_ui()
        # Keys (issue 11, fault 8): Space/R/M are window shortcuts; a text field keeps them only while the user
        # is typing in it. Qt moves the focus to the next widget when the focused one is disabled or hidden
        # (recording disables the set-up row): such a move must never land in a text field.
        self.centralWidget().setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click off a field leaves the field
        self._focus_hooked = QApplication.instance() is not None
        if self._focus_hooked:
            QApplication.instance().focusChanged.connect(self._focus_changed)
        self._populate_devices(refresh=False)
        self._restore_geometry()
        self._building = False
        self._settings_changed()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_frame)
        self.timer.start(self.frame_interval_ms())
        self.start_armed = not self.config.arm_on_start
        self.arm_on_start = self.config.arm_on_start  # `fieldrec library` opens the window without the input
        if self.config.arm_on_start:  # after the first paint: opening the input loads scipy and PortAudio
            QTimer.singleShot(0, self._arm_on_start)

    def _arm_on_start(self) -> None:
        if self.recorder is None and self.arm_on_start:
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
        self.transport = TransportBar(central)
        self.health = HealthStrip(central)
        live_page = QWidget(central)
        self.setup = InputSetupBar(cfg, live_page)
        self.live = LiveView(cfg, live_page)
        self._build_tabs(live_page)
        for w, stretch in ((self.banner, 0), (self.transport, 0), (self.tabs, 1), (self.health, 0)):
            root.addWidget(w, stretch)
        self.setCentralWidget(central)
        self.metadata_dock = MetadataDock(cfg.metadata, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.metadata_dock)
        # the parts' widgets by their old names (tests, tools and the rest of this class use them)
        for part, names in (
            (self.setup, "device_combo refresh_button rate_combo channels_spin format_combo folder_edit "
                         "folder_button template_edit settings_problem"),
            (self.transport, "arm_button record_button stop_button marker_button marker_label_edit state_label "
                             "elapsed_label take_label"),
            (self.live, "waveform spectrum spectrogram meters fft_combo window_combo avg_combo chan_combo "
                        "zoom_combo hold_reset"),
            (self.metadata_dock, "metadata_target metadata_panel detach_button marker_list"),
        ):
            for name in names.split():
                setattr(self, name, getattr(part, name))

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
        self.meters.clipResetRequested.connect(self.reset_clips)
        self.metadata_panel.metadataChanged.connect(self._metadata_changed)
        self.detach_button.clicked.connect(self._detach_metadata)

        # -- keys: Space/R record-stop, M marker (text fields the user typed into keep their keys) -------
        # (on the Review tab they are the review's: play, region, marker; see _tab_changed)
        self.record_keys = [QShortcut(QKeySequence(key), self, self.toggle_record)
                            for key in (Qt.Key.Key_Space, Qt.Key.Key_R)]
        self.record_keys.append(QShortcut(QKeySequence(Qt.Key.Key_M), self, self.add_marker))
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.park_focus)  # leave a text field: keys work again
        self._connect_tabs()
        self._build_field()

    def _build_field(self) -> None:
        """The Field dock (issue 15) and its toggle in the transport row; hidden until asked for."""
        self.field_panel = FieldPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.field_panel)
        self.tabifyDockWidget(self.metadata_dock, self.field_panel)
        self.field_panel.hide()
        self.field_panel.apply_config(self.config.field_panel)
        self.field = FieldControl(self, self.field_panel)
        toggle = self.field_panel.toggleViewAction()
        toggle.setText("Field ▸")
        toggle.setToolTip("Pre-roll, trigger, split, schedule, headphones, GPS, channels")
        toggle.triggered.connect(lambda on: self.field_panel.raise_() if on else None)  # its tab comes to the front
        self.field_button = QToolButton(self)
        self.field_button.setObjectName("fieldButton")
        self.field_button.setDefaultAction(toggle)
        self.field_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.field_button.setMinimumHeight(44)
        self.transport.layout().insertWidget(4, self.field_button)
        fp = self.field_panel
        fp.changed.connect(self._field_changed)
        fp.monitorChanged.connect(self.field.start_monitor)
        fp.gpsChanged.connect(self.field.set_gps)
        fp.gps_fill.clicked.connect(self.fill_location_from_gps)
        fp.schedule_edit.clicked.connect(self.edit_schedule)
        fp.schedule_run.toggled.connect(self._schedule_toggled)
        self._listening_shown = False
        self.field.list_outputs()

    # ================================================================ focus
    def park_focus(self) -> None:
        """Put the keyboard focus on the window itself (not in a field), where Space, R and M are shortcuts
        (on the Review tab: on the review, whose Space, R and M play, add a region, add a marker)."""
        if self.tabs.currentIndex() == REVIEW:
            self.tabs.review.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.centralWidget().setFocus(Qt.FocusReason.OtherFocusReason)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        """Undo Qt's automatic focus move into a text field (the widget that had the focus was disabled or
        hidden); a field the user clicked or tabbed into keeps it (the old widget is still usable then)."""
        if new is None or old is None or not isinstance(new, TEXT_ENTRY) or new.window() is not self:
            return
        if not old.isEnabled() or not old.isVisible():
            self.park_focus()

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
        default_name = rec_mod.default_input_name()  # never raises: the simulated source without PortAudio
        if not self.setup.set_devices(self._devices, wanted, default_name):
            self.notify(f"Device {wanted!r} is not connected; using the system default input", "warning")
        if refresh:
            self.notify(f"Found {len(self._devices)} input device(s)", "info")
            self._device_changed()

    def refresh_devices(self) -> None:
        """Re-scan for hot-plugged interfaces. PortAudio must not have a stream open while it re-scans, so the
        input is closed first and re-armed after (never during a take: the button is disabled then)."""
        if self.is_recording() or self._schedule_owns_input():
            return
        was_armed = self.recorder is not None and self.recorder.state is not TakeState.IDLE
        self._close_recorder()
        self._populate_devices(refresh=True)
        if was_armed and self.recorder is None and not self.setup.has_problem():
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
        settings = self._base_settings()
        dev = self._device_info()
        self._channel_problem = self.field.adjust_settings(settings, dev.max_input_channels if dev else None)
        return settings

    def _base_settings(self) -> TakeSettings:
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
        self.setup.explain_rates({
            rate: rec_mod.check_settings(TakeSettings(**{**base.__dict__, "samplerate": rate}))
            for rate in rec_mod.COMMON_RATES
        })

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
        reason = self._channel_problem or rec_mod.check_settings(settings)
        self._show_settings_problem(reason)
        if reason is None:
            self.live.configure(settings)
            if was_armed:
                self.arm()
        self._update_transport()

    def _show_settings_problem(self, reason: str | None) -> None:
        self.setup.show_problem(reason)

    def _store_settings_in_config(self) -> None:
        cfg = self.config
        cfg.device = self.device_combo.currentData()
        cfg.samplerate = int(self.rate_combo.currentData())
        cfg.channels = int(self.channels_spin.value())
        cfg.format_name = self.format_combo.currentText()
        cfg.out_dir = self.folder_edit.text().strip() or cfg.out_dir
        cfg.name_template = self.template_edit.text().strip() or cfg.name_template
        cfg.field_panel = self.field_panel.to_config()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)
            self._settings_changed()

    # ================================================================ transport
    def _close_recorder(self) -> None:
        """Close the input. Takes still finalising go on on their own threads (``closeEvent`` waits for them)."""
        if self.recorder is not None:
            try:
                self.field.close()
                self.recorder.disarm()
            except Exception as err:
                self.notify(f"Closing the input failed: {err}", "error")
            if self.recorder.finalising:
                self._retired.append(self.recorder)
            self.recorder = None

    def arm(self) -> bool:
        """Open the input (monitor without writing). Returns False (and shows why) when it cannot."""
        settings = self.current_settings()
        try:
            if self.field.schedule_running():
                self.notify("A schedule is running: stop it in the Field panel to arm by hand", "info")
                return False
            options = self.field.options()
            if options is None:
                self.notify(f"Field options: {self.field_panel.problem.text()}", "error")
                self._update_transport()
                return False
            if self.recorder is None:
                self.live.configure(settings)
                self.recorder = self.recorder_factory(settings)
            if self.field.session is None:
                self.field.open(self.recorder, options, self.metadata_panel.metadata())
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
        if self._schedule_owns_input():
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
        if self._schedule_owns_input():
            return False
        if (self.recorder is None or self.field.session is None) and not self.arm():
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
            take = self.field.record(self.metadata_panel.metadata())
        except RecorderError as err:
            self.notify(f"Cannot record: {err}", "error")
            self._update_transport()
            return False
        self._adopt_take(take)
        self._update_transport()
        return True

    def _adopt_take(self, take: Any) -> None:
        """Show ``take`` as the one recording now (started here, by a trigger, a split or a schedule)."""
        self._take = take
        paths = take.paths
        self.markers = []
        self.marker_list.clear()
        self.live.new_take()
        self._was_recording = True
        self._seen_overflows = 0
        self.take_label.setText(paths.audio.name)
        self.take_label.setToolTip(str(paths.audio))
        self.metadata_target.setText(
            f"Metadata of {paths.audio.name} (recording; edits are saved as you type)"
        )
        log.info("GUI: recording %s", paths.audio)

    def stop(self) -> Any:
        """Stop the take and return it (``fieldrec.take.Take``) at once: its frames are fixed, the input is armed
        for the next take, and the take finalises (close, hash, final sidecar) on its own thread while the
        window shows "finalising… NN %". ``take.wait()`` gives its result."""
        if not self.is_recording():
            return None
        assert self.recorder is not None
        self.metadata_panel.flush()
        self._user_stopping = True
        try:
            take = self.field.stop()
        finally:
            self._user_stopping = False
        self._was_recording = False
        self._take = None
        if take is not None:
            self._finalising.append((take, True))
            self._show_finalising()
        self._update_transport()
        return take

    def _show_finalising(self) -> None:
        """"finalising… NN %" for takes whose finaliser runs; their results once they are done."""
        still = []
        for take, by_user in self._finalising:
            if take.result is not None:
                self._after_take(take.result, by_user)
            else:
                still.append((take, by_user))
        self._finalising = still
        self._retired = [r for r in self._retired if r.finalising]
        if still and not self.is_recording():
            take = still[-1][0]
            self.take_label.setText(f"{take.paths.audio.name} — {fmt_duration(take.frames / max(1, take.settings.samplerate))}, "
                                    f"finalising… {take.progress:.0%}")
        self.health.set_finalising([t.progress for t, _u in still])

    def _after_take(self, result: Any, by_user: bool) -> None:
        """A take is finalised: say how it ended (and make the form edit it, unless the next take records)."""
        self._library_take_finished(result)
        if result is not None:
            name = result.paths.audio.name
            if self.is_recording():  # the next take already records: only what went wrong is worth a word
                if result.overflows or result.stop_reason not in NORMAL_STOPS:
                    self.notify(f"Take {name} ended: {result.stop_reason}; {len(result.overflows)} overflow(s)",
                                "error")
                return
            self.take_label.setText(f"{name} — {fmt_duration(result.duration_s)}, {result.stop_reason}")
            self._edit_last_take = True
            self.metadata_target.setText(
                f"Editing the last take: {name} (stopped). Edits are saved to its sidecar."
            )
            self.detach_button.show()
            if (not by_user and result.stop_reason != "split") or result.overflows:
                level = (
                    "error"
                    if (result.stop_reason not in NORMAL_STOPS or result.overflows)
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
        self.metadata_dock.add_marker_row(len(self.markers), m)
        now = self.recorder.status()
        self.live.add_marker(
            m.frame, m.label or f"M{len(self.markers)}", round(now.elapsed_s * now.samplerate)
        )
        return m

    def reset_clips(self) -> None:
        if self.recorder is not None:
            self.recorder.reset_clips()
        self.meters.reset_clips()

    def _metadata_changed(self, md: dict) -> None:
        self.config.metadata = md
        self.field.set_metadata(md)
        r = self.recorder
        if r is None:
            return
        if r.state is TakeState.RECORDING or self._edit_last_take:
            try:
                r.update_metadata(self.field.merged_for_take(r.take or self._last_take_of(r), md))
            except RecorderError as err:
                self.notify(f"Metadata not saved: {err}", "warning")

    def _update_transport(self) -> None:
        r = self.recorder
        state = r.state if r is not None else TakeState.IDLE
        recording = state is TakeState.RECORDING
        if recording and QApplication.focusWidget() in self.setup.lockable() + self.field_panel.lockable():
            self.park_focus()  # before disabling: Qt would move the focus on, into the next (text) field
        scheduled = self.field.schedule_running()
        self.setup.set_locked(recording or scheduled)
        self.field_panel.set_locked(recording or scheduled)
        listening = self.field.listening()
        self._listening_shown = listening
        if self.transport.show_state(state, can_record=not self.setup.has_problem() and not scheduled,
                                     trigger=listening):
            look = TRIGGER_LOOK if listening and state is TakeState.ARMED else STATE_LOOK[state]
            text = look[0].strip("● ").lower()
            self.setWindowTitle(f"fieldrec — {text}" + (f" — {self.take_label.text()}" if recording else ""))

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
            if self._finalising or self._retired:
                self._show_finalising()
            self.field.power_tick(now)  # the battery cell, before the first arm or in `fieldrec library`
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
            log.info("first live frame at %.3f (unix time)", time.time())  # benchmarks read this line
        self.frameDone.emit(work)

    def _update_views(self, r: Recorder, dt: float) -> None:
        st = r.status()
        # numbers are read, not watched: text readouts at 10 Hz (bars and lamps every frame)
        text_frame = self.frame_count % 3 == 0 or bool(st.overflows) != self._health_red
        if self.live_shown:  # a hidden live view costs nothing (the Library or Review tab is in front)
            self.live.update_frame(r, st, dt, update_text=text_frame)
        if text_frame:
            self._health_red = bool(st.overflows)
            self.health.set_status(st)
        self.transport.set_elapsed(st.elapsed_s if st.state is TakeState.RECORDING else 0.0)
        # events the recordist must see at once
        if len(st.overflows) > self._seen_overflows:
            self._show_audio_events(st.overflows[self._seen_overflows:])
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
        if text_frame:
            self._follow_field(r, st)
        if self._was_recording and st.state is not TakeState.RECORDING and not self._user_stopping:
            self._was_recording = False  # the take ended by itself (duration, device lost, disk full, error)
            if self._take is not None:
                self._finalising.append((self._take, False))
                self._take = None
        if self._finalising or self._retired:
            self._show_finalising()
        if (st.state is TakeState.RECORDING) != self.stop_button.isEnabled():
            self._update_transport()

    def frame_interval_ms(self) -> int:
        """The frame timer's period: the configured rate, 5 Hz while the window is minimised (the views then
        cost nothing; the status, overflow banners and finalising takes still tick)."""
        return 200 if self.isMinimized() else max(5, int(1000 / max(1, self.config.fps)))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange and hasattr(self, "timer"):
            self.timer.setInterval(self.frame_interval_ms())

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
        if self._closing:  # a second close while waiting for the finalisers
            event.ignore()
            return
        self._close_recorder()
        self.field.stop_schedule()
        self._close_recorder()  # a schedule's recorder
        self._wait_for_finalisers()
        self.field.shutdown()
        self.timer.stop()
        self.tabs.review.close_take()  # stops playback; an edit still waiting for its debounce is saved
        if not self.metadata_dock.isFloating():  # the window opens on the Live tab: save the dock as shown there
            self.metadata_dock.show()
        if self._focus_hooked:
            self._focus_hooked = False
            QApplication.instance().focusChanged.disconnect(self._focus_changed)
        self.metadata_panel.flush()
        self._store_settings_in_config()
        self.config.geometry = bytes(self.saveGeometry().toHex()).decode()
        self.config.window_state = bytes(self.saveState().toHex()).decode()
        try:
            save_config(self.config)
        except OSError as err:
            log.error("could not save settings: %s", err)
        event.accept()

    def pending_finalisers(self) -> list[Any]:
        """Takes of this window whose finaliser still runs."""
        takes = [t for t, _u in self._finalising if t.result is None]
        for r in self._retired + ([self.recorder] if self.recorder is not None else []):
            takes += [t for t in r.finalising if t not in takes]
        return takes

    def _wait_for_finalisers(self) -> None:
        """Closing never kills a finaliser: wait for every take to be closed, hashed and its sidecar written,
        with a progress dialog (the event loop keeps running, so the window repaints)."""
        pending = self.pending_finalisers()
        if not pending:
            return
        self._closing = True
        dialog = QProgressDialog("Finishing the last take: closing, hashing, writing its sidecar…", None, 0, 100, self)
        dialog.setObjectName("finalisingDialog")
        dialog.setWindowTitle("fieldrec — finalising")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setCancelButton(None)
        dialog.show()
        log.info("closing: waiting for %d take(s) to finalise", len(pending))
        while pending:
            dialog.setValue(int(100 * min(t.progress for t in pending)))
            dialog.setLabelText(f"Finishing {pending[0].paths.audio.name}: {pending[0].progress:.0%} "
                                f"({len(pending)} take(s))")
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            pending[0].finalised.wait(0.05)
            pending = self.pending_finalisers()
        self._show_finalising()
        dialog.close()
        dialog.deleteLater()
        self._closing = False

    # ================================================================ tabs: Live | Library | Review
    def _build_tabs(self, live_page: QWidget) -> None:
        lay = QVBoxLayout(live_page)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.setSpacing(6)
        lay.addWidget(self.setup, 0)
        lay.addWidget(self.live, 1)
        self.tabs = WindowTabs(live_page, self.config, self)
        self.library = self.tabs.library
        self.review = self.tabs.review
        self.tabs.library_page.writing = self.busy_takes
        self.live_shown = True
        self._last_finished_audio: Path | None = None

    def _connect_tabs(self) -> None:
        self.tabs.currentChanged.connect(self._tab_changed)
        self.library.take_activated.connect(self.review_take)
        self.tabs.review_failed.connect(lambda text: self.notify(text, "error"))
        for i in range(self.tabs.count()):  # Ctrl+1/2/3: Live, Library, Review, wherever the focus is
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, lambda i=i: self.tabs.setCurrentIndex(i))
        # the first focus is the device list, as before the tabs (the take bar's marker-label field comes
        # first in the focus chain now, and a typed Space must never land there unasked)
        self.device_combo.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_live_shown(self, shown: bool) -> None:
        """Whether the frame timer draws the live view (waveform, spectra, spectrogram, meters). Hidden, it
        costs nothing; the transport, the take bar and the health strip go on (they are on every tab)."""
        self.live_shown = bool(shown)

    def _tab_changed(self, index: int) -> None:
        self.set_live_shown(index == LIVE)
        on_review = index == REVIEW
        for key in self.record_keys:  # Space/R/M: record and marker keys, or the review's own
            key.setEnabled(not on_review)
        if not self.metadata_dock.isFloating():  # the form of the next (or recording) take belongs to Live
            self.metadata_dock.setVisible(index == LIVE)
        if index != LIVE:
            self.tabs.library_page.set_output_folder(self.current_settings().out_dir)
        if on_review:
            self.park_focus()

    def show_library(self, folders: Sequence[Path] = (), arm: bool = False) -> None:
        """Open on the Library tab, listing ``folders`` too (``fieldrec library DIR``); the input is not opened
        on start unless ``arm``."""
        self.arm_on_start = self.arm_on_start and arm
        if folders:
            self.tabs.library_page.add_folders(list(folders))
        self.tabs.setCurrentIndex(self.tabs.indexOf(self.tabs.library_page))

    def busy_takes(self) -> set[Path]:
        """Audio files this window is still writing: the take recording and takes still finalising."""
        busy: set[Path] = set()
        if self._take is not None:
            busy.add(Path(self._take.paths.audio))
        for take in self.pending_finalisers():
            busy.add(Path(take.paths.audio))
        return busy

    def review_take(self, audio: Path) -> bool:
        """Open ``audio`` in the Review tab, unless this window is still writing it."""
        if Path(audio) in self.busy_takes():
            self.notify(f"{Path(audio).name} is still being recorded or finalised; review it once it is "
                        "finished", "warning")
            return False
        if self._edit_last_take and Path(audio) == self._last_finished_audio:
            # one editor per take: the side panel's copy of the take would overwrite the review's edits
            self._detach_metadata()
            self.notify(f"{Path(audio).name}: its metadata is edited in the Review tab now; the side panel is "
                        "for the next take", "info")
        return self.tabs.open_in_review(Path(audio))

    def _library_take_finished(self, result: Any) -> None:
        if result is not None:
            self._last_finished_audio = Path(result.paths.audio)
        self.tabs.library_page.set_output_folder(self.current_settings().out_dir)
        self.tabs.take_finished(result.paths.audio if result is not None else None)
    # ================================================================ field (issue 15)
    def _show_audio_events(self, events: Any) -> None:
        """Tell the recordist at once: an overflow is missing audio; a lost device ended the take (and lost
        nothing: the file holds every frame captured until then)."""
        for ev in events:
            if ev.kind == "device_lost":
                self.notify(f"The take ended at {fmt_duration(ev.time_s)} because the input device was lost "
                            "(unplugged or switched off); everything captured until then is in the file",
                            "error")
            else:
                self.notify(
                    f"INPUT OVERFLOW at {fmt_duration(ev.time_s)} ({ev.kind}, {ev.frames_lost} frames lost) — "
                    "audio is missing from the file at that point",
                    "error",
                )

    def _schedule_owns_input(self) -> bool:
        """While a schedule runs, it opens and closes the input and starts the takes (STOP still ends the
        running take by hand; the schedule goes on with its next period)."""
        if self.field.schedule_running():
            self.notify("A schedule is running: untick Run schedule in the Field panel to record by hand", "info")
            return True
        return False

    @staticmethod
    def _last_take_of(r: Recorder) -> Any:
        return getattr(r, "_last_take", None)

    def _follow_field(self, r: Recorder, st: Any) -> None:
        """Takes the window did not start (a trigger, a split boundary, a schedule) appear as takes do; the
        Field dock's readouts (headphones, GPS, battery, schedule) are refreshed."""
        current = r.take
        if current is not None and current is not self._take:
            if self._take is not None:  # a split boundary or the next triggered take: the last one finalises
                self._finalising.append((self._take, False))
            self._adopt_take(current)
            self._was_recording = True
            self._update_transport()
        self.field.tick()
        if self.field.listening() != self._listening_shown:
            self._update_transport()

    def _field_changed(self) -> None:
        """Pre-roll, trigger, split or channels changed: a new session (the input reopens; the pre-roll
        buffer starts empty, as the issue says for any change of the device settings)."""
        if self._building or self.is_recording() or self.field.schedule_running():
            return
        if self.field.options() is None:
            return
        self._settings_changed()  # channels may change the stream
        r = self.recorder
        if r is not None and r.state is not TakeState.IDLE:
            self._close_recorder()
            self.arm()
        self._update_transport()

    def fill_location_from_gps(self) -> bool:
        """Put the GPS position into the location fields (``location.source: gps``)."""
        loc = self.field.gps_location()
        if loc is None:
            self.notify("GPS has no position yet" if self.field.gps is not None else "Switch GPS on first", "info")
            return False
        md = self.metadata_panel.metadata()
        md["location"] = {**md.get("location", {}), **loc}
        self.metadata_panel.set_metadata(md)
        self._metadata_changed(self.metadata_panel.metadata())
        return True

    def _schedule_location(self) -> Any:
        from fieldrec.field.schedule import Location

        loc = self.field.gps_location() or self.metadata_panel.metadata().get("location", {})
        if loc.get("latitude") is None or loc.get("longitude") is None:
            return None
        return Location(loc["latitude"], loc["longitude"])

    def schedule_dialog(self) -> Any:
        from fieldrec.gui.schedule_dialog import ScheduleDialog

        return ScheduleDialog(self.field.schedule_data, self._schedule_location(), self)

    def edit_schedule(self) -> None:
        dialog = self.schedule_dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.field.set_schedule(dialog.schedule, dialog.data)
        dialog.deleteLater()

    def _schedule_toggled(self, on: bool) -> None:
        if on and self.field.schedule_running():
            return
        if not on:
            self.field.stop_schedule()
            self._close_recorder()
            self.field_panel.schedule_status.setText("schedule stopped")
            self.arm()
            self._update_transport()
            return
        if self.is_recording() or self.field.schedule is None:
            self.field_panel.schedule_run.setChecked(False)
            return
        options = self.field.options()
        if options is None:
            self.field_panel.schedule_run.setChecked(False)
            return
        self._close_recorder()
        settings = self.current_settings()
        self.live.configure(settings)
        self.recorder = self.recorder_factory(settings)
        self.field.run_schedule(self.recorder, options, self.metadata_panel.metadata())
        self.field_panel.schedule_status.setText("schedule running: waiting for the first period")
        self._update_transport()
