"""GPS on the real paths: gpsd (gpsfake replaying an NMEA log) and a serial receiver (a pseudo-terminal)."""

from __future__ import annotations

import threading
import time

import pytest
from nmea_rig import ALT_MSL, LAT, LON, SIGMA_LAT, SIGMA_LON, Pty, epoch, free_port, gpsfake, nmea

from fieldrec.field.gps import (
    GpsError,
    GpsFix,
    GpsReader,
    convert_confidence,
    parse_gps_source,
)


@pytest.fixture
def gpsfake_port(tmp_path):
    with gpsfake(tmp_path) as port:
        yield port


@pytest.mark.slow
def test_gpsd_via_gpsfake_gives_the_logs_position_msl_altitude_and_95_percent_accuracy(gpsfake_port):
    with GpsReader(f"gpsd:127.0.0.1:{gpsfake_port}", retry_s=0.3) as gps:
        fix = gps.wait_for(lambda f: f.state == "3d" and f.accuracy_95_m is not None, timeout=30)
    assert fix.state == "3d", fix
    assert fix.latitude == pytest.approx(LAT, abs=1e-6) and fix.longitude == pytest.approx(LON, abs=1e-6)
    assert fix.alt_msl_m == pytest.approx(ALT_MSL, abs=0.01)  # not the ellipsoid height 456 m
    meta = fix.location_metadata()
    assert meta["source"] == "gps" and meta["elevation_reference"] == "msl"
    assert meta["accuracy_m"] == pytest.approx(fix.accuracy_95_m, abs=0.01) and meta["accuracy_confidence"] == 0.95
    assert meta["accuracy_68_m"] == pytest.approx(convert_confidence(fix.accuracy_95_m), abs=0.01)


def test_no_gpsd_is_a_state_with_the_reason_not_an_error():
    port = free_port()  # nothing listens there
    with GpsReader(f"gpsd:127.0.0.1:{port}", retry_s=0.2) as gps:
        fix = gps.wait_for(lambda f: f.state == "no-device", timeout=10)
    assert fix.state == "no-device" and fix.error
    assert "no receiver" in fix.summary() and fix.location_metadata() is None


@pytest.fixture
def pty_port():
    p = Pty()
    yield p
    p.close()


def feed(pty: Pty, text: str, stop: threading.Event) -> threading.Thread:
    def run():
        while not stop.is_set():
            pty.write(text)
            time.sleep(0.1)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_serial_nmea_receiver_through_a_pseudo_terminal(pty_port):
    stop = threading.Event()
    with GpsReader(pty_port.path + "@4800") as gps:
        feed(pty_port, epoch(1, fix=False), stop)
        nofix = gps.wait_for(lambda f: f.state == "no-fix", timeout=10)
        stop.set()
        time.sleep(0.2)
        stop.clear()
        feed(pty_port, "garbage line\r\n$GPGGA,broken*00\r\n" + epoch(2), stop)
        fix = gps.wait_for(lambda f: f.state == "3d" and f.accuracy_95_m is not None and f.time, timeout=10)
        stop.set()
    assert nofix.state == "no-fix" and not nofix.has_position and "no-fix" in nofix.summary()
    assert fix.latitude == pytest.approx(LAT, abs=1e-6) and fix.longitude == pytest.approx(LON, abs=1e-6)
    assert fix.alt_msl_m == ALT_MSL and fix.satellites == 9 and fix.hdop == 0.9
    sigma = ((SIGMA_LAT ** 2 + SIGMA_LON ** 2) / 2) ** 0.5
    assert fix.accuracy_m(0.68) == pytest.approx(sigma * 1.5096, rel=1e-3)  # back to 68 % exactly
    assert fix.time == "2026-06-01T06:12:02Z"
    assert fix.bad_sentences >= 1
    assert "±" in fix.summary() and "408 m MSL" in fix.summary()


def test_a_missing_serial_device_is_a_state(tmp_path):
    with GpsReader(str(tmp_path / "ttyNONE"), retry_s=0.2) as gps:
        fix = gps.wait_for(lambda f: f.state == "no-device", timeout=10)
    assert fix.state == "no-device" and "ttyNONE" in fix.error


