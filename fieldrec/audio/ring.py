"""A preallocated single-producer ring of audio frames.

The producer is the stream callback (``push``); consumers (the file writer, the meter thread) each keep
their own cursor and call ``read``; viewers call ``latest``. All positions are in frames counted from the
first frame ever pushed (``write_count``), never wrapped indices.

Thread model: exactly one producer thread; any number of consumer threads. There are no locks. The producer
announces the end of the block it is about to write (``_write_end``) before copying and publishes
``write_count`` after copying; a reader copies first and checks ``_write_end`` afterwards, dropping whatever
the producer may have overwritten meanwhile. Python attribute stores are atomic under the GIL.
"""

from __future__ import annotations

import numpy as np

#: Event kind codes stored in :attr:`FrameRing.event_table` (column 0); names in ``fieldrec.audio.events``.
RING_OVERRUN = 1
INPUT_OVERFLOW = 2
EVENT_NAMES = {RING_OVERRUN: "ring_overrun", INPUT_OVERFLOW: "input_overflow"}
#: ``frames`` value of an event whose size the backend could not tell.
UNKNOWN_FRAMES = -1
#: Columns of the event table: kind, frame, frames lost (-1 unknown), and two running totals over every
#: event ever recorded (frames lost, events of unknown size) *including this row*, so a reader that finds
#: rows overwritten still gets exact totals from the newest row.
EV_KIND, EV_FRAME, EV_FRAMES, EV_CUM_LOST, EV_CUM_UNKNOWN = range(5)


