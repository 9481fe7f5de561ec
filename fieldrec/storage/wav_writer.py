"""Crash-safe take writer: WAV (RF64 with auto-downgrade, header rewritten after every write) or FLAC.

Why two libsndfile commands (see docs/file-formats.md):

* ``SFC_RF64_AUTO_DOWNGRADE`` (0x1210): the file is opened as RF64 so a take may grow past 4 GiB, but while
  it is smaller than 4 GiB libsndfile writes a plain RIFF/WAVE header (with a JUNK chunk reserving room for
  the ds64 chunk), which every reader understands. libsndfile reports such a file as format ``WAVEX`` when
  reading it back (it writes a WAVE_FORMAT_EXTENSIBLE fmt chunk).
* ``SFC_SET_UPDATE_HEADER_AUTO`` (0x1061): the RIFF and data chunk sizes are rewritten after every write,
  so the header on disk always matches the data already written; a ``kill -9`` or a crash leaves a file
  that every reader opens with all the audio handed to ``write`` before the kill.

Both commands must be sent before the first write. soundfile does not expose them, so they are sent
through soundfile's cffi handle.
"""

import errno
import logging
import os
from pathlib import Path
from typing import NoReturn

import numpy as np
import soundfile as sf

from fieldrec.formats import CONTAINERS, FORMATS, SUBTYPES, FormatError
from fieldrec.formats import capture_dtype as _capture_dtype
from fieldrec.storage.diskspace import SAMPLE_BYTES, free_bytes
from fieldrec.storage.errors import DiskFullError, StorageError

log = logging.getLogger(__name__)

SFC_SET_UPDATE_HEADER_AUTO = 0x1061
SFC_RF64_AUTO_DOWNGRADE = 0x1210
SF_TRUE = 1

_FLAC_SUBTYPES = tuple(f.subtype for f in FORMATS.values() if f.container == "flac")

#: Re-check free space at least after this much audio (seconds) has been written since the last check.
SPACE_CHECK_SECONDS = 0.5
#: Room kept free for file-system allocation granularity and the header (bytes).
SPACE_MARGIN_BYTES = 64 * 1024


def capture_dtype(subtype: str) -> str:
    """NumPy dtype name the capture must deliver so that the file is bit-exact for ``subtype``.

    PCM_16 → ``"int16"``; PCM_24 and PCM_32 → ``"int32"`` (PCM_24 keeps the top 24 bits); FLOAT → ``"float32"``.
    """
    try:
        return _capture_dtype(subtype)
    except FormatError as err:
        raise StorageError(str(err)) from None


def send_command(snd: sf.SoundFile, command: int, value: int = SF_TRUE) -> int:
    """Send an integer libsndfile command (``sf_command`` with a NULL pointer) and return its result."""
    return int(sf._snd.sf_command(snd._file, command, sf._ffi.NULL, value))


