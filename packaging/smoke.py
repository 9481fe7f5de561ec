#!/usr/bin/env python3
"""Smoke test of an installed or bundled fieldrec, run from outside the checkout with an empty environment.

    packaging/smoke.py EXE [--root DIR] [--report DIR] [--gui-exe PROG] [--no-window] [--no-device]

EXE is the program to test (``dist/fieldrec/fieldrec``, ``/usr/bin/fieldrec``); with ``--root`` it is run
inside that chroot (``chroot DIR env -i ... EXE``) and EXE is its path there. Each program run gets only
``HOME`` (a new temporary folder), ``PATH=/usr/bin:/bin`` (no venv) and the few variables the step needs
(``DISPLAY``; the virtual PulseAudio device's socket and ALSA file). Steps:

1. ``--version`` prints ``fieldrec <version of this checkout>``;
2. ``devices`` and ``devices --json`` list the simulated source;
3. a 3 s take from the simulated source: one WAV and one sidecar; the WAV read by soundfile, sox and ffprobe
   (frames, rate, channels agree), the sidecar valid against the published JSON Schema, its
   ``software.version`` this version, its ``file.sha256`` the file's; which libsndfile and PortAudio the
   process mapped is reported (bundled or system);
4. a take from a real PortAudio device, the private PulseAudio null sink of ``tests/pulse_rig.py`` seen
   through ALSA: the known signal fed into it is found bit-exact in the float WAV;
5. the window under Xvfb: it maps, stays up 4 s, the screen is grabbed to ``REPORT/window.png`` and must
   not be blank; no Qt platform plugin error on stderr.

The checkers (soundfile, jsonschema, sox, ffprobe, Qt for the grab) run in the build venv, outside the
thing tested. Prints one PASS/FAIL line per step; exit 0 when all pass, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldrec import __version__  # noqa: E402  (the version the checkout says)


class StepFailed(Exception):
    """A smoke step did not hold; its message says what was seen."""


class Runner:
    """Runs the tested program with an empty environment, on the host or inside a chroot."""

    def __init__(self, exe: str, root: Path | None, work: Path):
        self.exe = exe
        self.root = root
        self.work = work  # host path of the scratch folder
        self.inner = Path("/") / work.relative_to(root) if root else work  # the same folder as the program sees it
        self.home = self.inner / "home"
        (work / "home").mkdir(parents=True, exist_ok=True)

    def host(self, inner: Path) -> Path:
        """The host path of a path the program sees."""
        return self.root / inner.relative_to("/") if self.root else inner

    def argv(self, args: list[str], extra_env: dict[str, str] | None = None) -> list[str]:
        env = {"HOME": str(self.home), "PATH": "/usr/bin:/bin", **(extra_env or {})}
        cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), self.exe, *args]
        if self.root:
            cmd = ["chroot", str(self.root), *cmd]  # chroot and env exec: the pid is the program's
        return cmd

    def run(self, args: list[str], timeout: float = 120, extra_env: dict[str, str] | None = None):
        return subprocess.run(self.argv(args, extra_env), capture_output=True, text=True, timeout=timeout,
                              cwd=self.work, stdin=subprocess.DEVNULL)

    def popen(self, args: list[str], extra_env: dict[str, str] | None = None, exe: str | None = None,
              **kw) -> subprocess.Popen:
        argv = self.argv(args, extra_env)
        if exe is not None:
            argv[argv.index(self.exe)] = exe
        return subprocess.Popen(argv, cwd=self.work, stdin=subprocess.DEVNULL, **kw)


def _libs_of(pid: int) -> dict[str, str]:
    """Paths of libsndfile and PortAudio mapped by a running process ({} when it has gone)."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            path = line.split()[-1] if line.count("/") else ""
            for key in ("libsndfile", "libportaudio"):
                if key in Path(path).name:
                    found[key] = path
    return found


def check_take(folder: Path, frames: int, channels: int, samplerate: int = 48000) -> tuple[Path, dict]:
    """The take in ``folder``: one audio file and its sidecar, each read back by independent readers."""
    import soundfile as sf

    from tests.readers import ffprobe_info, sox_info, validate_sidecar

    wavs, sidecars = sorted(folder.glob("*.wav")), sorted(folder.glob("*.json"))
    if len(wavs) != 1 or len(sidecars) != 1:
        raise StepFailed(f"expected one WAV and one sidecar in {folder}, found {[p.name for p in folder.iterdir()]}")
    wav, meta = wavs[0], json.loads(sidecars[0].read_text())
    info = sf.info(str(wav))
    got = {"samplerate": info.samplerate, "channels": info.channels, "frames": info.frames}
    want = {"samplerate": samplerate, "channels": channels, "frames": frames}
    for reader, seen in (("soundfile", got), ("sox", sox_info(wav)), ("ffprobe", ffprobe_info(wav))):
        if {k: seen[k] for k in want} != want:
            raise StepFailed(f"{reader} reads {seen}, expected {want}")
    validate_sidecar(meta)
    if meta["software"]["version"] != __version__:
        raise StepFailed(f"sidecar software.version {meta['software']['version']!r} != {__version__!r}")
    if meta["file"]["sha256"] != hashlib.sha256(wav.read_bytes()).hexdigest():
        raise StepFailed("sidecar file.sha256 is not the file's")
    if meta["audio"]["frames"] != frames:
        raise StepFailed(f"sidecar audio.frames {meta['audio']['frames']} != {frames}")
    return wav, meta


