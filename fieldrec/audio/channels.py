"""Which device channels to open and which to keep: ``--channels 2`` (a count) or ``--channels 1,2,5``.

PortAudio opens an input's channels 1..N (there is no portable channel map), so a subset opens channels up
to the highest one asked for and the capture keeps only the chosen columns (copied straight into the ring
by :meth:`fieldrec.audio.ring.FrameRing.push_columns`, no temporaries in the callback). Channel numbers are
1-based as printed on interfaces; ``keep`` indices are 0-based columns of the opened block. Each kept
channel has a name (``names``, default ``"In 5"`` for device channel 5) for the sidecar and iXML TRACK_LIST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ChannelSpecError(ValueError):
    """A channel list that cannot be used (one-line message)."""


@dataclass(frozen=True)
class ChannelSelection:
    """``device_channels``: the kept device channels (1-based, in file order); ``open_channels``: how many
    channels the input stream opens; ``keep``: 0-based columns of the opened block; ``names`` one each."""

    device_channels: tuple[int, ...]
    open_channels: int
    names: tuple[str, ...]

    @property
    def keep(self) -> tuple[int, ...]:
        return tuple(c - 1 for c in self.device_channels)

    @property
    def channels(self) -> int:
        """Channels in the file."""
        return len(self.device_channels)

    @property
    def is_all(self) -> bool:
        """True when every opened channel is kept in order (no column selection needed)."""
        return self.device_channels == tuple(range(1, self.open_channels + 1))

    def tracks(self) -> list[dict[str, object]]:
        """One entry per file channel: index (1-based in the file), device channel, name."""
        return [{"index": i + 1, "device_channel": c, "name": n}
                for i, (c, n) in enumerate(zip(self.device_channels, self.names, strict=True))]


def parse_channels(spec: str | int, max_channels: int | None = None,
                   names: Sequence[str] | None = None) -> ChannelSelection:
    """``2`` -> channels 1 and 2; ``"1,2,5"`` or ``"1-2,5"`` -> those device channels in that order.

    ``max_channels`` is the device's input count (checked when given); ``names`` one per kept channel.
    Raises :class:`ChannelSpecError`.
    """
    text = str(spec).strip()
    if isinstance(spec, int) or text.isdigit():
        n = int(text)
        if n < 1:
            raise ChannelSpecError(f"channel count must be at least 1, not {n}")
        chans = tuple(range(1, n + 1))
    else:
        out: list[int] = []
        for part in text.split(","):
            part = part.strip()
            lo, sep, hi = part.partition("-")
            if not lo.isdigit() or (sep and not hi.isdigit()):
                raise ChannelSpecError(f"'{spec}' is not a channel list; write a count (2) or channels "
                                       "like 1,2,5 or 1-4,7")
            a, b = int(lo), int(hi) if sep else int(lo)
            if a < 1 or b < a:
                raise ChannelSpecError(f"'{part}' in '{spec}': channels count from 1 and ranges go upwards")
            out.extend(range(a, b + 1))
        if len(set(out)) != len(out):
            dup = next(c for c in out if out.count(c) > 1)
            raise ChannelSpecError(f"channel {dup} is listed twice in '{spec}'")
        chans = tuple(out)
    top = max(chans)
    if max_channels is not None and top > max_channels:
        raise ChannelSpecError(f"channel {top} asked for, but the device has {max_channels} input channels")
    if names is None:
        nm = tuple(f"In {c}" for c in chans)
    else:
        nm = tuple(str(x) for x in names)
        if len(nm) != len(chans):
            raise ChannelSpecError(f"{len(nm)} channel names for {len(chans)} channels")
    return ChannelSelection(chans, top, nm)


def parse_channel_pair(spec: str | None, channels: int) -> tuple[int, ...] | None:
    """``--monitor-channels``: None or ``all`` -> None (all channels); ``1,2`` or ``3`` -> 0-based columns of
    the *recorded* channels (1-based as in the file; one channel is played on both sides).
    Raises :class:`ChannelSpecError`."""
    if spec is None or spec.strip().lower() in ("", "all"):
        return None
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) > 2 or not all(p.isdigit() for p in parts):
        raise ChannelSpecError(f"monitor channels '{spec}': choose all, one channel or a pair such as 1,2")
    chans = [int(p) for p in parts]
    for c in chans:
        if not 1 <= c <= channels:
            raise ChannelSpecError(f"monitor channel {c} asked for, but the take has channels 1-{channels}")
    return tuple(c - 1 for c in chans)
