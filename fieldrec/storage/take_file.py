"""The last step of a take's finaliser, after the audio file is closed: embed the metadata chunks (WAV) and
set both hashes in the sidecar. One call for the take: ``finalise_file(path, sidecar) -> (sidecar, warning)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from fieldrec import __version__
from fieldrec.metadata.sidecar import Sidecar, set_file_hashes
from fieldrec.storage.chunk_map import build_chunks
from fieldrec.storage.embed import embed_in_place, take_hashes
from fieldrec.storage.errors import StorageError

log = logging.getLogger(__name__)


def finalise_file(path: str | Path, sidecar: Sidecar,
                  progress: Callable[[int, int], None] | None = None) -> tuple[Sidecar, str | None]:
    """Embed ``sidecar``'s chunks into the closed WAV at ``path`` (FLAC: none, see docs/metadata.md) and
    return the sidecar with size, ``sha256``, ``audio_sha256`` and ``file.chunks`` set, plus a one-line
    warning when embedding failed (the audio is then as it was and both hashes still describe it)."""
    path = Path(path)
    warning = None
    chunks: list[str] = []
    if sidecar.audio.container == "wav":
        try:
            result = embed_in_place(path, build_chunks(sidecar, __version__))
            chunks = list(result.chunks)
        except (StorageError, OSError) as err:
            warning = f"metadata chunks not embedded in {path.name}: {err}"
            log.error(warning)
    try:
        whole, audio = take_hashes(path, progress)
        size = path.stat().st_size
    except (StorageError, OSError, RuntimeError) as err:
        log.error("hashing %s: %s", path, err)
        return set_file_hashes(sidecar, size=0, sha256=None, audio_sha256=None, chunks=chunks), (
            warning or f"could not hash {path.name}: {err}")
    return set_file_hashes(sidecar, size=size, sha256=whole, audio_sha256=audio, chunks=chunks), warning


def rewrite_take(path: str | Path, sidecar: Sidecar) -> Sidecar:
    """After an edit: rewrite the chunks of the finished take at ``path`` from ``sidecar`` (new file, fsync,
    rename) and return the sidecar with the new size and whole-file hash.

    Refuses (``StorageError``, one line) when the file's audio hash no longer matches
    ``sidecar.file.audio_sha256``: the audio changed outside fieldrec, and nothing is touched.
    FLAC takes carry no chunks: only the hash check runs.
    """
    from fieldrec.storage.embed import rewrite_with_chunks

    path = Path(path)
    expected = sidecar.file.audio_sha256
    whole, audio = take_hashes(path)
    if expected is not None and audio != expected:
        raise StorageError(f"{path.name}: its audio no longer matches the sidecar's audio_sha256; "
                           "not editing (run fieldrec check)")
    if sidecar.audio.container != "wav":
        return set_file_hashes(sidecar, size=path.stat().st_size, sha256=whole, audio_sha256=audio)
    result = rewrite_with_chunks(path, build_chunks(sidecar, __version__), audio)
    return set_file_hashes(sidecar, size=result.bytes, sha256=result.sha256, audio_sha256=result.audio_sha256,
                           chunks=list(result.chunks))
