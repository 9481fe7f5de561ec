#!/usr/bin/env python3
"""The smoke tests `make package` runs: the bundle outside the checkout, then the .deb installed and removed.

    packaging/smoke_all.py [--wheel dist/fieldrec-V-py3-none-any.whl] --bundle dist/fieldrec
                           --deb dist/fieldrec_V_ARCH.deb [--report build/smoke] [--host] [--no-deb]

0. With ``--wheel``: a fresh venv, ``pip install`` of the wheel, ``packaging/smoke.py`` on its ``fieldrec``
   (the window from ``fieldrec-gui``).
1. The bundle is copied to a temporary folder outside the checkout and ``packaging/smoke.py`` runs it there.
2. The .deb goes into a clean Debian userland: a ``debootstrap --variant=minbase`` of this machine's release,
   made once and kept in ``build/chroot-base`` (about 2 min and 200 MB), copied afresh to ``build/chroot``
   for each run. Inside it the packages named by the .deb's Depends (and Recommends) are installed with
   apt-get, then the .deb itself with ``dpkg -i`` (so Depends alone must be enough), the smoke test runs
   against ``/usr/bin/fieldrec``, ``dpkg -r`` removes it, and every file ``dpkg -L`` listed must be gone,
   with the rest of the file system as it was before the install. With ``--host`` (or when no chroot can
   be made: not root, no debootstrap, no network) the same happens on this machine itself.
Exit 0 when everything passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "packaging" / "smoke.py"
#: parts of a root whose contents change by themselves or by dpkg's bookkeeping
VOLATILE = ("tmp", "var/lib/dpkg", "var/lib/apt", "var/cache", "var/log", "proc", "dev", "sys", "run", "root")


def say(msg: str) -> None:
    print(f"smoke_all: {msg}", flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def smoke(exe: str, report: Path, root: Path | None = None, gui_exe: str | None = None) -> bool:
    cmd = [sys.executable, str(SMOKE), exe, "--report", str(report)]
    if root is not None:
        cmd += ["--root", str(root)]
    if gui_exe is not None:
        cmd += ["--gui-exe", gui_exe]
    return subprocess.run(cmd, cwd=tempfile.gettempdir()).returncode == 0


def smoke_bundle(bundle: Path, report: Path) -> bool:
    with tempfile.TemporaryDirectory(prefix="fieldrec-bundle-") as tmp:
        copy = Path(tmp) / "fieldrec"
        shutil.copytree(bundle, copy, symlinks=True)
        size = sum(p.stat().st_size for p in copy.rglob("*") if p.is_file() and not p.is_symlink())
        say(f"bundle copied to {copy} ({size / 1e6:.0f} MB)")
        return smoke(str(copy / "fieldrec"), report / "bundle")


def smoke_wheel(wheel: Path, report: Path) -> bool:
    """A fresh venv (no site packages), ``pip install`` of the wheel alone, then its two commands."""
    with tempfile.TemporaryDirectory(prefix="fieldrec-wheel-") as tmp:
        venv = Path(tmp) / "venv"
        run([sys.executable, "-m", "venv", str(venv)])
        p = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True)
        if p.returncode != 0:
            say(f"FAIL pip install {wheel.name}: {p.stderr.strip()[-600:]}")
            return False
        share = venv / "share"
        say(f"pip installed {wheel.name} into {venv}; menu files: "
            f"{', '.join(str(f.relative_to(venv)) for f in sorted(share.rglob('*org.fieldrec*')))}")
        return smoke(str(venv / "bin" / "fieldrec"), report / "wheel", gui_exe=str(venv / "bin" / "fieldrec-gui"))


def smoke_pipx(wheel: Path, report: Path) -> bool:
    """``pipx install`` of the wheel (pipx itself from PyPI into a throwaway venv unless one is on PATH),
    with PIPX_HOME and its bin folder in a temporary folder, then the same smoke test."""
    with tempfile.TemporaryDirectory(prefix="fieldrec-pipx-") as tmp:
        pipx = shutil.which("pipx")
        if pipx is None:
            tool = Path(tmp) / "tool"
            run([sys.executable, "-m", "venv", str(tool)])
            p = subprocess.run([str(tool / "bin" / "pip"), "install", "-q", "pipx"], capture_output=True, text=True)
            if p.returncode != 0:
                say(f"FAIL pip install pipx: {p.stderr.strip()[-600:]}")
                return False
            pipx = str(tool / "bin" / "pipx")
        env = {**os.environ, "PIPX_HOME": f"{tmp}/home", "PIPX_BIN_DIR": f"{tmp}/bin", "PIPX_MAN_DIR": f"{tmp}/man"}
        p = subprocess.run([pipx, "install", str(wheel)], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            say(f"FAIL pipx install {wheel.name}: {(p.stderr or p.stdout).strip()[-600:]}")
            return False
        say(f"pipx installed {wheel.name}: {', '.join(sorted(f.name for f in Path(tmp, 'bin').iterdir()))}")
        return smoke(f"{tmp}/bin/fieldrec", report / "pipx")


def control_field(deb: Path, field: str) -> list[str]:
    out = subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True).stdout
    return [p.strip().split()[0] for p in out.replace("\n", " ").split(",") if p.strip()]


def snapshot(root: Path) -> set[str]:
    """Every path under ``root`` (not the volatile parts), as the system sees it."""
    paths: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        if rel.parts and "/".join(rel.parts[:3]).startswith(VOLATILE):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            paths.add("/" + str(rel / name) if rel.parts else "/" + name)
    return paths


class Chroot:
    """A fresh copy of the cached minimal Debian with /proc, /dev and name resolution."""

    def __init__(self, base: Path, root: Path):
        self.base, self.root = base, root
        self.mounts: list[Path] = []

    def prepare(self) -> None:
        if not (self.base / "usr" / "bin" / "apt-get").exists():
            release = subprocess.run(["sh", "-c", ". /etc/os-release; echo $VERSION_CODENAME"],
                                     capture_output=True, text=True, check=True).stdout.strip() or "bookworm"
            say(f"debootstrap --variant=minbase {release} {self.base} (once; kept for later runs)")
            shutil.rmtree(self.base, ignore_errors=True)
            run(["debootstrap", "--variant=minbase", release, str(self.base), "http://deb.debian.org/debian"],
                stdout=subprocess.DEVNULL)
        self.unmount_all()
        shutil.rmtree(self.root, ignore_errors=True)
        run(["cp", "-a", str(self.base), str(self.root)])
        shutil.copyfile("/etc/resolv.conf", self.root / "etc" / "resolv.conf")
        for src, opts in (("/proc", ["-t", "proc", "proc"]), ("/dev", ["--rbind", "/dev"])):
            target = self.root / src.lstrip("/")
            run(["mount", *opts, str(target)])
            self.mounts.append(target)

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
        return subprocess.run(["chroot", str(self.root), "sh", "-c", script], env=env, check=check,
                              capture_output=True, text=True)

    def mounted_below(self) -> list[str]:
        """Mount points inside the chroot (left by this run or by one that died)."""
        prefix = str(self.root.resolve()) + "/"
        with open("/proc/mounts") as f:
            points = [line.split()[1].replace("\\040", " ") for line in f]
        return sorted((p for p in points if p.startswith(prefix)), reverse=True)

    def unmount_all(self) -> None:
        """Unmount everything inside the chroot; refuse to go on while anything stays mounted, since deleting
        the folder would then delete the host's /dev or /tmp through the bind mounts."""
        for point in self.mounted_below():
            subprocess.run(["umount", "-R", "-l", point], check=False)
        if self.mounted_below():
            raise OSError(f"still mounted inside {self.root}: {self.mounted_below()}")

    def close(self) -> None:
        self.mounts.clear()
        self.unmount_all()