class TakeWriter:
    """Writes one take to ``path``; ``write`` blocks of shape (frames, channels) in the capture dtype.

    ``samplerate`` in Hz, ``channels`` ≥ 1, ``container`` ``"wav"`` or ``"flac"``, ``subtype`` one of
    PCM_16, PCM_24, PCM_32, FLOAT (FLAC: PCM_16 and PCM_24 only). ``path`` must not exist or be an empty file
    (as left by ``naming.reserve_take_path``); a non-empty file is never overwritten.
    """

    def __init__(
        self,
        path: str | Path,
        samplerate: int,
        channels: int,
        container: str = "wav",
        subtype: str = "PCM_24",
    ) -> None:
        self.path = Path(path)
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        self.container = container
        self.subtype = subtype
        self._check_settings()
        self.dtype = np.dtype(capture_dtype(subtype))
        self.bytes_per_frame = self.channels * SAMPLE_BYTES[subtype]
        self._frames = 0
        self._closed = False
        self._final_size: int | None = None
        self._check_target()
        self._space_margin = max(SPACE_MARGIN_BYTES, 8192 * self.bytes_per_frame)
        self._check_every = max(1, int(SPACE_CHECK_SECONDS * self.samplerate * self.bytes_per_frame))
        self._free_at_check = 0
        self._since_check = 0
        self._refresh_space()
        self._sf = self._open()
        # Our own descriptor of the same file: fsync, size and the hash reach the file through it even if its
        # folder is renamed or replaced while recording (the audio keeps going to the open file).
        self._fd = os.open(self.path, os.O_RDONLY)

    def _check_settings(self) -> None:
        if self.container not in CONTAINERS:
            raise StorageError(f"unknown container {self.container!r}; use 'wav' or 'flac'")
        if self.subtype not in SUBTYPES:
            raise StorageError(f"unknown subtype {self.subtype!r}; use one of {', '.join(SUBTYPES)}")
        if self.container == "flac" and self.subtype not in _FLAC_SUBTYPES:
            raise StorageError(
                f"FLAC cannot store {self.subtype}; use PCM_16 or PCM_24, or the WAV container"
            )
        if self.samplerate <= 0 or self.channels <= 0:
            raise StorageError(
                f"invalid format {self.samplerate} Hz / {self.channels} ch; both must be positive"
            )
        if self.container == "flac" and (self.channels > 8 or self.samplerate > 655350):
            raise StorageError(
                f"FLAC allows at most 8 channels and 655350 Hz, got {self.channels} ch / "
                f"{self.samplerate} Hz; use the WAV container"
            )

    def _check_target(self) -> None:
        folder = self.path.parent
        if not folder.is_dir():
            raise StorageError(
                f"recording folder {folder} does not exist; create it or choose another folder"
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StorageError(f"recording folder {folder} is not writable; choose a writable folder")
        if self.path.exists() and (not self.path.is_file() or self.path.stat().st_size > 0):
            raise StorageError(f"{self.path} already exists and is not empty; a take never overwrites a file")

    def _open(self) -> sf.SoundFile:
        fmt = "RF64" if self.container == "wav" else "FLAC"
        try:
            snd = sf.SoundFile(self.path, "w", self.samplerate, self.channels, self.subtype, format=fmt)
        except (sf.LibsndfileError, OSError, RuntimeError, TypeError, ValueError) as exc:
            raise StorageError(
                f"cannot create {self.path}: {_one_line(exc)}; check the folder and format"
            ) from None
        if self.container == "wav":
            results = (
                send_command(snd, SFC_RF64_AUTO_DOWNGRADE),
                send_command(snd, SFC_SET_UPDATE_HEADER_AUTO),
            )
            if results != (SF_TRUE, SF_TRUE):
                snd.close()
                raise StorageError(
                    f"libsndfile {sf.__libsndfile_version__} refused crash-safe WAV mode "
                    f"(results {results}); install libsndfile >= 1.0.26"
                )
        return snd

    @property
    def frames(self) -> int:
        """Frames written to the file so far."""
        return self._frames

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def duration_s(self) -> float:
        """Seconds of audio written so far."""
        return self._frames / self.samplerate

    def bytes_on_disk(self) -> int:
        """Current size of the file in bytes (FLAC lags by the encoder's buffer until close)."""
        if self._final_size is not None:
            return self._final_size
        return os.fstat(self._fd).st_size

    def free_bytes(self) -> int:
        """Bytes free on the file's file system, through its open descriptor while there is one (so it stays
        right if the folder is renamed or replaced while recording)."""
        fd = getattr(self, "_fd", -1)
        return free_bytes(self.path.parent, fd if fd >= 0 else None)

    def _refresh_space(self) -> None:
        self._free_at_check = self.free_bytes()
        self._since_check = 0

    def _ensure_space(self, nbytes: int) -> None:
        need = nbytes + self._space_margin
        if self._since_check >= self._check_every or self._free_at_check - self._since_check < need:
            self._refresh_space()
            if self._free_at_check < need:
                raise DiskFullError(
                    f"disk full: {self._free_at_check // 1024} KiB free in {self.path.parent}, "
                    f"{self.duration_s:.1f} s saved in {self.path.name}; stop and free space or change folder"
                )

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (frames, channels) in the capture dtype (see ``capture_dtype``), sample-exact.

        Raises ``DiskFullError`` before writing a block that would not fit (the file stays valid and
        can be closed), ``StorageError`` for anything else.
        """
        if self._closed:
            raise StorageError(f"{self.path.name} is already closed; start a new take")
        block = np.asarray(block)
        if block.ndim == 1 and self.channels == 1:
            block = block.reshape(-1, 1)
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise StorageError(
                f"block shape {block.shape} does not match {self.channels} channels; "
                "pass an array of shape (frames, channels)"
            )
        if block.dtype != self.dtype:
            raise StorageError(
                f"block dtype {block.dtype} does not match subtype {self.subtype}; capture as {self.dtype}"
            )
        if len(block) == 0:
            return
        nbytes = len(block) * self.bytes_per_frame
        self._ensure_space(nbytes)
        try:
            self._sf.write(block)
        except (sf.LibsndfileError, OSError, RuntimeError, AssertionError) as exc:
            self._fail(exc, nbytes)
        self._frames += len(block)
        self._since_check += nbytes

    def _fail(self, exc: BaseException, nbytes: int) -> NoReturn:
        """Turn a libsndfile write failure into DiskFullError/StorageError; ``frames`` = what the file holds."""
        err_no = sf._ffi.errno  # libsndfile says only "System error."; the C errno survives in cffi
        pos = int(sf._snd.sf_seek(self._sf._file, 0, os.SEEK_CUR))
        if pos > self._frames:  # part of the block reached the file and the header counts it
            self._frames = pos
        try:
            full = self.free_bytes() < nbytes + self._space_margin
        except StorageError:
            full = False
        if full or err_no in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise DiskFullError(
                f"disk full while writing {self.path.name}, {self.duration_s:.1f} s saved; "
                "stop and free space or change folder"
            ) from None
        reason = os.strerror(err_no) if err_no else _one_line(exc)
        raise StorageError(f"cannot write to {self.path}: {reason}; check the disk and the folder") from None

    def sync(self) -> None:
        """Ask the OS to put everything written so far on the storage medium (fsync; costs milliseconds)."""
        if self._closed:
            return
        os.fsync(self._fd)

    def close(self) -> None:
        """Finish the file (final header / FLAC STREAMINFO) and fsync it. Safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sf.close()
        except (sf.LibsndfileError, OSError, RuntimeError) as exc:
            raise StorageError(
                f"cannot finish {self.path}: {_one_line(exc)}; the audio so far is kept"
            ) from None
        try:
            os.fsync(self._fd)
            self._final_size = os.fstat(self._fd).st_size
        except OSError:
            self._final_size = None

    def current_path(self) -> Path:
        """Where the file is now: the path it was opened at while that path still names this file (however it
        was written: relative, through a symbolic link); else, if its folder was renamed while recording, the
        place it moved to (Linux: from /proc/self/fd; elsewhere, or once the file is deleted, the path it was
        opened at)."""
        if self._fd < 0:
            return self.path
        try:
            if os.path.samestat(os.fstat(self._fd), os.stat(self.path)):
                return self.path
        except OSError:  # the path names nothing now: the folder was moved or deleted
            pass
        link = Path(f"/proc/self/fd/{self._fd}")
        if link.exists():
            target = os.readlink(link)
            if not target.endswith(" (deleted)"):
                return Path(target)
        return self.path

    def release(self) -> None:
        """Close the writer's descriptor (after ``close``)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)

    def __enter__(self) -> "TakeWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"TakeWriter({str(self.path)!r}, {self.samplerate}, {self.channels}, {self.container!r}, "
            f"{self.subtype!r}, frames={self._frames}, {state})"
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


__all__ = ["TakeWriter", "capture_dtype", "SUBTYPES", "CONTAINERS", "DiskFullError", "StorageError"]
