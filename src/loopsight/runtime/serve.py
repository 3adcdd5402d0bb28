"""The app factory ``loopsight run`` hands to uvicorn, and the per-worker run summary.

uvicorn imports ``loopsight.runtime.serve:create_app`` (``--factory``) in every worker, so the
target is instrumented in each worker process whatever ``--workers`` says. The target and the
options travel in environment variables; each worker prints its stalls as they happen and
writes a summary file at shutdown for the parent to merge.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

from loopsight.errors import LoopsightError
from loopsight.joins import FindingsFile
from loopsight.runtime.core import Runtime, get_runtime
from loopsight.runtime.exporters.log import LogExporter
from loopsight.runtime.instrument import instrument
from loopsight.runtime.records import Stall

__all__ = [
    "ENV_FINDINGS",
    "ENV_OPTIONS",
    "ENV_SUMMARY_DIR",
    "ENV_TARGET",
    "check_asgi",
    "create_app",
    "load_summaries",
    "write_summary",
]

ENV_TARGET = "LOOPSIGHT_RUN_TARGET"
ENV_OPTIONS = "LOOPSIGHT_RUN_OPTIONS"
ENV_SUMMARY_DIR = "LOOPSIGHT_RUN_SUMMARY_DIR"
ENV_FINDINGS = "LOOPSIGHT_RUN_FINDINGS"  # where loopsight check's findings will be written


def import_target(target: str) -> Any:
    """Import ``module:attr`` (dotted attributes allowed) or raise a one-line error."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise LoopsightError(f"target must look like module:app, got {target!r}")
    import importlib

    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise LoopsightError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise LoopsightError(f"{module_name!r} has no attribute {attr!r}") from None
    return obj


def check_asgi(target: str, obj: Any) -> None:
    """Raise a one-line error unless ``obj`` can be an ASGI app.

    Classes and callable objects pass (ASGI 2 classes, apps whose ``__call__`` returns an
    awaitable); a plain function that is not ``async def`` is a factory or a mistake.
    """
    hint = "expected an ASGI app such as FastAPI() or async def app(scope, receive, send)"
    if not callable(obj):
        raise LoopsightError(f"{target} is a {type(obj).__name__}, not an ASGI app; {hint}")
    plain = inspect.isfunction(obj) or inspect.ismethod(obj)
    if plain and not inspect.iscoroutinefunction(obj):
        raise LoopsightError(f"{target} is a plain function, not an ASGI app; {hint}")


def _print_stall(stall: Stall, findings: FindingsFile | None = None) -> None:
    line = stall.describe()
    index = findings() if findings is not None else None
    if index is not None and stall.culprit is not None:
        line += f"; {index.describe(stall.culprit.file, stall.culprit.line)}"
    sys.stderr.write(f"loopsight [{stall.pid}]: {line}\n")
    sys.stderr.flush()


class _SummaryWriter:
    """Writes one worker's summary file, once: at lifespan shutdown, when the serving parent
    asks (:func:`write_summary`), or at exit, whichever comes first."""

    def __init__(self, runtime: Runtime, directory: str) -> None:
        self.runtime = runtime
        self.directory = Path(directory)
        self.done = False

    def __call__(self) -> None:
        # Gone when this runs at exit of the process that served in-process: it wrote already.
        if self.done or not self.directory.is_dir():
            return
        self.done = True
        snap = self.runtime.snapshot()
        data = {
            "pid": snap.pid,
            "bounds": list(snap.request_bounds),
            "requests": [[list(k), v] for k, v in snap.requests.items()],
            "stalls": [s.to_json() for s in snap.stalls],
            "stall_count": snap.stall_count,
        }
        path = self.directory / f"summary-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)


def write_summary() -> None:
    """Write this process's summary now, if it served the app (one worker, in-process).

    An app without lifespan support never runs the shutdown hooks, and the exit handler runs
    after the summary directory is gone: the parent calls this once uvicorn has returned.
    """
    for hook in list(get_runtime().shutdown_hooks):
        if isinstance(hook, _SummaryWriter):
            hook()


def create_app() -> Any:
    """Import the target named in ``LOOPSIGHT_RUN_TARGET`` and instrument it."""
    target = os.environ.get(ENV_TARGET, "")
    options: dict[str, Any] = json.loads(os.environ.get(ENV_OPTIONS, "{}"))
    app = import_target(target)
    check_asgi(target, app)
    runtime = get_runtime()
    wrapped = instrument(app, log_stalls=False, runtime=runtime, **options)
    # An app that instruments itself logs each stall too; here each is printed once, below.
    for listener in list(runtime.listeners):
        if isinstance(listener, LogExporter):
            runtime.remove_listener(listener)
    findings_path = os.environ.get(ENV_FINDINGS)
    if findings_path:  # loopsight check runs meanwhile in a process of its own
        findings = FindingsFile(findings_path)
        runtime.findings = findings
        runtime.add_listener(functools.partial(_print_stall, findings=findings))
    else:
        runtime.add_listener(_print_stall)
    directory = os.environ.get(ENV_SUMMARY_DIR)
    if directory:
        writer = _SummaryWriter(runtime, directory)
        runtime.shutdown_hooks.append(writer)
        atexit.register(writer)  # a worker whose app has no lifespan
    return wrapped


def load_summaries(directory: str) -> tuple[dict[tuple[str, ...], list[float]], list[Stall]]:
    """Merge the workers' summary files: request histograms summed, stalls concatenated."""
    requests: dict[tuple[str, ...], list[float]] = {}
    stalls: list[Stall] = []
    for path in sorted(Path(directory).glob("summary-*.json")):
        data = json.loads(path.read_text())
        for key, row in data["requests"]:
            acc = requests.setdefault(tuple(key), [0.0] * len(row))
            for i, value in enumerate(row):
                acc[i] += value
        stalls.extend(Stall.from_json(s) for s in data["stalls"])
    stalls.sort(key=lambda s: s.wall_start)
    return requests, stalls