def deb_cycle(deb: Path, report: Path, chroot: Chroot | None) -> bool:
    """Install, smoke-test and remove the .deb; True when all of it held."""
    root = chroot.root if chroot else Path("/")
    depends = control_field(deb, "Depends") + control_field(deb, "Recommends")

    def sh(script: str, check: bool = True) -> subprocess.CompletedProcess:
        if chroot:
            return chroot.sh(script, check)
        return subprocess.run(["sh", "-c", script], check=check, capture_output=True, text=True)

    say(f"installing the Depends and Recommends: {' '.join(depends)}")
    p = sh("apt-get update -qq && apt-get install -y -qq --no-install-recommends " + " ".join(depends), check=False)
    if p.returncode != 0:
        say(f"FAIL apt-get install of the dependencies: {p.stderr.strip()[-600:]}")
        return False
    before = snapshot(root)
    empty_before = {p for p in before if (root / p.lstrip("/")).is_dir() and not any((root / p.lstrip("/")).iterdir())}
    inner_deb = Path("/tmp") / deb.name
    if chroot:
        shutil.copyfile(deb, root / "tmp" / deb.name)
    else:
        inner_deb = deb
    p = sh(f"dpkg -i {inner_deb}", check=False)
    if p.returncode != 0:
        say(f"FAIL dpkg -i: {(p.stdout + p.stderr).strip()[-600:]}")
        return False
    listed = [line for line in sh("dpkg -L fieldrec").stdout.splitlines() if line.strip()]
    files = [f for f in listed if not (root / f.lstrip("/")).is_dir() or (root / f.lstrip("/")).is_symlink()]
    say(f"dpkg -i: fieldrec installed, dpkg -L lists {len(listed)} paths ({len(files)} files and links)")
    ok = smoke("/usr/bin/fieldrec", report / ("deb-chroot" if chroot else "deb-host"), chroot.root if chroot else None)
    p = sh("dpkg -r fieldrec", check=False)
    if p.returncode != 0:
        say(f"FAIL dpkg -r: {(p.stdout + p.stderr).strip()[-600:]}")
        return False
    left = [f for f in files if os.path.lexists(root / f.lstrip("/"))]
    after = snapshot(root)
    added, removed = sorted(after - before), sorted(before - after)
    # dpkg also removes a directory the package listed that was there, empty, before and that no other
    # installed package claims (debootstrap's bare /opt): that is dpkg's rule, not a leftover or a loss
    unclaimed = [d for d in removed if d in listed and d in empty_before]
    if unclaimed:
        say(f"dpkg -r also removed {unclaimed}: empty before the install and claimed by no other package")
        removed = [d for d in removed if d not in unclaimed]
    if left or added or removed:
        say(f"FAIL dpkg -r left {left[:10]}; paths added since before the install {added[:10]}; "
            f"removed {removed[:10]}")
        return False
    say(f"dpkg -r: all {len(files)} files and links gone, nothing else changed outside "
        f"{', '.join('/' + v for v in VOLATILE)}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="also install this wheel into a fresh venv and smoke-test it")
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--deb", type=Path, required=True)
    ap.add_argument("--report", type=Path, default=ROOT / "build" / "smoke")
    ap.add_argument("--host", action="store_true", help="install the .deb on this machine, not in a chroot")
    ap.add_argument("--no-deb", action="store_true")
    args = ap.parse_args(argv)
    report = args.report.resolve()
    report.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.wheel:
        results["wheel in a fresh venv"] = smoke_wheel(args.wheel.resolve(), report)
        results["wheel with pipx"] = smoke_pipx(args.wheel.resolve(), report)
    results["bundle"] = smoke_bundle(args.bundle.resolve(), report)
    if not args.no_deb:
        chroot = None
        if not args.host:
            if os.geteuid() != 0 or shutil.which("debootstrap") is None:
                say("no chroot (needs root and debootstrap): installing the .deb on this machine instead")
            else:
                chroot = Chroot(ROOT / "build" / "chroot-base", ROOT / "build" / "chroot")
                try:
                    chroot.prepare()
                except (subprocess.CalledProcessError, OSError) as err:
                    say(f"no chroot ({err}): installing the .deb on this machine instead")
                    chroot.close()
                    chroot = None
        try:
            results["deb in " + ("chroot" if chroot else "host")] = deb_cycle(args.deb.resolve(), report, chroot)
        finally:
            if chroot:
                chroot.close()
    for name, ok in results.items():
        say(f"{'PASS' if ok else 'FAIL'} {name}")
    say(f"{sum(results.values())} passed, {len(results) - sum(results.values())} failed; report in {report}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
