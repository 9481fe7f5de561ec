"""SHA-256 of files, read in chunks so memory stays flat for multi-gigabyte takes."""

import hashlib
from collections.abc import Callable
from pathlib import Path

MIB = 1024 * 1024


def sha256_file(path: str | Path, chunk: int = MIB,
                progress: Callable[[int, int], None] | None = None) -> str:
    """Return the SHA-256 of the file at ``path`` as 64 lowercase hex digits.

    ``chunk`` is the read size in bytes (default 1 MiB). ``progress(done_bytes, total_bytes)`` is called
    after each chunk (a finaliser shows "finalising… 40 %" with it).
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        total = Path(path).stat().st_size
        done = 0
        while True:
            data = fh.read(chunk)
            if not data:
                break
            digest.update(data)
            done += len(data)
            if progress is not None:
                progress(done, total)
    return digest.hexdigest()

