"""fieldrec record (new flags, presets, take numbers, templates), edit, check [--repair], import: the real
command line in subprocesses, real files, read back."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET  # noqa: E402,I001
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from fieldrec.cli import main
from fieldrec.metadata import Metadata
from fieldrec.storage.chunks import Bext, info_pack, ixml_pack, sub
from fieldrec.storage.riff import pack_chunk
from tests.readers import fieldrec_cmd, isolated_env


@pytest.fixture(autouse=True)
def _own_config(tmp_path, monkeypatch):
    for key, value in isolated_env(tmp_path).items():
        if key.startswith("XDG_"):
            monkeypatch.setenv(key, value)


def run(tmp_path: Path, *args: str, timeout: float = 60, inproc: bool = False) -> subprocess.CompletedProcess:
    """``record`` in a subprocess (a real take with its own stream); the other commands through the same
    entry point (``fieldrec.cli.main``) in this process, which saves a Python start-up each."""
    if args[0] == "record" and not inproc:
        return subprocess.run(fieldrec_cmd(*args), capture_output=True, text=True, timeout=timeout,
                              env=isolated_env(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _sidecar(path: Path) -> dict:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def test_preset_record_check_edit(tmp_path):
    out = tmp_path / "takes"
    p = run(tmp_path, "preset", "save", "kit", "--equipment", "MixPre-6", "--microphone", "MKH 8040",
            "--project", "Alps", "--channel-name", "1=L", "--channel-name", "2=R", "--recordist", "Zoë")
    assert p.returncode == 0, p.stderr
    assert run(tmp_path, "preset", "list").stdout.split() == ["kit"]
    assert json.loads(run(tmp_path, "preset", "show", "kit").stdout)["project"] == "Alps"
    # a preset holds typed values: a latitude given as text is stored as the number the model reads
    assert run(tmp_path, "preset", "save", "site", "--lat", "46.5", "--lon", "8.25").returncode == 0
    site = json.loads(run(tmp_path, "preset", "show", "site").stdout)
    assert site["location"]["latitude"] == 46.5 and site["location"]["longitude"] == 8.25
    assert run(tmp_path, "preset", "delete", "site").returncode == 0
    bad = run(tmp_path, "record", "--device", "simulated", "--duration", "0.5", "--out", str(out),
              "--name", "{date}_{nonsense}", inproc=True)  # refused before any device is opened
    assert bad.returncode == 2 and "unknown field {nonsense}" in bad.stderr and "Traceback" not in bad.stderr
    names = []
    for _ in range(2):
        r = run(tmp_path, "record", "--device", "simulated", "--duration", "0.5", "--out", str(out), "--quiet",
                "--preset", "kit", "--project", "../Alps/..", "--scene", "1/2", "--elevation", "1834",
                "--circled", "--name", "{project}_{scene}_{take:03d}_{microphone}", "--notes", "a </NOTE> &")
        assert r.returncode == 0, r.stderr
        names.append(next(line for line in r.stdout.splitlines() if line.startswith("audio:")).split()[-1])
    paths = [Path(n) for n in names]
    assert all(p.parent == out for p in paths)  # '..' and '/' never leave the folder
    assert [p.name for p in paths] == ["Alps_1-2_001_MKH-8040.wav", "Alps_1-2_002_MKH-8040.wav"]
    first = _sidecar(paths[0])
    m = Metadata.model_validate(first["metadata"])
    assert (m.project, m.scene, m.take, m.circled, m.equipment.recorder, m.recordist) == (
        "../Alps/..", "1/2", 1, True, "MixPre-6", "Zoë")
    assert _sidecar(paths[1])["metadata"]["take"] == 2  # the next free take of the scene
    assert [c.name for c in m.equipment.channels] == ["L", "R"] and m.location.elevation_m == 1834
    assert first["file"]["chunks"] == ["LIST/INFO", "bext", "iXML", "guan"]
    dup = run(tmp_path, "record", "--device", "simulated", "--duration", "0.5", "--out", str(out),
              "--project", "../Alps/..", "--scene", "1/2", "--take", "2", inproc=True)
    assert dup.returncode == 2 and "exists already" in dup.stderr
    c = run(tmp_path, "check", str(out))
    assert c.returncode == 0, c.stdout + c.stderr
    before = sf.read(str(paths[0]), dtype="int32")[0]
    e = run(tmp_path, "edit", str(paths[0]), "--scene", "13", "--tag", "wind", "--lat", "46.5", "--lon", "7.9")
    assert e.returncode == 0, e.stderr
    after = _sidecar(paths[0])
    assert after["metadata"]["scene"] == "13" and after["metadata"]["tags"] == ["wind"]
    assert after["file"]["audio_sha256"] == first["file"]["audio_sha256"] != None  # noqa: E711
    assert np.array_equal(sf.read(str(paths[0]), dtype="int32")[0], before)
    assert run(tmp_path, "check", str(out), "--json").returncode == 0
    assert run(tmp_path, "edit", str(paths[0]), "--lat", "99").returncode == 2
    assert run(tmp_path, "preset", "delete", "kit").returncode == 0
    assert run(tmp_path, "preset", "show", "kit").returncode == 2


def test_kill_9_mid_take_then_check_repair_completes_it(tmp_path):
    out = tmp_path / "takes"
    proc = subprocess.Popen(fieldrec_cmd("record", "--device", "simulated", "--out", str(out), "--quiet",
                                         "--scene", "5", "--name", "killed"),
                            env=isolated_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    wav = out / "killed.wav"
    while time.monotonic() < deadline and not (wav.exists() and wav.stat().st_size > 200_000):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sf.info(str(wav)).frames > 0
    c = run(tmp_path, "check", str(out))
    assert c.returncode == 1 and "cut off by a crash" in c.stdout
    r = run(tmp_path, "check", "--repair", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "repaired:" in r.stdout and "completed the sidecar of an interrupted take" in r.stdout
    side = _sidecar(wav)
    assert side["recording"]["stop_reason"] == "interrupted" and side["audio"]["frames"] == sf.info(str(wav)).frames
    assert side["analysis"]["integrated_lufs"] is not None and side["file"]["chunks"]
    again = run(tmp_path, "check", str(out))
    assert again.returncode == 0 and "interrupted take" in again.stdout
    # an embedding cut off by a kill: bytes past the RIFF size
    with open(wav, "ab") as fh:
        fh.write(b"JUNK" + struct.pack("<I", 5000) + b"bext" + b"\0" * 40)
    assert run(tmp_path, "check", str(out)).returncode == 1
    assert run(tmp_path, "check", "--repair", str(out)).returncode == 0
    assert run(tmp_path, "check", str(out)).returncode == 0


def _foreign_wav(path: Path, before: list[bytes], after: list[bytes], frames: int = 4800) -> np.ndarray:
    """A 16-bit PCM WAV in a foreign recorder's chunk order: ``before`` chunks, fmt, data, ``after`` chunks."""
    samples = (np.arange(frames * 2, dtype=np.int64) % 2000 - 1000).astype("<i2").reshape(frames, 2)
    fmt = pack_chunk(b"fmt ", struct.pack("<HHIIHH", 1, 2, 48000, 48000 * 4, 4, 16))
    data = pack_chunk(b"data", samples.tobytes())
    body = b"WAVE" + b"".join(before) + fmt + data + b"".join(after)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + 3) + body)  # a RIFF size a few bytes wrong
    return samples


