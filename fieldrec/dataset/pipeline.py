"""The export pipeline: select -> convert -> segment -> features -> split -> layout.

``run_export(request, progress)`` is the whole of ``fieldrec export`` (the CLI and a GUI dialog both call
it). Selection, split assignment and the layout run here; the per-take work (convert, segment, features)
is ``fieldrec.dataset.unit.export_take``, submitted to the executor chosen by ``workers``/``dask``. The
result is an ``ExportSummary``; ``exit_code`` is 0 when every selected take was exported, 1 when some
sources were skipped (unreadable, damaged, failed). Bad input (a missing source, an unwritable output
folder, an unreachable scheduler) raises ``ExportInputError`` (exit 2). A dry run also plans every take's
outputs (``fieldrec.dataset.plan``): ``ExportSummary.plan`` holds the takes, files and seconds per split.
``cancel`` (a callable, polled after every finished take) stops an export cleanly: the takes not started are
never started, the finished ones are in the journal, and ``ExportCancelled`` is raised; running the same
export again continues where it stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldrec.dataset import splits as sp
from fieldrec.dataset.convert import check_params
from fieldrec.dataset.executor import ExecutorError, open_executor
from fieldrec.dataset.keys import key_text
from fieldrec.dataset.layout import expected_files, remove_stale, write_layout
from fieldrec.dataset.params import ConvertParams, FeatureChoice, LayoutParams, SegmentParams, SplitParams
from fieldrec.dataset.plan import planned_outputs
from fieldrec.dataset.records import OutputRecord, TakeRecord
from fieldrec.dataset.segment import SegmentError
from fieldrec.dataset.select import Filters, Reject, select
from fieldrec.dataset.sources import SourceError, discover, load_take
from fieldrec.dataset.unit import TakeJob, export_take
from fieldrec.storage.errors import StorageError
from fieldrec.storage.folders import check_writable_folder
from fieldrec.storage.reader import AudioFileError


class ExportInputError(Exception):
    """Bad input for an export (exit 2); one line."""


class ExportCancelled(Exception):
    """The export was stopped through ``cancel`` after ``done`` of ``total`` takes; rerun to continue."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"export stopped after {done} of {total} takes; export again to continue")
        self.done, self.total = done, total


@dataclass(frozen=True)
class ExportRequest:
    sources: tuple[str, ...]
    out_dir: str
    filters: Filters = field(default_factory=Filters)
    convert: ConvertParams = field(default_factory=ConvertParams)
    segment: SegmentParams = field(default_factory=SegmentParams)
    features: FeatureChoice = field(default_factory=FeatureChoice)
    split: SplitParams = field(default_factory=SplitParams)
    layout: LayoutParams = field(default_factory=LayoutParams)
    workers: int | None = None
    dask: str | None = None
    dry_run: bool = False

    def parameters(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "filters": self.filters.to_dict(), "convert": self.convert.to_dict(),
                "segment": self.segment.to_dict(), "features": self.features.to_dict(),
                "split": self.split.to_dict(), "layout": self.layout.to_dict()}


@dataclass(frozen=True)
class ProgressEvent:
    """One take finished: ``done`` of ``total``, its id and status (done, cached, empty, failed)."""

    done: int
    total: int
    take_id: str
    status: str


@dataclass
class ExportSummary:
    out_dir: str
    dry_run: bool
    found: int = 0
    selected: int = 0
    exported_takes: int = 0
    cached_takes: int = 0
    outputs: list[OutputRecord] = field(default_factory=list)
    rejected: list[Reject] = field(default_factory=list)
    problems: list[Reject] = field(default_factory=list)  #: the rejects that make the exit code 1
    planned: dict[str, list[str]] = field(default_factory=dict)  #: split -> take ids (also in a dry run)
    plan: dict[str, dict[str, Any]] = field(default_factory=dict)  #: dry run: split -> takes, files, seconds
    split_report: dict[str, Any] = field(default_factory=dict)
    leak_audit: dict[str, Any] = field(default_factory=dict)
    executor: str = ""

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": self.out_dir, "dry_run": self.dry_run, "found": self.found, "selected": self.selected,
            "exported_takes": self.exported_takes, "cached_takes": self.cached_takes,
            "outputs": len(self.outputs), "seconds": round(sum(o.duration_s for o in self.outputs), 6),
            "planned": self.planned, "plan": self.plan, "splits": self.split_report, "leak_audit": self.leak_audit,
            "rejected": [r.to_dict() for r in self.rejected], "problems": len(self.problems),
            "executor": self.executor, "exit_code": self.exit_code,
        }


def base_names(takes: list[TakeRecord]) -> dict[str, str]:
    """{audio path: output stem}: the take's stem, with -2, -3, ... for clashes (in path order)."""
    seen: Counter = Counter()
    out = {}
    for t in sorted(takes, key=lambda t: t.audio_path):
        seen[t.take_id] += 1
        out[t.audio_path] = t.take_id if seen[t.take_id] == 1 else f"{t.take_id}-{seen[t.take_id]}"
    return out


