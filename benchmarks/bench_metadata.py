"""What embedding the metadata chunks and the two hashes cost at the end of a take, against the anchor of one
plain SHA-256 pass over the same file (what the finaliser did before), measured in the same run.

A 10-minute 48 kHz / 2 ch / PCM_24 take (~173 MB) in /dev/shm when available (CPU cost, not disk speed).
Figures: anchor seconds; finalise_file seconds; their ratio (target ≤ 2.5: two independent SHA-256
digests are two passes of CPU; they run in two threads, so on an idle two-core machine the wall time comes
close to one pass); rewrite_take (edit: copy to a new file, both hashes, rename) as a ratio to the anchor;
the 1-minute load average during the run, because other work on the machine takes the second core.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from common import best, emit

from fieldrec.metadata import finish_sidecar, new_sidecar
from fieldrec.storage.hashing import sha256_file
from fieldrec.storage.take_file import finalise_file, rewrite_take
from fieldrec.storage.wav_writer import TakeWriter


def main() -> None:
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        path = Path(tmp) / "take.wav"
        sr, seconds = 48000, 600
        w = TakeWriter(path, sr, 2, "wav", "PCM_24")
        block = (np.random.default_rng(0).integers(-2**23, 2**23, (sr * 10, 2)) << 8).astype(np.int32)
        for _ in range(seconds // 10):
            w.write(block)
        w.close()
        start = datetime.now(UTC)
        sc = new_sidecar(file_name=path.name, samplerate=sr, channels=2, container="wav", subtype="PCM_24",
                         start=start, metadata={"scene": "1", "take": 1, "notes": "bench"})
        sc = finish_sidecar(sc, frames=sr * seconds, stop_reason="user", end=start)
        anchor = best(lambda: sha256_file(path))
        final = {}

        def fin() -> None:
            final["sc"], _ = finalise_file(path, sc)

        t_final = best(fin)
        t_edit = best(lambda: rewrite_take(path, final["sc"]))
        emit("metadata.anchor_sha256_s", anchor, "s")
        emit("metadata.finalise_file_s", t_final, "s")
        emit("metadata.finalise_over_anchor", t_final / anchor, "ratio", "<= 2.5")
        emit("metadata.edit_over_anchor", t_edit / anchor, "ratio", "<= 4")
        emit("metadata.load_average_1min", os.getloadavg()[0], "load")


if __name__ == "__main__":
    main()