def test_source_parsing():
    assert str(parse_gps_source("gpsd")) == "gpsd:127.0.0.1:2947"
    assert str(parse_gps_source("gpsd:10.0.0.5:3000")) == "gpsd:10.0.0.5:3000"
    assert str(parse_gps_source("gpsd:pi")) == "gpsd:pi:2947"
    assert str(parse_gps_source("/dev/ttyACM0")) == "/dev/ttyACM0@9600"
    for bad, msg in (("gpsd:h:99999", "not a port"), ("gpsd:a:b:c", "not a gpsd address"),
                     ("/dev/ttyUSB0@fast", "not a baud rate"), ("bluetooth", "not a GPS source")):
        with pytest.raises(GpsError, match=msg):
            parse_gps_source(bad)


def test_confidence_conversion_is_the_rayleigh_ratio():
    assert convert_confidence(10.0) == pytest.approx(6.167, abs=1e-3)
    assert convert_confidence(convert_confidence(10.0), 0.68, 0.95) == pytest.approx(10.0)
    assert GpsFix("3d", "x", 1.0, 2.0).accuracy_m() is None


def _epoch_at(sec: int, lat_min: float) -> str:
    """``epoch`` with the latitude moved to 47 deg ``lat_min`` min N (GST 1.5/2.5 m: 95 % radius 5.0 m), each
    sentence with its checksum made again."""
    lines = epoch(sec).replace("4722.6140,N", f"{4700 + lat_min:.4f},N").split("\r\n")
    return "".join(nmea(line[1:].rsplit("*", 1)[0]) for line in lines if line)


def test_a_take_records_its_gps_track_when_the_position_moves_more_than_the_accuracy(tmp_path):
    """A real GpsReader on a pseudo-terminal (raw mode) and a real session over the simulated source: the
    receiver stays at A, drifts 1 m (inside the 5 m accuracy: not kept), then moves 111 m north (kept)."""
    import json
    import tty

    from fieldrec.field.gps import distance_m
    from fieldrec.recorder import Recorder, TakeSettings
    from fieldrec.session import FieldOptions, FieldSession

    pty = Pty()
    tty.setraw(pty.slave)  # no echo: the master's output would fill up unread
    phase = {"text": epoch(1)}
    stop = threading.Event()

    def run():
        while not stop.is_set():
            pty.write(phase["text"])
            time.sleep(0.1)

    threading.Thread(target=run, daemon=True).start()
    try:
        with GpsReader(pty.path + "@4800") as gps:
            fix = gps.wait_for(lambda f: f.state == "3d" and f.accuracy_95_m is not None, timeout=10)
            assert fix.latitude == pytest.approx(LAT, abs=1e-6)
            rec = Recorder(TakeSettings(device="simulated", samplerate=48000, channels=1, out_dir=tmp_path))

            def extra_start():
                return {"location": gps.latest().location_metadata()}

            ses = FieldSession(rec, FieldOptions(), {}, extra_start=extra_start, position=gps.latest)
            ses.start()
            try:
                take = ses.record()
                time.sleep(0.8)
                phase["text"] = _epoch_at(3, 22.6145)  # 0.0005 min = 0.93 m north
                drift = gps.wait_for(lambda f: f.latitude != fix.latitude, timeout=10)
                assert distance_m(LAT, LON, drift.latitude, drift.longitude) == pytest.approx(0.93, abs=0.05)
                time.sleep(0.5)
                phase["text"] = _epoch_at(4, 22.6740)  # 0.06 min = 111 m north
                moved = gps.wait_for(lambda f: f.latitude > LAT + 0.0009, timeout=10)
                time.sleep(0.5)
                ses.stop()
            finally:
                ses.close()
    finally:
        stop.set()
        time.sleep(0.2)
        pty.close()
    doc = json.loads(take.paths.sidecar.read_text())
    loc = doc["metadata"]["location"]
    track = loc["track"]
    assert loc["source"] == "gps" and loc["latitude"] == pytest.approx(LAT, abs=1e-6)
    assert len(track) == 2, track
    start, second = track
    assert start["frame"] == 0 and start["latitude"] == pytest.approx(LAT, abs=1e-6)
    assert start["elevation_m"] == ALT_MSL and start["accuracy_m"] == pytest.approx(fix.accuracy_95_m, abs=0.01)
    assert second["latitude"] == pytest.approx(moved.latitude, abs=1e-7)
    assert distance_m(start["latitude"], start["longitude"], second["latitude"], second["longitude"]) == \
        pytest.approx(111.2, abs=0.5)
    # kept when the controller saw it: after the drift (>= 1.3 s into the take), before the take's end
    assert 1.3 * 48000 <= second["frame"] < doc["audio"]["frames"]
    assert second["time"].startswith("2026-06-01T06:12:0")