def plan_takes(req: ExportRequest) -> tuple[list[TakeRecord], list[Reject], list[Reject], int]:
    """(selected takes, filter rejects, unreadable sources, number found)."""
    out = Path(req.out_dir).expanduser().resolve()
    try:
        paths = discover(list(req.sources), exclude=out)
    except FileNotFoundError as err:
        raise ExportInputError(f"source {err} does not exist; give folders or audio files") from None
    takes: list[TakeRecord] = []
    unreadable: list[Reject] = []
    for path in paths:
        try:
            takes.append(load_take(path, analyse=req.filters.needs_analysis))
        except SourceError as err:
            unreadable.append(Reject(str(path), f"unreadable: {err}"))
    kept, rejected = select(takes, req.filters)
    return kept, rejected, unreadable, len(paths)


def _plan(jobs: list[TakeJob], names: tuple[str, ...]) -> tuple[dict[str, dict[str, Any]], list[Reject], list[Reject]]:
    """For a dry run: takes, files and seconds per split; the takes whose export would fail; the takes that
    would give no file (as the export reports them)."""
    plan = {n: {"takes": 0, "files": 0, "seconds": 0.0} for n in names}
    failing, empty = [], []
    for job in jobs:
        try:
            problem = check_params(job.take, job.convert)
            if problem:
                raise SegmentError(problem)
            lengths = planned_outputs(job.take, job.convert, job.segment)
        except (SegmentError, AudioFileError) as err:
            failing.append(Reject(job.take.audio_path, f"failed: {Path(job.take.audio_path).name}: {err}"))
            continue
        if not lengths:
            empty.append(Reject(job.take.audio_path, f"{Path(job.take.audio_path).name}: no segments "
                                                     f"({job.segment.rule})"))
            continue
        row = plan.setdefault(job.split, {"takes": 0, "files": 0, "seconds": 0.0})
        row["takes"] += 1
        row["files"] += len(lengths)
        row["seconds"] = round(row["seconds"] + sum(lengths), 6)
    return plan, failing, empty


def run_export(req: ExportRequest, progress: Callable[[ProgressEvent], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> ExportSummary:
    out_dir = Path(req.out_dir).expanduser().resolve()
    kept, rejected, unreadable, found = plan_takes(req)
    summary = ExportSummary(str(out_dir), req.dry_run, found=found, selected=len(kept))
    assignment = sp.assign(kept, req.split)
    names = base_names(kept)
    jobs = []
    for t in kept:
        group = sp.group_of(t, req.split.group_by)
        split = assignment[group]
        summary.planned.setdefault(split, []).append(t.take_id)
        jobs.append(TakeJob(take=t, out_dir=str(out_dir), base_name=names[t.audio_path], split=split, group=group,
                            label=key_text(t, req.split.label_by), convert=req.convert, segment=req.segment,
                            features=req.features, coordinates=req.layout.coordinates))
    summary.rejected = unreadable + rejected
    summary.problems = list(unreadable)
    if req.dry_run:
        summary.plan, failing, empty = _plan(jobs, req.split.names)
        summary.rejected = sorted(summary.rejected + failing + empty, key=lambda r: (r.source, r.reason))
        summary.problems.extend(failing)
        return summary
    try:
        check_writable_folder(out_dir)
    except StorageError as err:
        raise ExportInputError(str(err)) from None
    try:
        executor = open_executor(req.workers, req.dask)
    except ExecutorError as err:
        raise ExportInputError(str(err)) from None
    summary.executor = executor.name
    results: dict[str, dict[str, Any]] = {}
    stopped: int | None = None
    try:
        futures = {executor.submit(export_take, job): job for job in jobs}
        for done, fut in enumerate(executor.as_completed(futures), 1):
            job = futures[fut]
            try:
                res = fut.result()
            except Exception as err:  # a bug or an OS error in a worker: this take fails, the rest go on
                res = {"status": "failed", "message": f"{Path(job.take.audio_path).name}: "
                       f"{type(err).__name__}: {err}", "outputs": [], "audio_fingerprint": ""}
            results[job.take.audio_path] = res
            if progress is not None:
                progress(ProgressEvent(done, len(jobs), job.take.take_id, res["status"]))
            if cancel is not None and done < len(jobs) and cancel():
                stopped = done
                break
    finally:
        executor.close()
    if stopped is not None:
        raise ExportCancelled(stopped, len(jobs))
    fingerprints: dict[str, str] = {}
    takes = {t.audio_path: t for t in kept}
    for job in jobs:
        res = results[job.take.audio_path]
        if res["status"] == "failed":
            problem = Reject(job.take.audio_path, f"failed: {res['message']}")
            summary.rejected.append(problem)
            summary.problems.append(problem)
            continue
        if res["status"] == "empty":
            summary.rejected.append(Reject(job.take.audio_path, res["message"]))
        summary.exported_takes += 1
        summary.cached_takes += res["status"] == "cached"
        fingerprints[job.take.audio_path] = res["audio_fingerprint"]
        summary.outputs.extend(OutputRecord.from_dict(o) for o in res["outputs"])
    summary.outputs.sort(key=lambda o: o.path)
    summary.rejected.sort(key=lambda r: (r.source, r.reason))
    remove_stale(out_dir, req.split.names, expected_files(summary.outputs))
    summary.split_report = sp.report(summary.outputs, req.split)
    summary.leak_audit = sp.leak_audit(summary.outputs, fingerprints)
    params = dict(req.parameters(), recorded_days=sorted({key_text(takes[o.source_path], "day") for o in summary.outputs}))
    write_layout(out_dir, summary.outputs, takes, summary.rejected, params, summary.split_report,
                 summary.leak_audit, req.split.names, req.layout.coordinates, req.layout.name)
    return summary
