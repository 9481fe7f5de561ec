"""SHA-256 of files, read in chunks so memory stays flat for multi-gigabyte takes."""

import hashlib
from pathlib import Path

MIB = 1024 * 1024


def sha256_file(path: str | Path, chunk: int = MIB) -> str:
    """Return the SHA-256 of the file at ``path`` as 64 lowercase hex digits.

    ``chunk`` is the read size in bytes (default 1 MiB).
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            data = fh.read(chunk)
            if not data:
                break
            digest.update(data)
    return digest.hexdigest()
