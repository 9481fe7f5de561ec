"""A private PulseAudio daemon with a virtual input, visible to PortAudio through ALSA.

One daemon per test session (started by ``tests/conftest.py`` before anything imports sounddevice, because
PortAudio lists devices once when it initialises). It owns a temporary runtime directory with its socket,
runs a null sink ``vin`` (48 kHz, 2 ch, float32) and exposes the sink's monitor to ALSA as the PCM
``fieldrec_vin`` (and a twin, ``fieldrec_vin2``, so name-ambiguity can be tested against real devices).
Whatever is played into ``vin`` (``feed``) is what a capture of ``fieldrec_vin`` records, bit for bit.
A second null sink ``vout`` (loaded only by ``load_output``, fixture ``pulse_output``) is the virtual output for
playback tests: PortAudio plays into it as the ALSA PCM
``rig_playback`` and ``record_output`` records its monitor with ``parec`` (bit-exact, except that a stream
connecting to the idle sink loses its first ~0.1-0.25 s to PulseAudio's rewind, and an underrun inserts
silence without losing frames).

Measured traps: a ``pacat`` feeder at 20 ms latency underruns on a busy 2-core box and leaves gaps in the
virtual device itself, so ``feed`` plays a pre-generated file with a 500 ms buffer; when a stream connects
to an idle sink PulseAudio rewinds and the first ~0.25 s of the feed can be lost, so ``feed`` leads in with
1 s of silence; the monitor of an idle sink delivers its first block about 1 s after a capture starts.

For output tests (headphone monitoring) a second null sink ``vmon`` is loaded on demand
(``load_out_sink``); the ALSA PCM ``rig_monitor_out`` plays into it (its name shares nothing with the input
PCMs, so name matching of inputs is unchanged) and ``parec_out_sink`` records what reached it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

SINK = "vin"
DEVICE_NAME = "fieldrec_vin"  # the PortAudio (ALSA) device name
OUT_SINK = "vout"  # a second null sink: the virtual output that playback tests play into
OUTPUT_NAME = "rig_playback"  # its PortAudio (ALSA) playback device (no "fieldrec" in it: inputs match that)
RATE = 48000
CHANNELS = 2
MON_SINK = "vmon"
OUT_DEVICE_NAME = "rig_monitor_out"  # the PortAudio (ALSA) output that plays into MON_SINK


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies, even by kill -9 (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _sweep_stale_dirs() -> None:
    """Remove runtime directories of rig daemons that are gone (a test process killed hard leaves them)."""
    for d in Path(tempfile.gettempdir()).glob("fieldrec-pulse-*"):
        pid_file = d / "daemon.pid"
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            if time.time() - d.stat().st_mtime > 3600:
                shutil.rmtree(d, ignore_errors=True)
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


class RigError(RuntimeError):
    """The virtual device could not be set up."""


class PulseRig:
    """The daemon, its sink, and helpers to feed, unplug and re-plug the virtual input."""

    device_name = DEVICE_NAME

    def __init__(self) -> None:
        if shutil.which("pulseaudio") is None or shutil.which("pacat") is None or shutil.which("pactl") is None:
            raise RigError("pulseaudio/pacat/pactl are not installed; run `make test`, which installs them")
        _sweep_stale_dirs()
        self.dir = Path(tempfile.mkdtemp(prefix="fieldrec-pulse-"))
        self.socket = self.dir / "native"
        self.log_path = self.dir / "pulseaudio.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._sink_module: int | None = None
        self._out_module: int | None = None
        self._mon_module: int | None = None
        self._feeds = 0
        (self.dir / "home").mkdir()
        (self.dir / "config" / "pulse").mkdir(parents=True)
        (self.dir / "config" / "pulse" / "daemon.conf").write_text(
            "enable-memfd = no\nenable-shm = no\nexit-idle-time = -1\nflat-volumes = no\n"
            "realtime-scheduling = no\nhigh-priority = no\n"
            f"default-sample-format = float32le\ndefault-sample-rate = {RATE}\ndefault-sample-channels = {CHANNELS}\n")
        (self.dir / "default.pa").write_text(
            f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n")
        (self.dir / "client.conf").write_text("autospawn = no\nenable-shm = no\nenable-memfd = no\n")
        self.alsa_conf = self.dir / "alsa-fieldrec.conf"
        self.alsa_conf.write_text("".join(
            f'pcm.{name} {{\n    type pulse\n    device "{SINK}.monitor"\n}}\nctl.{name} {{\n    type pulse\n}}\n'
            for name in (DEVICE_NAME, DEVICE_NAME + "2"))
            + f'pcm.{OUTPUT_NAME} {{\n    type pulse\n    device "{OUT_SINK}"\n}}\nctl.{OUTPUT_NAME} {{\n    type pulse\n}}\n'
            + f'pcm.{OUT_DEVICE_NAME} {{\n    type pulse\n    device "{MON_SINK}"\n}}\n'
              f'ctl.{OUT_DEVICE_NAME} {{\n    type pulse\n}}\n')
        #: environment for clients (subprocesses and this process): where the daemon and the PCM are
        self.env = {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_CLIENTCONFIG": str(self.dir / "client.conf"),
            "ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{self.alsa_conf}",
        }

    # ---- daemon ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the daemon and load a fresh sink; raises RigError with the daemon's log on failure."""
        denv = dict(os.environ)
        for k in ("PULSE_SERVER", "PULSE_CLIENTCONFIG"):
            denv.pop(k, None)
        denv.update(HOME=str(self.dir / "home"), XDG_RUNTIME_DIR=str(self.dir),
                    XDG_CONFIG_HOME=str(self.dir / "config"), PULSE_RUNTIME_PATH=str(self.dir))
        # As root pulseaudio only warns ("not intended to be run as root"); --system=false keeps it a
        # per-user daemon with our runtime directory.
        cmd = ["pulseaudio", "-n", "-F", str(self.dir / "default.pa"), "--daemonize=no", "--exit-idle-time=-1",
               "--system=false", "--use-pid-file=false", "--disable-shm=yes", "--enable-memfd=no",
               "--realtime=no", "--high-priority=no", "--log-target=stderr"]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(cmd, env=denv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                          preexec_fn=_die_with_parent)
        (self.dir / "daemon.pid").write_text(str(self._proc.pid))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RigError(f"pulseaudio exited at start: {self.log_tail()}")
            if self.socket.exists() and self._pactl("info", check=False).returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RigError(f"pulseaudio did not answer within 15 s: {self.log_tail()}")
        self._out_module = None
        self.reload_sink()

    def stop(self) -> None:
        """Stop the daemon and remove its directory."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        errors = [line for line in text if line.startswith("E:")]
        return " | ".join(errors[-lines:] or text[-lines:])

    def _pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pactl", *args], env={**os.environ, **self.env}, capture_output=True,
                              text=True, timeout=15, check=check)

    # ---- the sink ----------------------------------------------------------------------------------------
    @property
    def sink_loaded(self) -> bool:
        return self._sink_module is not None

    def reload_sink(self) -> None:
        """Unload the sink if present and load a fresh one (each test starts with an idle, empty sink)."""
        self.unload_sink()
        self._sink_module = self._load_null_sink(SINK)
        self._pactl("set-default-source", f"{SINK}.monitor", check=False)

    def _load_null_sink(self, name: str, norewinds: bool = False) -> int:
        """Load a null sink ``name`` (48 kHz, 2 ch, float32) and return its module; ``vin`` stays the default
        sink whatever is loaded after it. ``norewinds``: a stream that starts playing is mixed in after what
        the sink has already rendered, not rewound into it (a rewind rewrites audio that the sink's monitor
        has already delivered, so a recording of the monitor misses the new stream's first part)."""
        out = self._pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={RATE}",
                          f"channels={CHANNELS}", "format=float32le", *(("norewinds=1",) if norewinds else ()))
        self._pactl("set-default-sink", SINK, check=False)
        return int(out.stdout.strip())

    def _unload(self, attr: str) -> None:
        """Unload the module kept in ``attr`` (if any) and forget it."""
        module = getattr(self, attr, None)
        if module is not None:
            self._pactl("unload-module", str(module), check=False)
            setattr(self, attr, None)

    def _parec(self, sink: str, path: str | os.PathLike[str], log: str, client: str) -> subprocess.Popen[bytes]:
        """Record what is played into ``sink`` (its monitor) as raw float32le, 48 kHz, 2 ch, until killed."""
        with open(path, "wb") as out, open(self.dir / log, "ab") as err:
            return subprocess.Popen(
                ["parec", "--raw", "--format=float32le", f"--rate={RATE}", f"--channels={CHANNELS}",
                 f"--device={sink}.monitor", "--latency-msec=100", f"--client-name={client}"],
                stdout=out, stderr=err, env={**os.environ, **self.env})

    def unload_sink(self) -> None:
        """Remove the sinks: the virtual device is 'unplugged' (captures of it end).

        The output sinks go too, if a test loaded them: PulseAudio (14 and later) moves the streams of a
        vanished source to any source that is left, so with ``vout.monitor`` or ``vmon.monitor`` still there
        an unplugged capture would just go on."""
        for attr in ("_sink_module", "_out_module", "_mon_module"):
            self._unload(attr)

    # ---- the output sink (monitoring tests) ----------------------------------------------------------------
    out_device_name = OUT_DEVICE_NAME

    def load_out_sink(self) -> None:
        """Load a fresh ``vmon`` sink for PortAudio's ``rig_monitor_out`` to play into."""
        self.unload_out_sink()
        self._mon_module = self._load_null_sink(MON_SINK, norewinds=True)

    def unload_out_sink(self) -> None:
        """Remove ``vmon``: the monitor output device is 'unplugged'."""
        self._unload("_mon_module")

    def kill_out_streams(self) -> int:
        """Kill every stream playing into ``vmon`` (as an unplugged interface does to its clients); returns
        how many. Unloading the sink would not do: PulseAudio moves its streams to another sink (``vin``)."""
        sinks = self._pactl("list", "short", "sinks").stdout.splitlines()
        ids = {line.split("\t")[0] for line in sinks if line.split("\t")[1:2] == [MON_SINK]}
        killed = 0
        for line in self._pactl("list", "short", "sink-inputs").stdout.splitlines():
            cols = line.split("\t")
            if len(cols) > 1 and cols[1] in ids:
                self._pactl("kill-sink-input", cols[0], check=False)
                killed += 1
        return killed

    def suspend_out_sink(self, suspend: bool = True) -> None:
        """Suspend ``vmon``: it stops taking audio, as a hung or unplugged output does to PortAudio."""
        self._pactl("suspend-sink", MON_SINK, "1" if suspend else "0")

    def parec_out_sink(self, path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Record what is played into ``vmon`` (its monitor) as raw float32le, 48 kHz, 2 ch until killed."""
        return self._parec(MON_SINK, path, "parec-mon.log", "fieldrec-test-parec")

    # ---- feeding and listening ----------------------------------------------------------------------------
    def feed(self, path_or_array: str | os.PathLike[str] | np.ndarray, rate: int = RATE,
             channels: int = CHANNELS, lead_in_s: float = 1.0) -> subprocess.Popen[bytes]:
        """Play float32 frames (a raw float32le file or an array (frames, channels)) into the sink.

        Returns the running ``pacat``; call ``.wait()``. An array gets ``lead_in_s`` seconds of silence
        first (see the module docstring for why); a file is played as it is.
        """
        if isinstance(path_or_array, np.ndarray):
            data = np.asarray(path_or_array, dtype=np.float32).reshape(-1, channels)
            self._feeds += 1
            path = self.dir / f"feed-{self._feeds}.f32"
            lead = np.zeros((int(lead_in_s * rate), channels), np.float32)
            np.concatenate([lead, data]).astype("<f4").tofile(path)
        else:
            path = Path(path_or_array)
        self._feeds += 1
        with open(path, "rb") as src, open(self.dir / f"pacat-{self._feeds}.log", "wb") as err:
            return subprocess.Popen(
                ["pacat", "--playback", "--raw", "--format=float32le", f"--rate={rate}", f"--channels={channels}",
                 f"--device={SINK}", "--latency-msec=500", "--client-name=fieldrec-test-feed"],
                stdin=src, env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=err)

    def arecord_monitor(self, seconds: float, path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Record the same virtual input with ``arecord`` (a WAV, float32, 48 kHz, 2 ch) alongside a test.

        When a capture test fails, compare with this file to tell the rig's gaps from the recorder's.
        """
        with open(self.dir / "arecord.log", "ab") as err:
            return subprocess.Popen(
                ["arecord", "-q", "-D", DEVICE_NAME, "-f", "FLOAT_LE", "-r", str(RATE), "-c", str(CHANNELS),
                 "-d", str(max(1, round(seconds))), "-t", "wav", str(path)],
                env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=err)


    # ---- the virtual output --------------------------------------------------------------------------------
    output_name = OUTPUT_NAME

    def load_output(self) -> None:
        """Load the virtual output sink (``vout``). Only while a playback test runs: with a second sink
        present, PulseAudio moves a capture of ``vin.monitor`` to ``vout.monitor`` when ``vin`` is unloaded,
        and an unplugged input would go unnoticed."""
        if self._out_module is None:
            self._out_module = self._load_null_sink(OUT_SINK, norewinds=True)

    def unload_output(self) -> None:
        self._unload("_out_module")

    def record_output(self, path: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
        """Record what is played into the virtual output (its sink's monitor) as raw float32le, 48 kHz,
        2 ch, until the returned ``parec`` is terminated. The monitor of an idle sink delivers its first
        block about 1 s after the recording starts: wait that long before playing."""
        return self._parec(OUT_SINK, path, "parec-out.log", "fieldrec-test-out")


def known_signal(seconds: float, seed: int = 7, quantise_bits: int | None = None) -> np.ndarray:
    """Deterministic noise + tones, float32 (frames, 2) at ``RATE``, starting with a recognisable 64-frame
    marker (0.625, -0.375). ``quantise_bits`` rounds to values a PCM file of that depth holds exactly."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    rng = np.random.default_rng(seed)
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 1234.5 * t)], axis=1)
    x += 0.05 * rng.standard_normal((n, 2))
    x[:64] = [0.625, -0.375]
    if quantise_bits:
        scale = 2.0 ** (quantise_bits - 1)
        x = np.round(x * scale) / scale
    return x.astype(np.float32)


def find_start(data: np.ndarray, signal: np.ndarray) -> int:
    """Index in ``data`` where ``signal`` starts (its marker frames followed by its first samples)."""
    for h in np.flatnonzero(np.all(data == signal[0], axis=1)):
        if h + 80 <= data.shape[0] and np.array_equal(data[h:h + 80], signal[:80]):
            return int(h)
    raise AssertionError("the fed signal's start is not in the capture")
