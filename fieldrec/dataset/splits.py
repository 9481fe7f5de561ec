"""Split: grouped, stable train/validation/test (or k-fold) assignment, its report, and the leak audit.

A group is the value of the ``group_by`` key (``fieldrec.dataset.keys``); a take without a value is its
own group (``take:<id>``). Without stratification a group's split depends on the seed and the group alone:
u = SHA-256(seed, group) as a number in [0, 1), and the split is the one whose cumulative ratio interval
holds u (fold = floor(u K)). Adding takes later never moves an existing group. With ``stratify_by`` the
groups of each stratum (their majority value of the key) are ordered by u and dealt out by largest
remainder so each stratum gets the ratios as closely as whole groups allow; that exactness costs
stability: adding groups to a stratum may move some of its groups.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from typing import Any

from fieldrec.dataset.fingerprint import MATCH, similarity_bits, unpack
from fieldrec.dataset.keys import key_text
from fieldrec.dataset.params import SplitParams
from fieldrec.dataset.records import OutputRecord, TakeRecord


def group_of(take: TakeRecord, key: str) -> str:
    value = key_text(take, key)
    return value if value else f"take:{take.take_id}"


def unit_hash(seed: int, group: str) -> float:
    """A number in [0, 1) from (seed, group): the group's place on the split line."""
    digest = hashlib.sha256(f"{seed}\x00{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _by_ratio(u: float, p: SplitParams) -> str:
    if p.folds:
        return f"fold{min(p.folds - 1, int(u * p.folds))}"
    edge = 0.0
    for name, ratio in p.ratios:
        edge += ratio
        if u < edge:
            return name
    return p.ratios[-1][0]


def assign(takes: list[TakeRecord], p: SplitParams) -> dict[str, str]:
    """{group: split} for the groups of ``takes``."""
    groups = sorted({group_of(t, p.group_by) for t in takes})
    if not p.stratify_by:
        return {g: _by_ratio(unit_hash(p.seed, g), p) for g in groups}
    strata: dict[str, Counter] = defaultdict(Counter)
    for t in takes:
        strata[group_of(t, p.group_by)][key_text(t, p.stratify_by)] += 1
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for g in groups:
        by_stratum[min(strata[g].items(), key=lambda kv: (-kv[1], kv[0]))[0]].append(g)
    names = p.names
    weights = [1.0 / p.folds] * p.folds if p.folds else [r for _, r in p.ratios]
    out: dict[str, str] = {}
    for members in by_stratum.values():
        members.sort(key=lambda g: unit_hash(p.seed, g))
        n = len(members)
        exact = [w * n for w in weights]
        counts = [int(e) for e in exact]
        for i in sorted(range(len(names)), key=lambda i: (counts[i] - exact[i], i))[: n - sum(counts)]:
            counts[i] += 1
        k = 0
        for name, c in zip(names, counts, strict=True):
            for g in members[k : k + c]:
                out[g] = name
            k += c
    return out


def report(outputs: list[OutputRecord], p: SplitParams) -> dict[str, Any]:
    """Achieved split sizes in groups, files and seconds (and their fractions), overall and per label."""
    def block(items: list[OutputRecord]) -> dict[str, Any]:
        rows: dict[str, Any] = {}
        tot_files = len(items)
        tot_sec = sum(o.duration_s for o in items)
        tot_groups = len({o.group for o in items})
        for name in p.names:
            mine = [o for o in items if o.split == name]
            groups, secs = len({o.group for o in mine}), sum(o.duration_s for o in mine)
            rows[name] = {
                "groups": groups, "files": len(mine), "seconds": round(secs, 6),
                "fraction_groups": round(groups / tot_groups, 6) if tot_groups else 0.0,
                "fraction_files": round(len(mine) / tot_files, 6) if tot_files else 0.0,
                "fraction_seconds": round(secs / tot_sec, 6) if tot_sec else 0.0,
            }
        return rows

    labels = sorted({o.label for o in outputs})
    return {
        "requested": {"folds": p.folds} if p.folds else dict(p.ratios),
        "group_by": p.group_by, "stratify_by": p.stratify_by, "seed": p.seed,
        "achieved": block(outputs),
        "per_label": {label: block([o for o in outputs if o.label == label]) for label in labels},
    }


def leak_audit(outputs: list[OutputRecord], fingerprints: dict[str, str]) -> dict[str, Any]:
    """Groups found in more than one split; the same source bytes, or near-identical audio (see
    ``fingerprint``), in more than one split. ``fingerprints`` maps source path to audio fingerprint."""
    splits_of_group: dict[str, set[str]] = defaultdict(set)
    split_of_source: dict[str, str] = {}
    sha_of_source: dict[str, str] = {}
    for o in outputs:
        splits_of_group[o.group].add(o.split)
        split_of_source[o.source_path] = o.split
        sha_of_source[o.source_path] = o.source_sha256
    overlap = [{"group": g, "splits": sorted(s)} for g, s in sorted(splits_of_group.items()) if len(s) > 1]
    sources = sorted(split_of_source)
    duplicates, near = [], []
    by_sha: dict[str, list[str]] = defaultdict(list)
    for src in sources:
        by_sha[sha_of_source[src]].append(src)
    for same in by_sha.values():
        for i, a in enumerate(same):
            for b in same[i + 1 :]:
                if split_of_source[a] != split_of_source[b]:
                    duplicates.append({"a": a, "b": b, "splits": [split_of_source[a], split_of_source[b]]})
    # near-identical: only takes whose lengths agree within 2 % can match, so sweep them in length order
    bits = {s: unpack(fingerprints[s]) for s in sources if fingerprints.get(s)}
    order = sorted(bits, key=lambda s: (len(bits[s]), s))
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if len(bits[b]) > 1.02 * len(bits[a]) + 1:
                break
            if split_of_source[a] == split_of_source[b] or sha_of_source[a] == sha_of_source[b]:
                continue
            s = similarity_bits(bits[a], bits[b])
            if s is not None and s >= MATCH:
                x, y = sorted((a, b))
                near.append({"a": x, "b": y, "splits": [split_of_source[x], split_of_source[y]],
                             "similarity": round(s, 4)})
    duplicates.sort(key=lambda p: (p["a"], p["b"]))
    near.sort(key=lambda p: (p["a"], p["b"]))
    return {"group_overlap": overlap, "identical_sources": duplicates, "near_identical_audio": near,
            "clean": not (overlap or duplicates or near)}
