"""The library's search and filters, as a plain predicate over ``TakeRecord`` (the Qt proxy calls it).

Text search is case-insensitive and matches every word (in any order) against the take's name, location,
scene/take, tags, labels, notes, stop reason and problems. Tags must all be present. Dates compare the
take's local start date (inclusive at both ends). ``clipped``/``overflow``/``problems``: None = either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fieldrec.library.index import TakeRecord


def _haystack(r: TakeRecord) -> str:
    parts = [r.stem, r.location, r.scene, r.take, r.notes, r.stop_reason, r.state, *r.tags, *r.labels,
             *r.problems]
    return "\n".join(parts).casefold()


@dataclass(frozen=True)
class TakeFilter:
    text: str = ""
    tags: tuple[str, ...] = field(default=())
    date_from: date | None = None
    date_to: date | None = None
    clipped: bool | None = None
    overflow: bool | None = None
    problems: bool | None = None

    def matches(self, r: TakeRecord) -> bool:
        words = self.text.casefold().split()
        if words:
            hay = _haystack(r)
            if not all(w in hay for w in words):
                return False
        if self.tags:
            have = {t.casefold() for t in r.tags}
            if not all(t.casefold() in have for t in self.tags):
                return False
        if self.date_from is not None or self.date_to is not None:
            if r.start is None:
                return False
            day = r.start.date()
            if self.date_from is not None and day < self.date_from:
                return False
            if self.date_to is not None and day > self.date_to:
                return False
        if self.clipped is not None and r.clipped != self.clipped:
            return False
        if self.overflow is not None and (r.overflows > 0) != self.overflow:
            return False
        if self.problems is not None and bool(r.problems) != self.problems:
            return False
        return True


def all_tags(records: list[TakeRecord]) -> list[str]:
    """Every tag in ``records``, sorted case-insensitively, each once."""
    seen: dict[str, str] = {}
    for r in records:
        for t in r.tags:
            seen.setdefault(t.casefold(), t)
    return sorted(seen.values(), key=str.casefold)
