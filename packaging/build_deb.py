#!/usr/bin/env python3
"""Build ``dist/fieldrec_<version>_<arch>.deb`` from the PyInstaller bundle with ``dpkg-deb``.

    packaging/build_deb.py [--bundle dist/fieldrec] [--man build/man/fieldrec.1] [--out dist]

Layout: the bundle in ``/opt/fieldrec``, ``/usr/bin/fieldrec`` a symlink to it, the desktop entry, the
AppStream file, the icons in the hicolor theme, the man page, and ``/usr/share/doc/fieldrec`` (copyright,
changelog, the user guide). Debian's own triggers refresh the icon cache and the menu; there are no
maintainer scripts, so ``dpkg -r`` removes exactly the files listed by ``dpkg -L``.

Depends is worked out, not typed: every ELF file in the bundle is run through ``ldd`` (with the bundle's
own folders on the library path), each library found outside the bundle is traced to its Debian package
with ``dpkg -S``, and the libraries loaded with dlopen are added by name: ``libportaudio2`` (sounddevice)
and ``libsndfile1`` (the bundled copy is removed here so soundfile loads Debian's, which gets security
updates). A library that resolves nowhere fails the build unless only optional Qt plugins need it.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fieldrec import __version__  # noqa: E402

RES = ROOT / "fieldrec" / "resources"
APP_ID = "org.fieldrec.fieldrec"
#: loaded with dlopen (ctypes), so ldd cannot see them
DLOPENED = ["libportaudio2", "libsndfile1"]
#: Qt plugins whose missing system libraries do not stop fieldrec (they serve other displays or devices);
#: the xcb, wayland and offscreen platforms are not in this list, so their dependencies are required.
OPTIONAL_PLUGIN_DIRS = ("plugins/platforms/libqvkkhrdisplay", "plugins/platforms/libqeglfs",
                        "plugins/platforms/libqminimalegl", "plugins/egldeviceintegrations",
                        "plugins/platforms/libqlinuxfb", "plugins/platforms/libqvnc", "plugins/generic",
                        "plugins/wayland-graphics-integration-client/libvulkan-server",
                        "plugins/networkinformation", "plugins/tls", "plugins/platforminputcontexts/libibus")
DESCRIPTION = """\
field recording with live analysis and crash-safe files
 fieldrec records from any input device (or a built-in simulated field
 source) and shows live waveform, spectrum, spectrogram and level and clip
 meters. Takes are lossless WAV or FLAC that survive a crash, each with a
 JSON sidecar holding its metadata, markers, input overflows and an
 analysis (true peak, EBU R128 loudness, clipping, noise floor, spectrum).
 .
 This package carries a self-contained build (Python, Qt, numpy, scipy)
 in /opt/fieldrec; PortAudio and libsndfile come from Debian."""


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def system_libraries(bundle: Path) -> tuple[set[str], dict[str, set[str]]]:
    """(paths of libraries outside the bundle that its ELF files need, {missing soname: {needed by}})."""
    elves = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]
    libdirs = sorted({str(p.parent) for p in elves if ".so" in p.name})
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(libdirs)}
    found: set[str] = set()
    missing: dict[str, set[str]] = {}
    for elf in elves:
        p = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env)
        for line in p.stdout.splitlines():
            m = re.match(r"\s*(\S+) => (not found|(\S+))", line)
            if not m:
                continue
            if m.group(2) == "not found":
                missing.setdefault(m.group(1), set()).add(str(elf.relative_to(bundle)))
            elif not Path(m.group(3)).resolve().is_relative_to(bundle.resolve()):
                found.add(m.group(3))
    return found, missing


def packages_of(paths: set[str]) -> set[str]:
    """Debian packages owning these files (tries the /lib and /usr/lib spellings of merged /usr)."""
    pkgs: set[str] = set()
    for path in sorted(paths):
        candidates = {path, str(Path(path).resolve())}
        for c in list(candidates):
            if c.startswith("/usr/lib/"):
                candidates.add(c[4:])
            elif c.startswith("/lib/"):
                candidates.add("/usr" + c)
        for c in candidates:
            p = subprocess.run(["dpkg-query", "-S", c], capture_output=True, text=True)
            if p.returncode == 0:
                for line in p.stdout.splitlines():
                    pkg = line.split(":", 1)[0]
                    pkgs.add(pkg)
                break
        else:
            raise SystemExit(f"build_deb: no Debian package owns {path}, which the bundle needs")
    return pkgs


def install(src: Path, dest: Path, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)


def gz(src: Path | bytes, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = src if isinstance(src, bytes) else src.read_bytes()
    with open(dest, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as f:
        f.write(data)
    dest.chmod(0o644)


def build(bundle: Path, man: Path, out: Path, work: Path) -> Path:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    stage = work / f"fieldrec_{__version__}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    opt = stage / "opt" / "fieldrec"
    shutil.copytree(bundle, opt, symlinks=True)
    shutil.rmtree(opt / "_internal" / "_soundfile_data")  # Debian's libsndfile1 instead (see above)
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / "fieldrec").symlink_to("/opt/fieldrec/fieldrec")
    share = stage / "usr" / "share"
    install(RES / f"{APP_ID}.desktop", share / "applications" / f"{APP_ID}.desktop")
    install(RES / f"{APP_ID}.metainfo.xml", share / "metainfo" / f"{APP_ID}.metainfo.xml")
    for icon in sorted((RES / "icons" / "hicolor").glob("*/apps/*")):
        install(icon, share / "icons" / "hicolor" / icon.relative_to(RES / "icons" / "hicolor"))
    gz(man, share / "man" / "man1" / "fieldrec.1.gz")
    doc = share / "doc" / "fieldrec"
    install(ROOT / "packaging" / "copyright", doc / "copyright")
    gz(ROOT / "CHANGELOG.md", doc / "changelog.gz")
    for page in sorted((ROOT / "docs" / "guide").glob("*.md")):
        install(page, doc / "guide" / page.name)
    for d in [stage, *stage.rglob("*")]:
        if d.is_dir() and not d.is_symlink():
            d.chmod(0o755)

    found, missing = system_libraries(opt)
    def optional_user(user: str) -> bool:
        return any(user.startswith(f"_internal/PySide6/Qt/{o}") for o in OPTIONAL_PLUGIN_DIRS)

    required = {lib: users for lib, users in missing.items() if not all(optional_user(u) for u in users)}
    if required:
        raise SystemExit("build_deb: libraries found neither in the bundle nor on this machine: "
                         + "; ".join(f"{lib} (for {', '.join(sorted(u)[:3])})" for lib, u in sorted(required.items())))
    depends = sorted(packages_of(found) | set(DLOPENED))
    size_kib = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"Package: fieldrec\nVersion: {__version__}\nArchitecture: {arch}\nSection: sound\nPriority: optional\n"
        f"Maintainer: fieldrec developers <fieldrec@localhost>\nInstalled-Size: {size_kib}\n"
        f"Depends: {', '.join(depends)}\nRecommends: libasound2-plugins\n"
        f"Description: {DESCRIPTION}\n")
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"fieldrec_{__version__}_{arch}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z3", "--build", str(stage), str(deb)], check=True,
                   stdout=subprocess.DEVNULL)
    optional = sorted(missing)
    print(f"build_deb: {deb} ({deb.stat().st_size / 1e6:.1f} MB, installed {size_kib / 1024:.0f} MiB)")
    print(f"build_deb: Depends: {', '.join(depends)}")
    if optional:
        print(f"build_deb: not on this machine, needed only by optional Qt plugins: {', '.join(optional)}")
    return deb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=ROOT / "dist" / "fieldrec")
    ap.add_argument("--man", type=Path, default=ROOT / "build" / "man" / "fieldrec.1")
    ap.add_argument("--out", type=Path, default=ROOT / "dist")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "deb")
    args = ap.parse_args(argv)
    for need, what in ((args.bundle / "fieldrec", "the bundle (make bundle)"), (args.man, "the man page (make man)")):
        if not need.exists():
            print(f"build_deb: {need} is missing: build {what} first", file=sys.stderr)
            return 2
    build(args.bundle.resolve(), args.man.resolve(), args.out.resolve(), args.work.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
