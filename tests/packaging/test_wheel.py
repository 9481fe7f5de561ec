"""The wheel and sdist as `python -m build` makes them: every runtime file in, nothing from tests or
benchmarks; the desktop entry and AppStream file they carry pass the freedesktop validators; the man page
matches the parser; the version is one version everywhere.

One build (sdist, then the wheel from the sdist, as pip does) is shared by the module's tests.
"""

from __future__ import annotations

import email.parser
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.readers import fieldrec_cmd, isolated_env

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "org.fieldrec.fieldrec"
ICON_SIZES = ("16x16", "32x32", "48x48", "64x64", "128x128", "256x256")


def _version() -> str:
    from fieldrec import __version__

    return __version__


def _runtime_files() -> set[str]:
    """Every file under fieldrec/ that the installed program may need: all but caches and bytecode."""
    return {str(p.relative_to(ROOT)) for p in (ROOT / "fieldrec").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0], "dir": out}


def test_wheel_carries_every_runtime_file_and_no_tests(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    version = _version()
    assert built["wheel"].name == f"fieldrec-{version}-py3-none-any.whl"
    missing = _runtime_files() - names
    assert not missing, f"files under fieldrec/ missing from the wheel (add them to package-data): {sorted(missing)}"
    data = f"fieldrec-{version}.data/data/share/"
    expected_share = {
        f"{data}applications/{APP_ID}.desktop",
        f"{data}metainfo/{APP_ID}.metainfo.xml",
        f"{data}icons/hicolor/scalable/apps/fieldrec.svg",
        f"{data}man/man1/fieldrec.1",
        *(f"{data}icons/hicolor/{s}/apps/fieldrec.png" for s in ICON_SIZES),
    }
    assert expected_share <= names, sorted(expected_share - names)
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"fieldrec", f"fieldrec-{version}.dist-info", f"fieldrec-{version}.data"}, tops
    strays = [n for n in names if n.startswith("fieldrec/") and n not in _runtime_files()]
    assert not strays, f"the wheel has files that are not in the source tree: {strays}"
    assert not [n for n in names if "/tests/" in n or "/benchmarks/" in n or "conftest" in n]


def test_wheel_metadata_names_the_one_version_and_both_commands(built):
    zf = zipfile.ZipFile(built["wheel"])
    version = _version()
    meta = email.parser.Parser().parsestr(zf.read(f"fieldrec-{version}.dist-info/METADATA").decode())
    assert meta["Name"] == "fieldrec" and meta["Version"] == version
    entry_points = zf.read(f"fieldrec-{version}.dist-info/entry_points.txt").decode()
    assert "fieldrec = fieldrec.cli:main" in entry_points
    assert "[gui_scripts]" in entry_points and "fieldrec-gui = fieldrec.cli:main_gui" in entry_points


def test_sdist_has_the_sources_and_nothing_from_tests(built):
    version = _version()
    with tarfile.open(built["sdist"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for need in ("pyproject.toml", "README.md", "CHANGELOG.md", "docs/man/fieldrec.1", *_runtime_files()):
        assert need in names, f"{need} is missing from fieldrec-{version}.tar.gz"
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", ".venv/", "build/", "dist/"))]


def _extract(built: dict[str, Path], member: str) -> Path:
    target = built["dir"] / "extracted"
    with zipfile.ZipFile(built["wheel"]) as zf:
        return Path(zf.extract(member, target))


def test_desktop_entry_from_the_wheel_validates(built):
    assert shutil.which("desktop-file-validate"), "desktop-file-validate missing: `make test` installs desktop-file-utils"
    path = _extract(built, f"fieldrec/resources/{APP_ID}.desktop")
    proc = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    text = path.read_text()
    assert "Categories=AudioVideo;Audio;Recorder;\n" in text and "Icon=fieldrec\n" in text


def test_desktop_validator_rejects_a_broken_entry(tmp_path):
    """The validator really checks: the same entry with an unknown Type fails."""
    entry = (ROOT / "fieldrec" / "resources" / f"{APP_ID}.desktop").read_text()
    broken = tmp_path / f"{APP_ID}.desktop"
    broken.write_text(entry.replace("Type=Application", "Type=Program"))
    proc = subprocess.run(["desktop-file-validate", str(broken)], capture_output=True, text=True)
    assert proc.returncode != 0 and "Type" in proc.stdout


def test_appstream_metainfo_from_the_wheel_validates(built):
    assert shutil.which("appstreamcli"), "appstreamcli missing: `make test` installs appstream"
    path = _extract(built, f"fieldrec/resources/{APP_ID}.metainfo.xml")
    proc = subprocess.run(["appstreamcli", "validate", "--no-net", "--pedantic", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = path.read_text()
    assert f'<release version="{_version()}"' in text, "the AppStream file has no <release> for this version"


def test_window_icon_loads_in_qt(qapp):
    """The icon the window sets (fieldrec.gui.app.app_icon_path) is a real image at every shipped size."""
    from PySide6.QtGui import QImage

    from fieldrec.gui.app import app_icon_path

    for size in (16, 32, 48, 64, 128, 256):
        image = QImage(str(app_icon_path(size)))
        assert (image.width(), image.height()) == (size, size)
    svg = ROOT / "fieldrec" / "resources" / "icons" / "hicolor" / "scalable" / "apps" / "fieldrec.svg"
    assert not QImage(str(svg)).isNull()  # Qt's SVG image plugin reads the scalable icon


def test_committed_man_page_matches_the_parser():
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import make_man
    finally:
        sys.path.remove(str(ROOT / "packaging"))

    def body(text: str) -> list[str]:  # all but the .TH line, which holds the build date
        return [line for line in text.splitlines() if not line.startswith(".TH ")]

    fresh, committed = make_man.render(), (ROOT / "docs" / "man" / "fieldrec.1").read_text()
    assert body(fresh) == body(committed), "docs/man/fieldrec.1 is out of date: run `make man`"
    assert "fieldrec record" in fresh and "\\-\\-samplerate" in fresh


def test_version_is_one_version(tmp_path):
    """--version, the installed metadata and a take's sidecar all say the version in fieldrec/__init__.py."""
    from importlib.metadata import version

    env = isolated_env(tmp_path)
    proc = subprocess.run(fieldrec_cmd("--version"), capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == f"fieldrec {_version()}"
    assert version("fieldrec") == _version()  # pyproject.toml reads it from fieldrec/__init__.py
    out = tmp_path / "takes"
    proc = subprocess.run(fieldrec_cmd("record", "--device", "simulated", "--duration", "0.5", "--out", str(out),
                                       "--quiet"), capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (sidecar,) = out.glob("*.json")
    assert json.loads(sidecar.read_text())["software"] == {"name": "fieldrec", "version": _version()}