# ----------------------------------------------------------------------------- steps
def step_version(r: Runner) -> str:
    p = r.run(["--version"])
    if p.returncode != 0 or p.stdout.strip() != f"fieldrec {__version__}":
        raise StepFailed(f"exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr.strip()[-300:]!r}")
    return p.stdout.strip()


def step_devices(r: Runner) -> str:
    p = r.run(["devices"])
    if p.returncode != 0 or "simulated" not in p.stdout:
        raise StepFailed(f"exit {p.returncode}: {p.stdout[-300:]!r} {p.stderr.strip()[-300:]!r}")
    j = r.run(["devices", "--json"])
    names = [d["name"] for d in json.loads(j.stdout)] if j.returncode == 0 else []
    if "simulated" not in names:
        raise StepFailed(f"devices --json: exit {j.returncode}, {j.stdout[-300:]!r}")
    return f"{len(names)} device(s): {', '.join(names)}"


def step_simulated_take(r: Runner, seconds: int = 3) -> str:
    out = r.inner / "takes-sim"
    proc = r.popen(["record", "--device", "simulated", "--duration", str(seconds), "--channels", "2",
                    "--out", str(out), "--location", "smoke test", "--tag", "smoke", "--quiet"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    libs: dict[str, str] = {}
    while proc.poll() is None:
        libs.update(_libs_of(proc.pid))
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise StepFailed(f"exit {proc.returncode}: {stderr.strip()[-400:]}")
    wav, meta = check_take(r.host(out), frames=seconds * 48000, channels=2)
    return (f"{wav.name}: {seconds * 48000} frames, sidecar valid, version {meta['software']['version']}; "
            f"libsndfile {libs.get('libsndfile', '?')}, PortAudio {libs.get('libportaudio', '?')}")


def step_real_device(r: Runner) -> str:
    import numpy as np
    import soundfile as sf

    from tests.pulse_rig import PulseRig, find_start, known_signal

    rig = PulseRig()
    mounted = None
    try:
        rig.start()
        if r.root:  # the daemon's socket and the ALSA file at the same path inside the chroot
            mounted = r.root / rig.dir.relative_to("/")
            mounted.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", str(rig.dir), str(mounted)], check=True)
        signal_ = known_signal(3.0)
        out = r.inner / "takes-dev"
        proc = r.popen(["record", "--device", rig.device_name, "--duration", "5", "--format", "float",
                        "--out", str(out)], extra_env=rig.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
        libs: dict[str, str] = {}
        assert proc.stderr is not None
        for line in proc.stderr:  # "recording PATH (...)": the take has begun, so feed the signal now
            libs.update(_libs_of(proc.pid))
            if line.startswith("recording "):
                break
        feed = rig.feed(signal_, lead_in_s=0.5)
        _, stderr = proc.communicate(timeout=60)
        feed.wait(timeout=30)
        if proc.returncode != 0:
            raise StepFailed(f"exit {proc.returncode}: {stderr.strip()[-400:]}")
        wav, _ = check_take(r.host(out), frames=5 * 48000, channels=2)
        data, _ = sf.read(str(wav), dtype="float32")
        start = find_start(data, signal_)
        n = min(len(data) - start, len(signal_))
        if n < len(signal_) or not np.array_equal(data[start:start + n], signal_[:n]):
            raise StepFailed(f"the fed signal is not whole and bit-exact in the take ({n} frames compared)")
        return (f"{wav.name}: the fed signal ({n} frames) bit-exact from PortAudio device {rig.device_name!r}; "
                f"PortAudio {libs.get('libportaudio', '?')}")
    except AssertionError as err:  # find_start: the signal's start is not in the take
        raise StepFailed(str(err)) from None
    finally:
        if mounted is not None:
            subprocess.run(["umount", "-l", str(mounted)], check=False)
        rig.stop()
        shutil.rmtree(rig.dir, ignore_errors=True)


@contextlib.contextmanager
def xvfb(root: Path | None) -> Iterator[str]:
    """A private Xvfb (with -noreset: see docs) whose socket the chroot sees too; yields DISPLAY."""
    for n in range(140, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    display = f":{n}"
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", "1920x1080x24", "-noreset", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mounted = None
    try:
        sock = Path(f"/tmp/.X11-unix/X{n}")
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.05)
        else:
            raise StepFailed(f"Xvfb {display} did not start")
        if root:
            mounted = root / "tmp" / ".X11-unix"
            mounted.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", "/tmp/.X11-unix", str(mounted)], check=True)
        yield display
    finally:
        if mounted is not None:
            subprocess.run(["umount", "-l", str(mounted)], check=False)
        proc.terminate()
        proc.wait(10)


def grab_screen(display: str, png: Path) -> int:
    """Grab the whole X screen to ``png`` with Qt (in a child process); returns the number of colours."""
    code = (
        "import sys\nfrom PySide6.QtGui import QGuiApplication\napp = QGuiApplication(['grab'])\n"
        "img = app.primaryScreen().grabWindow(0).toImage()\nimg.save(sys.argv[1])\n"
        "step = 7\ncolours = {img.pixel(x, y) for x in range(0, img.width(), step) "
        "for y in range(0, img.height(), step)}\nprint(len(colours))\n"
    )
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    p = subprocess.run([sys.executable, "-c", code, str(png)], capture_output=True, text=True, env=env, timeout=60)
    if p.returncode != 0:
        raise StepFailed(f"screen grab failed: {p.stderr.strip()[-300:]}")
    return int(p.stdout.strip().splitlines()[-1])


def step_window(r: Runner, report: Path, gui_exe: str | None = None) -> str:
    """The window from ``EXE gui``, or from ``gui_exe`` with no arguments (the wheel's fieldrec-gui)."""
    with xvfb(r.root) as display:
        err_path = r.work / "gui.stderr"
        with open(err_path, "w") as err:
            proc = r.popen([] if gui_exe else ["gui"], extra_env={"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"},
                           exe=gui_exe, stdout=subprocess.DEVNULL, stderr=err)
        try:
            env = {**os.environ, "DISPLAY": display}
            t0 = time.monotonic()
            while time.monotonic() - t0 < 60:
                if proc.poll() is not None:
                    raise StepFailed(f"the window exited ({proc.returncode}): {err_path.read_text()[-400:]}")
                found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "fieldrec"],
                                       capture_output=True, text=True, env=env)
                if found.stdout.strip():
                    break
                time.sleep(0.3)
            else:
                raise StepFailed("no fieldrec window mapped within 60 s")
            mapped_after = time.monotonic() - t0
            png = report / "window.png"
            colours = 0
            while time.monotonic() - t0 < 90 and colours < 20:  # mapped first, painted a moment later
                time.sleep(1)
                colours = grab_screen(display, png)
            if colours < 20:
                raise StepFailed(f"the grabbed screen has {colours} colours: nothing painted")
            painted_after = time.monotonic() - t0
            time.sleep(4)
            if proc.poll() is not None:
                raise StepFailed(f"the window died after painting ({proc.returncode}): {err_path.read_text()[-400:]}")
            colours = grab_screen(display, png)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        stderr = err_path.read_text()
        if "Could not load the Qt platform plugin" in stderr or "could not find or load" in stderr.lower():
            raise StepFailed(f"Qt platform plugin error: {stderr[-400:]}")
    return (f"window mapped after {mapped_after:.1f} s, painted after {painted_after:.1f} s, still up 4 s later; "
            f"{png} ({colours} colours sampled)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("exe", help="the program to test (its path inside --root when given)")
    ap.add_argument("--root", type=Path, help="run the program inside this chroot")
    ap.add_argument("--report", type=Path, default=None, help="folder for window.png and the log")
    ap.add_argument("--gui-exe", help="open the window with this program (no arguments) instead of `EXE gui`")
    ap.add_argument("--no-window", action="store_true")
    ap.add_argument("--no-device", action="store_true", help="skip the PulseAudio virtual device step")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else 2
    root = args.root.resolve() if args.root else None
    runnable = (subprocess.run(["chroot", str(root), "test", "-x", args.exe]).returncode == 0 if root
                else os.access(args.exe, os.X_OK))  # inside a chroot, /usr/bin/fieldrec links to its /opt
    if not runnable:
        print(f"smoke: {args.exe} is not an executable" + (f" in {root}" if root else ""), file=sys.stderr)
        return 2
    report = (args.report or Path(tempfile.mkdtemp(prefix="fieldrec-smoke-report-"))).resolve()
    report.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fieldrec-smoke-", dir=(root / "tmp") if root else None))
    r = Runner(args.exe, root, work)
    steps = [("version", lambda: step_version(r)), ("devices", lambda: step_devices(r)),
             ("simulated take", lambda: step_simulated_take(r))]
    if not args.no_device:
        steps.append(("real device", lambda: step_real_device(r)))
    if not args.no_window:
        steps.append(("window", lambda: step_window(r, report, args.gui_exe)))
    failed = 0
    where = f"{args.exe} in chroot {root}" if root else args.exe
    print(f"smoke: {where}, fieldrec {__version__}, scratch {work}", flush=True)
    for name, fn in steps:
        t0 = time.monotonic()
        try:
            detail = fn()
            print(f"PASS {name} ({time.monotonic() - t0:.1f} s): {detail}", flush=True)
        except (StepFailed, subprocess.SubprocessError, OSError, KeyError, ValueError) as err:
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - t0:.1f} s): {type(err).__name__}: {err}", flush=True)
    print(f"smoke: {len(steps) - failed} passed, {failed} failed", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
