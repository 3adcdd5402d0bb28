"""``loopsight run module:app [uvicorn options]``: serve an app with the stall watchdog on.

Imports the target, instruments it (in every worker), serves it with uvicorn, prints each stall
as it happens and, at shutdown, a summary table per route. Options loopsight does not know
are passed to uvicorn unchanged (``--port 8001 --workers 2 --loop uvloop``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

import typer

from loopsight.cli._common import fail

__all__ = ["CONTEXT_SETTINGS", "run"]

# Unknown options and extra arguments are uvicorn's.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def run(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="The ASGI app to serve, as module:attribute."),
    threshold_ms: float = typer.Option(
        100.0, "--threshold-ms", help="Heartbeat delay that counts as a stall (ms)."
    ),
    endpoints: str = typer.Option(
        "",
        "--endpoints",
        help="Comma-separated endpoints to serve under /_loopsight: metrics, stalls, "
        "dashboard, trace. Each needs --token.",
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="LOOPSIGHT_TOKEN", help="Token the endpoints require."
    ),
    timing_headers: bool = typer.Option(
        False,
        "--timing-headers",
        help="Add Server-Timing and X-Process-Time to every response (off: they cost CPU and "
        "tell clients how long the server spent).",
    ),
    workers: int = typer.Option(
        1, "--workers", help="uvicorn worker processes; metrics and the summary cover them all."
    ),
) -> None:
    """Serve MODULE:APP under uvicorn with the stall watchdog; print stalls and a summary.

    Every option not listed below is passed to uvicorn unchanged: --host, --port, --workers,
    --loop, --no-access-log, --log-level ... (see uvicorn --help).
    """
    from loopsight.errors import LoopsightError
    from loopsight.runtime import serve
    from loopsight.runtime.instrument import OptionNames, check_options

    names = OptionNames("--endpoints", "--token", "--threshold-ms")
    sys.path.insert(0, os.getcwd())  # as uvicorn does with its default --app-dir
    try:  # fail here, in one line, rather than in every worker
        wanted, token = check_options(
            endpoints=(e.strip() for e in endpoints.split(",") if e.strip()),
            token=token,
            threshold_ms=threshold_ms,
            names=names,
        )
        if workers < 1:
            raise LoopsightError(f"--workers must be at least 1, got {workers}")
        metrics_dir = _metrics_dir()
        serve.check_asgi(target, serve.import_target(target))
        _check_address(list(ctx.args))
    except LoopsightError as exc:
        fail(str(exc))
    options = {
        "threshold_ms": threshold_ms,
        "endpoints": list(wanted),
        "server_timing": timing_headers,
        "process_time": timing_headers,
    }
    with tempfile.TemporaryDirectory(prefix="loopsight-run-") as directory:
        os.environ[serve.ENV_TARGET] = target
        os.environ[serve.ENV_OPTIONS] = json.dumps(options)
        os.environ[serve.ENV_SUMMARY_DIR] = directory
        if token:
            os.environ["LOOPSIGHT_TOKEN"] = token
        if workers > 1 and metrics_dir is None:  # each worker's metrics, summed by any scrape
            metrics_dir = os.path.join(directory, "prometheus")
            os.mkdir(metrics_dir)
            os.environ[_MULTIPROC_ENV] = metrics_dir
        worker_args = ["--workers", str(workers)] if workers > 1 else []
        findings = os.path.join(directory, "findings.json")
        os.environ[serve.ENV_FINDINGS] = findings
        checker = _start_check(target, findings)
        try:
            code = _serve([*worker_args, *ctx.args])
        finally:
            if checker.is_alive():
                checker.terminate()
            checker.join()
        serve.write_summary()
        if not code:  # uvicorn said why it did not start; an empty table would only confuse
            _print_summary(directory, findings)
    if code:
        raise typer.Exit(code)


_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_dir() -> str | None:
    """The user's ``PROMETHEUS_MULTIPROC_DIR``, checked writable now rather than in a worker."""
    from loopsight.errors import LoopsightError

    path = os.environ.get(_MULTIPROC_ENV)
    if not path:
        return None
    if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        raise LoopsightError(
            f"{_MULTIPROC_ENV}={path} is not a writable directory: create it, make it "
            "writable, or unset it to let loopsight run use a temporary one"
        )
    return path