class FrameRing:
    """Ring buffer of ``capacity_frames`` frames of ``channels`` samples of ``dtype``.

    ``guard`` is the cursor (in frames) of the consumer that must never lose data (the file writer) or
    ``None``. While a guard is set, ``push`` drops a block that would overwrite frames the guard has not
    read yet and records a ``ring_overrun`` event instead. The guarded consumer moves the guard itself:
    ``data, cur, lost = ring.read(cur, n); ...; ring.guard = cur``.
    """

    def __init__(self, capacity_frames: int, channels: int, dtype: str | np.dtype = "float32",
                 event_slots: int = 4096) -> None:
        if capacity_frames < 1 or channels < 1:
            raise ValueError("FrameRing needs capacity_frames >= 1 and channels >= 1")
        self.capacity = int(capacity_frames)
        self.channels = int(channels)
        self.dtype = np.dtype(dtype)
        # written through now, on the opening thread: a buffer from np.zeros is the kernel's zero page until
        # first written, and the callback would take a page fault (the kernel zeroing a fresh page) every
        # 4 KiB of audio for the ring's first lap (about 94 a second at 48 kHz / 2 ch float32)
        self._buf = np.empty((self.capacity, self.channels), dtype=self.dtype)
        self._buf.fill(0)
        self.write_count: int = 0
        self._write_end: int = 0
        self.guard: int | None = None
        #: A circular table of the newest ``event_slots`` events (row ``i % event_slots`` holds event ``i``);
        #: columns ``EV_*``. Consumers drain it with :meth:`events_since`.
        self.event_table = np.zeros((int(event_slots), 5), dtype=np.int64)
        self.event_count: int = 0  # every event ever recorded (a Python int: it cannot overflow)
        self.lost_total: int = 0  # frames lost over all events of known size
        self.unknown_total: int = 0  # events whose size is unknown
        self.dropped_frames: int = 0  # frames dropped by ring overruns

    # ---- producer side (the audio callback only) -------------------------------------------------
    def push(self, block: np.ndarray) -> bool:
        """Copy ``block`` (frames, channels) into the ring. Returns False if it was dropped (overrun).

        Called only from the audio callback: no allocation beyond slicing views, no locks, no logging.
        """
        n = block.shape[0]
        wc = self.write_count
        guard = self.guard
        cap = self.capacity
        if guard is not None and wc + n - guard > cap:
            self.dropped_frames += n
            self.record_event(RING_OVERRUN, wc, n)
            return False
        if n > cap:  # only the newest capacity frames can be kept (no guard is set here)
            block = block[n - cap:]
            wc += n - cap
            n = cap
        self._write_end = wc + n
        start = wc % cap
        first = cap - start
        if n <= first:
            np.copyto(self._buf[start:start + n], block)
        else:
            np.copyto(self._buf[start:], block[:first])
            np.copyto(self._buf[:n - first], block[first:])
        self.write_count = wc + n
        return True

    def push_columns(self, block: np.ndarray, columns: np.ndarray) -> bool:
        """Like :meth:`push`, keeping only ``columns`` (an int array, one per ring channel) of ``block``.

        For a channel subset (``--channels 1,2,5``): the chosen columns are copied straight into the ring's
        storage (``np.take`` into a view, no temporaries). Called only from the audio callback.
        """
        n = block.shape[0]
        wc = self.write_count
        guard = self.guard
        cap = self.capacity
        if (guard is not None and wc + n - guard > cap) or n > cap:
            self.dropped_frames += n
            self.record_event(RING_OVERRUN, wc, n)
            return False
        self._write_end = wc + n
        start = wc % cap
        first = cap - start
        if n <= first:
            np.take(block, columns, axis=1, out=self._buf[start:start + n], mode="clip")
        else:
            np.take(block[:first], columns, axis=1, out=self._buf[start:], mode="clip")
            np.take(block[first:], columns, axis=1, out=self._buf[:n - first], mode="clip")
        self.write_count = wc + n
        return True

    def record_event(self, kind: int, frame: int, frames: int) -> None:
        """Record event number ``event_count`` in its row (producer thread only; no allocation).

        ``frame`` is the stream frame where the gap is (the first frame that should have followed);
        ``frames`` the frames lost, :data:`UNKNOWN_FRAMES` when the backend cannot tell. The row is complete
        before ``event_count`` moves, so a reader never sees half an event.
        """
        i = self.event_count
        if frames >= 0:
            self.lost_total += frames
        else:
            self.unknown_total += 1
        row = self.event_table[i % self.event_table.shape[0]]
        row[EV_KIND] = kind
        row[EV_FRAME] = frame
        row[EV_FRAMES] = frames
        row[EV_CUM_LOST] = self.lost_total
        row[EV_CUM_UNKNOWN] = self.unknown_total
        self.event_count = i + 1

    # ---- consumer side -----------------------------------------------------------------------------
    def events_since(self, index: int) -> tuple[np.ndarray, int, int]:
        """Events ``index`` .. ``event_count - 1`` still in the table.

        Returns ``(rows, first_index, missed)``: a copy of the rows (columns ``EV_*``) in order, the event
        number of the first row, and how many events after ``index`` were overwritten before this call (their
        totals are still in the running-total columns of the later rows).
        """
        end = self.event_count
        slots = self.event_table.shape[0]
        first = max(index, end - slots)
        rows = np.empty((max(0, end - first), 5), dtype=np.int64)
        for j, i in enumerate(range(first, end)):
            rows[j] = self.event_table[i % slots]
        if self.event_count - first > slots:  # the producer lapped the rows while they were copied
            cut = self.event_count - slots - first
            rows = rows[cut:]
            first += cut
        return rows, first, first - index

    def _copy_range(self, start: int, n: int) -> np.ndarray:
        out = np.empty((n, self.channels), dtype=self.dtype)
        if n == 0:
            return out
        cap = self.capacity
        s = start % cap
        first = min(n, cap - s)
        out[:first] = self._buf[s:s + first]
        if first < n:
            out[first:] = self._buf[:n - first]
        return out

    def read(self, cursor: int, max_frames: int) -> tuple[np.ndarray, int, int]:
        """Copy up to ``max_frames`` frames from ``cursor`` on.

        Returns ``(copy, new_cursor, lost_frames)``. A consumer that has been lapped (its frames were
        overwritten) gets ``lost_frames > 0`` and continues from the oldest valid frame.
        """
        wc = self.write_count
        if cursor < 0 or cursor > wc:
            raise ValueError(f"ring cursor {cursor} is outside 0..{wc} (frames written so far)")
        lost = 0
        oldest = wc - self.capacity
        if cursor < oldest:
            lost = oldest - cursor
            cursor = oldest
        n = max(0, min(int(max_frames), wc - cursor))
        out = self._copy_range(cursor, n)
        valid_from = self._write_end - self.capacity  # frames before this may have changed during the copy
        if cursor < valid_from:
            cut = min(valid_from - cursor, n)
            out = out[cut:]
            lost += cut
            cursor += cut
        return out, cursor + out.shape[0], lost

    def latest(self, frames: int) -> np.ndarray:
        """Copy of the newest ``frames`` frames (fewer at the start of a stream) for viewers."""
        wc = self.write_count
        n = max(0, min(int(frames), wc, self.capacity))
        start = wc - n
        out = self._copy_range(start, n)
        valid_from = self._write_end - self.capacity
        if start < valid_from:
            out = out[min(valid_from - start, n):]
        return out

    @property
    def nbytes(self) -> int:
        """Bytes held by the sample storage."""
        return self._buf.nbytes
