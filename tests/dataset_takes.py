"""Short takes for the export tests, written with the project's own writer and sidecar code.

``write_take`` renders the simulated field scene (``fieldrec.audio.simulated.FieldSignal``) or a given
signal, writes it with ``storage.wav_writer.TakeWriter`` and a version-1 sidecar (as the recorder writes
it, analysis by ``fieldrec.analyze.analyze_file``) with ``storage.sidecar.write_sidecar``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fieldrec import __version__
from fieldrec.analyze import analyze_file
from fieldrec.audio.simulated import FieldSignal
from fieldrec.metadata import new_take_metadata, validate_metadata
from fieldrec.storage.hashing import sha256_file
from fieldrec.storage.sidecar import SCHEMA_VERSION, sidecar_path, write_sidecar
from fieldrec.storage.wav_writer import TakeWriter, capture_dtype


def to_capture(x: np.ndarray, subtype: str) -> np.ndarray:
    """Float (full scale 1.0) to the writer's capture dtype."""
    dtype = capture_dtype(subtype)
    if dtype == "float32":
        return x.astype(np.float32)
    bits = 32 if dtype == "int32" else 16
    scale = float(1 << (bits - 1))
    return np.clip(np.rint(x.astype(np.float64) * scale), -scale, scale - 1).astype(dtype)


def write_take(folder: Path, name: str, *, seconds: float = 2.0, rate: int = 48000, channels: int = 2,
               subtype: str = "PCM_24", seed: int = 0, signal: np.ndarray | None = None,
               location: str = "", lat: float | None = None, lon: float | None = None, recorder: str = "",
               tags: tuple[str, ...] = (), extra: dict[str, Any] | None = None,
               markers: tuple[tuple[int, str], ...] = (), start: str = "2026-05-01T05:00:00",
               container: str = "wav", field_scene: bool = False) -> Path:
    """Write ``<folder>/<name>.wav`` and its sidecar; returns the audio path. The signal: ``signal``, else
    the simulated field scene when ``field_scene``, else seeded noise and a tone."""
    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / f"{name}.{container}"
    if signal is None and field_scene:
        signal = FieldSignal(rate, channels, seed).render(int(round(seconds * rate))) * 0.5
    elif signal is None:  # cheaper: seeded noise at -30 dBFS under a tone whose pitch depends on the seed
        n = int(round(seconds * rate))
        rng = np.random.default_rng(seed)
        tone = 0.25 * np.sin(2 * np.pi * (500 + 371 * (seed % 17)) * np.arange(n) / rate)
        signal = rng.normal(0, 0.03, (n, channels)) + tone[:, None]
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim == 1:
        signal = signal[:, None]
    channels = signal.shape[1]
    with TakeWriter(audio, rate, channels, container, subtype) as w:
        w.write(to_capture(signal, subtype))
    meta, errors = validate_metadata(new_take_metadata(location=location, latitude=lat, longitude=lon,
                                                       recorder=recorder, tags=list(tags)))
    assert not errors, errors
    meta.update(extra or {})
    frames = signal.shape[0]
    sidecar = {
        "schema_version": SCHEMA_VERSION,
        "file": {"name": audio.name, "bytes": audio.stat().st_size, "sha256": sha256_file(audio)},
        "audio": {"samplerate": rate, "channels": channels, "container": container, "subtype": subtype,
                  "frames": frames, "duration_s": frames / rate},
        "recording": {"state": "complete", "start_utc": start + "Z", "start_local": start + "+02:00",
                      "end_utc": start + "Z", "end_local": start + "+02:00", "device": {"name": "simulated", "hostapi": "fieldrec"},
                      "blocksize": 480, "latency_s": 0.01, "overflows": [], "stop_reason": "duration",
                      "stop_detail": None},
        "metadata": meta,
        "markers": [{"frame": f, "time_s": f / rate, "label": label} for f, label in markers],
        "analysis": {k: v for k, v in analyze_file(audio).items() if k not in ("file", "format", "subtype")},
        "software": {"name": "fieldrec", "version": __version__},
    }
    write_sidecar(sidecar_path(audio), sidecar)
    return audio