def _start_check(target: str, out: str) -> Any:
    """Run ``loopsight check`` on the target's source in a process of its own, so that serving
    starts at once; the workers read its findings from ``out`` once written."""
    import multiprocessing

    from loopsight.joins import write_findings

    module = sys.modules[target.partition(":")[0].partition(".")[0]]
    package = getattr(module, "__path__", None)
    source = next(iter(package)) if package else str(getattr(module, "__file__", "") or ".")
    process = multiprocessing.get_context("spawn").Process(
        target=write_findings, args=([source], out), name="loopsight-check", daemon=True
    )
    process.start()
    return process


class _Terminated(Exception):
    """SIGTERM, turned into an exception so that the summary still prints."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _option(args: list[str], name: str) -> str | None:
    """The last value given to uvicorn's option ``name`` (``--port 1`` or ``--port=1``)."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1 :]
    return value


def _check_address(uvicorn_args: list[str]) -> None:
    """Fail in one line, before anything starts, if uvicorn's host and port are taken."""
    import socket

    from loopsight.errors import LoopsightError

    if _option(uvicorn_args, "--uds") or _option(uvicorn_args, "--fd"):
        return
    host = _option(uvicorn_args, "--host") or "127.0.0.1"
    port_text = _option(uvicorn_args, "--port") or "8000"
    if not port_text.isdigit() or int(port_text) == 0:
        return  # uvicorn reports a bad port itself; port 0 is always free
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, int(port_text)))
        except OSError as exc:
            raise LoopsightError(
                f"cannot listen on {host}:{port_text}: {exc.strerror}; choose another --port"
            ) from None


def _serve(uvicorn_args: list[str]) -> int:
    import importlib
    import signal
    from typing import cast

    import click

    command = cast(click.Command, importlib.import_module("uvicorn.main").main)
    args = ["loopsight.runtime.serve:create_app", "--factory", *uvicorn_args]
    # uvicorn shuts down gracefully, restores this handler and re-raises the signal to it.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        command.main(args=args, prog_name="loopsight run", standalone_mode=False)
    except (_Terminated, KeyboardInterrupt):
        return 0
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:  # uvicorn exits on start-up failure
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _print_summary(directory: str, findings_path: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from loopsight.joins import FindingIndex
    from loopsight.runtime.processors import route_summary
    from loopsight.runtime.serve import load_summaries
    from loopsight.runtime.stats import REQUEST_BUCKETS

    requests, stalls = load_summaries(directory)
    findings = FindingIndex.load(findings_path)
    # Wide enough for file:line culprits when the output is a pipe or a log file.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    rows = route_summary(REQUEST_BUCKETS, requests, stalls)
    table = Table(title="loopsight: requests and stalls by route")
    for column in ("route", "method", "requests", "5xx", "mean ms", "p95 ms", "stalls",
                   "stalled ms", "worst culprit", "loopsight check"):  # fmt: skip
        text = column in ("route", "method", "worst culprit", "loopsight check")
        table.add_column(column, justify="left" if text else "right")
    for row in rows:
        table.add_row(
            row.route,
            row.method,
            str(row.requests),
            str(row.errors),
            f"{row.mean * 1000:.1f}",
            "<=" + (f"{row.p95 * 1000:.0f}" if row.p95 != float("inf") else "inf"),
            str(row.stalls),
            f"{row.stalled * 1000:.0f}",
            row.worst_culprit,
            _check_cell(findings, row.worst_culprit),
        )
    console.print(table)
    others = [s for s in stalls if not s.activity.method]
    if others:
        console.print(f"{len(others)} stall(s) outside requests:")
        for stall in others:
            console.print(f"  {stall.describe()}", soft_wrap=True)


def _check_cell(findings: Any, culprit: str) -> str:
    """What loopsight check says about the ``file:line`` of a culprit, short (blank if check
    has not finished or the culprit is no line)."""
    file, _, line = culprit.rpartition(":")
    if findings is None or not file or not line.isdigit():
        return ""
    finding = findings.at(file, int(line))
    return f"seen: {finding.location}" if finding is not None else "not seen"