def test_import_foreign_recorders_and_our_own(tmp_path):
    src = tmp_path / "card"
    src.mkdir()
    # Sound Devices: bext (s-lines, garbage after the NUL) and iXML before data
    bext = Bext(description="sSPEED=048.000-ND\r\nsTAKE=04\r\nsSCENE=S12\r\nsTRK1=Boom\r\nsNOTE=cafe\xe9\r\n",
                originator="Sound Devices", originator_reference="SD123", origination_date="2026-05-01",
                origination_time="06:15:00").pack()
    bext = bext[:100] + b"\0garbage\xff" + bext[109:]
    root = ET.Element("BWFXML")
    for tag, text in (("IXML_VERSION", "1.61"), ("PROJECT", "Forest"), ("SCENE", "S12"), ("TAKE", "04"),
                      ("CIRCLED", "TRUE"), ("NOTE", "owl & wind")):
        sub(root, tag, text)
    tracks = sub(root, "TRACK_LIST")
    sub(tracks, "TRACK_COUNT", 2)
    for i, name in ((1, "Boom"), (2, "Lav")):
        t = sub(tracks, "TRACK")
        sub(t, "CHANNEL_INDEX", i)
        sub(t, "NAME", name)
    sd = _foreign_wav(src / "S12T04.WAV", [pack_chunk(b"bext", bext), pack_chunk(b"iXML", ixml_pack(root))], [])
    # Zoom F-series: bext with z-lines, iXML without TRACK_LIST, an odd chunk without its pad byte
    zoom_bext = Bext(description="zSCENE=Z1\r\nzTAKE=007\r\nzNOTE=Zoom take\r\n", originator="ZOOM F6").pack()
    zroot = ET.Element("BWFXML")
    sub(zroot, "PROJECT", "Shore")
    odd = b"ZOOM" + struct.pack("<I", 3) + b"abc"  # no pad byte
    _foreign_wav(src / "ZOOM0001.WAV", [pack_chunk(b"bext", zoom_bext)], [odd, pack_chunk(b"iXML", ixml_pack(zroot))])
    # AudioMoth: LIST/INFO comment, GUANO after data without space after the colon
    moth_guano = b"GUANO|Version:1.0\nMake:Open Acoustic Devices\nModel:AudioMoth\nLoc Position:51.5 -1.25\n" \
                 b"Temperature Ext:12.5\n"
    _foreign_wav(src / "20260501_061500.WAV",
                 [info_pack({"ICMT": "Recorded at 06:15:00 01/05/2026 (UTC) by AudioMoth 1234 at medium gain",
                             "IART": "AudioMoth 1234"})],
                 [pack_chunk(b"guan", moth_guano + (b"\n" if len(moth_guano) & 1 else b""))])
    (src / "notes.txt").write_text("not audio")
    out = tmp_path / "imported"
    r = run(tmp_path, "import", str(src), "--out", str(out), "--json")
    assert r.returncode == 1 and "notes.txt" in r.stderr and "Traceback" not in r.stderr  # the rest go on
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 3
    s = _sidecar(out / "S12T04.wav")
    m = s["metadata"]
    assert (m["project"], m["scene"], m["take"], m["circled"], m["notes"]) == ("Forest", "S12", 4, True, "owl & wind")
    assert [c["name"] for c in m["equipment"]["channels"]] == ["Boom", "Lav"]
    assert s["imported"]["bext"]["originator"] == "Sound Devices" and s["analysis"] is not None
    assert np.array_equal(sf.read(str(out / "S12T04.wav"), dtype="int16")[0], sd)
    assert (out / "S12T04.wav").read_bytes() == (src / "S12T04.WAV").read_bytes()
    z = _sidecar(out / "ZOOM0001.wav")["metadata"]
    assert (z["project"], z["scene"], z["take"], z["notes"]) == ("Shore", "Z1", 7, "Zoom take")
    a = _sidecar(out / "20260501_061500.wav")
    am = a["metadata"]
    assert (am["location"]["latitude"], am["location"]["longitude"], am["location"]["source"]) == (51.5, -1.25, "imported")
    assert am["equipment"]["model"] == "AudioMoth" and am["environment"]["temperature_c"] == 12.5
    assert "AudioMoth 1234" in a["imported"]["info"]["ICMT"]
    assert run(tmp_path, "check", str(out)).returncode == 0
    # our own take, every field filled, imported again gives the same model (model -> sidecar -> chunks -> import)
    from fieldrec.storage.sidecar import write_sidecar
    from fieldrec.storage.take_file import finalise_file
    from tests.integration.test_metadata_chunks import FULL, make_take

    own = tmp_path / "own"
    own.mkdir()
    path, sc, _ = make_take(own, FULL)
    sc, _ = finalise_file(path, sc)
    write_sidecar(path.with_suffix(".json"), sc)
    assert run(tmp_path, "import", str(path), "--out", str(tmp_path / "again")).returncode == 0
    back = _sidecar(tmp_path / "again" / "take.wav")
    assert Metadata.model_validate(back["metadata"]) == sc.metadata
    assert back["markers"] == [m.model_dump(mode="json") for m in sc.markers]
    assert back["recording"]["uid"] == sc.recording.uid


def test_bad_input_is_one_line(tmp_path):
    for args in (("check", str(tmp_path / "nope")), ("edit", str(tmp_path / "nope.wav"), "--scene", "1"),
                 ("preset", "save", "../evil"), ("import", str(tmp_path / "x"), "--out", str(tmp_path))):
        p = run(tmp_path, *args)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr, args
    assert sys.executable
