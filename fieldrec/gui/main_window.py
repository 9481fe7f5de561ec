"""The recording window: it wires the parts together and drives the take.

What is shown lives in its own module: ``setup_bar`` (input and file), ``transport_bar`` (transport and take
bar), ``live_view`` (waveform, spectrum, spectrogram, meters), ``metadata_dock`` (metadata form and markers),
``status_widgets`` (banner and health strip). This module holds what connects them: the recorder's life
(arm, record, stop), the settings, the keys and the keyboard focus, the frame timer and closing.

A view only: it drives ``fieldrec.recorder.Recorder`` and pulls ``latest()``, ``meters()`` and ``status()``
from a QTimer at ~30 fps. Nothing here can block the audio callback or the writer: every call it makes on
the recorder copies a little data and returns (``stop()`` waits for the writer to finish the file).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from fieldrec import recorder as rec_mod
from fieldrec.gui.config import GuiConfig, save_config
from fieldrec.gui.live_view import LiveView
from fieldrec.gui.metadata_dock import MetadataDock
from fieldrec.gui.setup_bar import InputSetupBar
from fieldrec.gui.status_widgets import Banner, HealthStrip, fmt_duration
from fieldrec.gui.transport_bar import STATE_LOOK, TransportBar
from fieldrec.recorder import Recorder, RecorderError, TakeSettings, TakeState

log = logging.getLogger(__name__)

#: widgets that take typed keys: Space, R and M go to them only when the user put the focus there
TEXT_ENTRY = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)


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
        self.setup = InputSetupBar(cfg, central)
        self.transport = TransportBar(central)
        self.live = LiveView(cfg, central)
        self.health = HealthStrip(central)
        for w, stretch in ((self.banner, 0), (self.setup, 0), (self.transport, 0), (self.live, 1), (self.health, 0)):
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
        for key in (Qt.Key.Key_Space, Qt.Key.Key_R):
            QShortcut(QKeySequence(key), self, self.toggle_record)
        QShortcut(QKeySequence(Qt.Key.Key_M), self, self.add_marker)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.park_focus)  # leave a text field: keys work again

    # ================================================================ focus
    def park_focus(self) -> None:
        """Put the keyboard focus on the window itself (not in a field), where Space, R and M are shortcuts."""
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
        if not self.setup.set_devices(self._devices, wanted):
            self.notify(f"Device {wanted!r} is not connected; using the system default input", "warning")
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
        reason = rec_mod.check_settings(settings)
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
            if self.recorder is None:
                self.live.configure(settings)
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
            self._take = self.recorder.record(self.metadata_panel.metadata())
            paths = self._take.paths
        except RecorderError as err:
            self.notify(f"Cannot record: {err}", "error")
            self._update_transport()
            return False
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
        self._update_transport()
        log.info("GUI: recording %s", paths.audio)
        return True

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
            take = self.recorder.stop("user")
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
        if result is not None:
            name = result.paths.audio.name
            if self.is_recording():  # the next take already records: only what went wrong is worth a word
                if result.overflows or result.stop_reason not in ("user", "duration"):
                    self.notify(f"Take {name} ended: {result.stop_reason}; {len(result.overflows)} overflow(s)",
                                "error")
                return
            self.take_label.setText(f"{name} — {fmt_duration(result.duration_s)}, {result.stop_reason}")
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
        if recording and QApplication.focusWidget() in self.setup.lockable():
            self.park_focus()  # before disabling: Qt would move the focus on, into the next (text) field
        self.setup.set_locked(recording)
        if self.transport.show_state(state, can_record=not self.setup.has_problem()):
            text = STATE_LOOK[state][0].strip("● ").lower()
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
        self.live.update_frame(r, st, dt, update_text=text_frame)
        if text_frame:
            self._health_red = bool(st.overflows)
            self.health.set_status(st)
        self.transport.set_elapsed(st.elapsed_s if st.state is TakeState.RECORDING else 0.0)
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
        self._wait_for_finalisers()
        self.timer.stop()
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
