"""The pipeline: files -> summaries (cached, in parallel) -> index -> entry points -> reach."""

from __future__ import annotations

import gc
import marshal
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from loopsight.check._cache import SummaryCache, content_key
from loopsight.check._config import CheckConfig
from loopsight.check._dependencies import dependency_findings
from loopsight.check._entrypoints import find_entrypoints
from loopsight.check._files import DEFAULT_EXCLUDE, SourceFile, decode, discover, parse
from loopsight.check._finding import Finding
from loopsight.check._index import ProjectIndex
from loopsight.check._names import CanonicalNames
from loopsight.check._noqa import suppressed
from loopsight.check._reach import reach
from loopsight.check._summary import (
    InputError,
    ModuleSummary,
    summary_from_tuple,
    summary_to_tuple,
)
from loopsight.check._visitor import summarise
from loopsight.check.rules import HOOKS, RULES
from loopsight.check.rules.offload import offload_functions

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["CheckResult", "run_check"]

#: Below this many bytes to parse, worker processes cost more than they save.
_PARALLEL_BYTES = 2_000_000


@dataclass(slots=True)
class CheckResult:
    """Findings (sorted, filtered by selection and ``# noqa``) and what was checked."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    parsed: int = 0
    #: each file's summary, by shown path (a re-check of a few rewritten files reuses them)
    summaries: dict[str, ModuleSummary] = field(default_factory=dict)


@dataclass(slots=True)
class _Job:
    source: SourceFile
    data: bytes | None
    key: str


class _JobContext(NamedTuple):
    """What every parse job reads: the files of the run and the per-run name tables.

    Worker processes are forked with it as an argument, so file contents are never pickled.
    """

    jobs: list[_Job]
    names: CanonicalNames
    offload: frozenset[str]


def _error_summary(source: SourceFile, error: InputError) -> ModuleSummary:
    return ModuleSummary(source.module, source.shown, source.is_package, 0, error=error)


def _analyse(context: _JobContext, index: int) -> ModuleSummary:
    job = context.jobs[index]
    assert job.data is not None
    source = job.source
    text = decode(job.data)
    if isinstance(text, InputError):
        return _error_summary(source, text)
    tree = parse(job.data, source.shown)  # bytes parse ~10% faster than str (no re-encoding)
    if isinstance(tree, InputError):
        return _error_summary(source, tree)
    try:
        return summarise(
            tree,
            text,
            source.module,
            source.shown,
            source.is_package,
            context.names,
            context.offload,
        )
    except RecursionError:
        return _error_summary(source, InputError("LS001", 1, 0, "nesting too deep to analyse"))


def _worker(context: _JobContext, indices: list[int], pipe: Connection) -> None:
    """A forked worker: analyse ``indices`` and send their summaries back as one blob."""
    gc.disable()  # parsing allocates millions of objects that are never cyclic garbage
    # marshal of plain tuples crosses the pipe ~5x faster than pickled dataclasses
    pipe.send_bytes(
        marshal.dumps([(index, summary_to_tuple(_analyse(context, index))) for index in indices])
    )
    pipe.close()


def _analyse_all(context: _JobContext, pending: list[int], jobs: int) -> dict[int, ModuleSummary]:
    total = sum(len(context.jobs[i].data or b"") for i in pending)
    if jobs < 2 or total < _PARALLEL_BYTES or sys.platform == "win32":
        return {index: _analyse(context, index) for index in pending}
    import multiprocessing

    # largest first, dealt round-robin: this process takes every jobs-th file itself
    ordered = sorted(pending, key=lambda i: -len(context.jobs[i].data or b""))
    shares = [ordered[start::jobs] for start in range(jobs)]
    fork = multiprocessing.get_context("fork")  # workers inherit the context: no data sent
    workers = []
    for share in shares[1:]:
        receiver, sender = fork.Pipe(duplex=False)
        process = fork.Process(target=_worker, args=(context, share, sender), daemon=True)
        process.start()
        sender.close()
        workers.append((process, receiver, share))
    results = {index: _analyse(context, index) for index in shares[0]}
    for process, receiver, share in workers:
        try:
            blob = receiver.recv_bytes()
        except EOFError:  # the worker died: do its share here
            results.update((index, _analyse(context, index)) for index in share)
        else:
            results.update((index, summary_from_tuple(data)) for index, data in marshal.loads(blob))
        receiver.close()
        process.join()
    return results


def _read(source: SourceFile) -> bytes | InputError:
    if source.error is not None:
        return source.error
    try:
        with open(source.path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno == 40:  # ELOOP
            return InputError("LS006", 1, 0, "symbolic link loop")
        return InputError("LS003", 1, 0, f"cannot read file: {reason}")


def _stat(source: SourceFile) -> tuple[int, int] | None:
    if source.error is not None:
        return None
    try:
        info = os.stat(source.path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def _input_finding(summary: ModuleSummary, error: InputError) -> Finding:
    return RULES[error.code].finding(summary.path, error.line, error.col, error.message)


def run_check(
    paths: list[str],
    config: CheckConfig | None = None,
    *,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    sources: Mapping[str, bytes] | None = None,
    known: Mapping[str, ModuleSummary] | None = None,
) -> CheckResult:
    """Check every Python file under ``paths``; never imports or runs the code checked.

    ``sources`` gives the contents of some files (by shown path) instead of the disk's: the
    fixer re-checks its rewrites before writing them (not cached); ``known``, the summaries
    of the other files from a check made with the same config (``CheckResult.summaries``).
    """
    enabled = gc.isenabled()
    gc.disable()  # the run allocates millions of acyclic objects; collections only cost time
    try:
        given = (sources or {}, known or {})
        return _run(paths, config or CheckConfig(), cache_dir, jobs, given)
    finally:
        if enabled:
            gc.enable()


def _run(
    paths: list[str],
    config: CheckConfig,
    cache_dir: Path | None,
    jobs: int | None,
    given: tuple[Mapping[str, bytes], Mapping[str, ModuleSummary]],
) -> CheckResult:
    extra = {name: code for hook in HOOKS.configured_calls for name, code in hook(config).items()}
    context = _JobContext([], CanonicalNames(extra_blocking=extra), offload_functions(config))
    base = DEFAULT_EXCLUDE if config.exclude is None else config.exclude
    files = discover(paths, base + config.extend_exclude)
    cache = SummaryCache(cache_dir) if cache_dir is not None else None
    summaries, pending = _collect(files, context.jobs, cache, config.fingerprint(), given)
    fresh = _analyse_all(context, pending, jobs if jobs is not None else (os.cpu_count() or 1))
    summaries.update(fresh)
    if cache is not None:
        for position, summary in fresh.items():
            if context.jobs[position].key:  # given sources have no key: never cached
                cache.put(context.jobs[position].key, summary)
        cache.save()
    ordered = [summaries[position] for position in range(len(files))]
    return _findings(ordered, config, context.names, len(pending))


def _collect(
    sources: list[SourceFile],
    jobs: list[_Job],
    cache: SummaryCache | None,
    fingerprint: str,
    given: tuple[Mapping[str, bytes], Mapping[str, ModuleSummary]],
) -> tuple[dict[int, ModuleSummary], list[int]]:
    """One job per source; the summaries the cache, the caller (or an unreadable file)
    already gives, and the positions still to parse."""
    summaries: dict[int, ModuleSummary] = {}
    pending: list[int] = []
    contents, known = given
    for position, source in enumerate(sources):
        if source.shown in contents:
            jobs.append(_Job(source, contents[source.shown], ""))
            pending.append(position)
            continue
        if source.shown in known:
            jobs.append(_Job(source, None, ""))
            summaries[position] = known[source.shown]
            continue
        found = _cached_or_read(source, cache, fingerprint)
        if isinstance(found, _Job):
            jobs.append(found)
            pending.append(position)
        else:
            job, summary = found
            jobs.append(job)
            summaries[position] = summary
    return summaries, pending


def _cached_or_read(
    source: SourceFile, cache: SummaryCache | None, fingerprint: str
) -> _Job | tuple[_Job, ModuleSummary]:
    """A job to parse, or a done job with its summary (from the cache, or an input error)."""
    stamp_key = f"{source.path}\0{source.shown}\0{source.module}\0{source.is_package}"
    stamp_key += "\0" + fingerprint
    info = _stat(source) if cache is not None else None
    if cache is not None and info is not None:
        hit = cache.by_stamp(stamp_key, *info)
        if hit is not None:  # unchanged size and mtime: not even read
            return _Job(source, None, hit[0]), hit[1]
    data = _read(source)
    if isinstance(data, InputError):
        return _Job(source, None, ""), _error_summary(source, data)
    if cache is None:
        return _Job(source, data, "")  # hashing only pays off with a cache
    key = content_key(data, source.shown, source.module, source.is_package, fingerprint)
    if info is not None:
        cache.stamp(stamp_key, *info, key)
    cached = cache.get(key)
    return _Job(source, data, key) if cached is None else (_Job(source, data, key), cached)


def _findings(
    summaries: list[ModuleSummary], config: CheckConfig, names: CanonicalNames, parsed: int
) -> CheckResult:
    index = ProjectIndex(summaries, names)
    entrypoints = find_entrypoints(index, frozenset(config.extra_route_decorators))
    loop, reached = entrypoints.loop, config.reach
    if reached is not None:  # only the chosen kinds of entry point count as on the loop
        loop = {key: entry for key, entry in loop.items() if entry.kind.label in reached}
    found = reach(index, loop)
    found += dependency_findings(index, entrypoints.routes)
    found += entrypoints.findings
    if reached is not None:
        found = [f for f in found if f.context is None or f.context.kind in reached]
    found += (_input_finding(s, s.error) for s in summaries if s.error is not None)
    noqa_by_path = {summary.path: summary.noqa for summary in summaries}
    kept = sorted(
        {
            finding
            for finding in found
            if config.enabled(finding.code, finding.severity, finding.category)
            and not suppressed(finding.line, finding.code, noqa_by_path.get(finding.path, {}))
        }
    )
    lines = sum(summary.lines for summary in summaries)
    by_path = {summary.path: summary for summary in summaries}
    return CheckResult(kept, len(summaries), lines, parsed, by_path)
