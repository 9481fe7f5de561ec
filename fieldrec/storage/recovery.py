"""Make an interrupted take (crash, kill -9, power loss) whole again and say how long it is.

WAV written by TakeWriter needs no repair: its header is rewritten after every write. A FLAC file
carries its length in STREAMINFO, which libsndfile writes only at close, so an interrupted FLAC reports
an unknown length (and some readers refuse it). ``recover_take`` decodes such a file as far as it is
intact and re-encodes it losslessly into a temp file that atomically replaces the original. libsndfile
stops at the first torn FLAC frame, so the last encoder block or two (~4096-8192 frames) are lost on top
of what the encoder had not yet written when the process died.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from fieldrec.storage.errors import StorageError

#: libsndfile reports "unknown length" as a huge frame count (SF_COUNT_MAX).
_UNKNOWN_FRAMES = 2**62
_DECODE_BLOCK = 4096
_TAGS = ("title", "comment", "artist", "date", "software", "copyright", "album", "genre", "license")


@dataclass(frozen=True)
class RecoveredTake:
    """``frames``: frames the file holds now; ``repaired``: whether it was rewritten; ``detail``: one line."""

    frames: int
    repaired: bool
    detail: str


def recover_take(path: str | Path) -> RecoveredTake:
    """Check an audio file left by an interrupted take; repair an interrupted FLAC in place."""
    path = Path(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise StorageError(f"{path.name} cannot be read as audio ({' '.join(str(exc).split())}); "
                           "nothing could be recovered") from None
    if info.frames < _UNKNOWN_FRAMES:
        return RecoveredTake(info.frames, False, f"{path.name} is intact: {info.frames} frames")
    if info.format != "FLAC":
        raise StorageError(f"{path.name} has an unknown length and is not FLAC; open it in an audio editor")
    return _reencode_flac(path, info.samplerate, info.channels, info.subtype)


def _reencode_flac(path: Path, samplerate: int, channels: int, subtype: str) -> RecoveredTake:
    dtype = "int16" if subtype == "PCM_16" else "int32"
    tmp = path.with_name(f".{path.name}.recover.tmp")
    frames = 0
    try:
        with sf.SoundFile(str(path)) as src, sf.SoundFile(str(tmp), "w", samplerate, channels, subtype,
                                                          format="FLAC") as dst:
            for tag in _TAGS:
                value = getattr(src, tag, "")
                if value:
                    setattr(dst, tag, value)
            while True:
                try:
                    block = src.read(_DECODE_BLOCK, dtype=dtype, always_2d=True)
                except (sf.LibsndfileError, RuntimeError):
                    break  # the torn end of the file
                if not len(block):
                    break
                dst.write(np.ascontiguousarray(block))
                frames += len(block)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if sf.info(str(tmp)).frames != frames:
            raise StorageError(f"re-encoding {path.name} gave a different length; the original is kept")
        os.replace(tmp, path)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise StorageError(f"cannot repair {path.name}: {' '.join(str(exc).split())}; the original is kept") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return RecoveredTake(frames, True, f"{path.name} was interrupted; re-encoded {frames} intact frames")
