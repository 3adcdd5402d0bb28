"""``loopsight bench URL``: load one URL and print an ab/oha-style summary.

Exit 0 when every request got a response, 1 when some failed or the run was cut short (the
partial figures are still printed and saved), 2 on bad input or an unusable target.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import typer

from loopsight.cli._common import fail

if TYPE_CHECKING:
    from rich.console import Console

    from loopsight.load import LoadConfig, LoadResult

__all__ = ["bench"]

_DEFAULT_N = 200
_DEFAULT_C = 100


def bench(
    url: str = typer.Argument(..., help="The http:// URL to load."),
    n: int | None = typer.Option(
        None, "-n", "--requests", help=f"Number of requests [default: {_DEFAULT_N}]."
    ),
    c: int | None = typer.Option(
        None,
        "-c",
        "--concurrency",
        help=f"Connections (in flight at most) [default: {_DEFAULT_C}, at most -n].",
    ),
    open_mode: str = typer.Option(
        "all",
        "--open",
        help="Closed loop start: 'all' opens c connections at once; 'ab' sends one probe "
        "request alone first, as ApacheBench >= 2.4.33 does.",
    ),
    rate: float | None = typer.Option(
        None, "--rate", help="Open loop: send R requests per second whatever the latency."
    ),
    duration: float | None = typer.Option(
        None, "--duration", help="Run for S seconds instead of -n requests."
    ),
    timeout: float = typer.Option(30.0, "--timeout", help="Per-request timeout in seconds."),
    header: list[str] = typer.Option(
        [], "-H", "--header", help="Extra request header 'Name: value' (repeatable)."
    ),
    method: str = typer.Option("GET", "-m", "--method", help="HTTP method."),
    data: str | None = typer.Option(None, "-d", "--data", help="Request body (UTF-8 text)."),
    json_path: Path | None = typer.Option(
        None, "--json", help="Also save the figures as JSON to this file."
    ),
) -> None:
    """Load URL with -n requests over -c keep-alive connections and summarise the latency."""
    from loopsight.errors import LoopsightError
    from loopsight.load import LoadConfig, run_load_sync

    if n is not None and duration is not None:
        fail("give either a request count (-n) or a duration (--duration), not both")
    if n is None and duration is None:
        n = _DEFAULT_N
    if c is None:
        c = min(_DEFAULT_C, n) if n is not None and n > 0 else _DEFAULT_C
    config = LoadConfig(
        url=url,
        n=n,
        c=c,
        open_mode=cast(Literal["all", "ab"], open_mode),  # validate() checks the value
        rate=rate,
        duration=duration,
        method=method.upper(),
        headers=_parse_headers(header),
        body=data.encode() if data is not None else b"",
        timeout=timeout,
    )
    try:
        config.validate()
        with _progress(config) as on_progress:
            result = run_load_sync(config, on_progress)
    except LoopsightError as exc:
        fail(str(exc))

    _render(result, _stdout())
    if json_path is not None:
        _save(result, json_path)
    summary = result.summary()
    if result.aborted is not None:
        fail(f"run aborted, figures are partial: {result.aborted}", code=1)
    if summary.failed:
        fail(_failures_line(summary.failed, len(result.records), summary.errors), code=1)


def _parse_headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip():
            fail(f"header must look like 'Name: value', got {value!r}")
        headers[name.strip()] = rest.strip()
    return headers


@contextlib.contextmanager
def _progress(config: LoadConfig) -> Iterator[Callable[[int], None] | None]:
    """A live progress bar on stderr when it is a terminal; no callback otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        if config.n is not None:
            n = config.n
            task = bar.add_task(f"0/{n} requests", total=n)

            def update(done: int) -> None:
                bar.update(task, completed=done, description=f"{done}/{n} requests")

        else:
            seconds, t0 = config.duration or 0.0, time.monotonic()
            task = bar.add_task("0 requests", total=seconds)

            def update(done: int) -> None:
                elapsed = min(time.monotonic() - t0, seconds)
                bar.update(task, completed=elapsed, description=f"{done} requests")

        yield update


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _save(result: LoadResult, path: Path) -> None:
    import json

    try:
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


def _failures_line(failed: int, total: int, errors: dict[str, int]) -> str:
    from loopsight.load import ERROR_KINDS

    kinds = ", ".join(
        f"{kind} {count} ({ERROR_KINDS.get(kind, kind)})" for kind, count in errors.items()
    )
    return f"{failed} of {total} requests failed: {kinds}"


def _seconds(value: float) -> str:
    """Seconds as ``1.234 s`` or ``12.34 ms``, whichever reads better."""
    return f"{value:.3f} s" if value >= 1 else f"{value * 1000:.2f} ms"


def _render(result: LoadResult, console: Console) -> None:
    from rich.table import Table

    config, s = result.config, result.summary()
    if config.rate is not None:
        loop = f"open loop at {config.rate:g} req/s, at most {config.c} connections"
    else:
        loop = f"closed loop, {config.c} connections (open: {config.open_mode})"
    if config.duration is not None:
        loop += f", for {config.duration:g} s"
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("Target", f"{config.method} {config.url}")
    head.add_row("Load", loop)
    head.add_row("Requests", f"{len(result.records)} ({s.completed} answered, {s.failed} failed)")
    head.add_row("Total time", f"{s.total_s:.3f} s")
    head.add_row("Requests/sec", f"{s.rps:.2f}")
    if result.aborted:
        head.add_row("Aborted", result.aborted)
    console.print(head)
    console.print()

    title = "Latency of answered requests" + (" (from due time)" if config.rate else "")
    latency = Table(title=title, title_justify="left", box=None, padding=(0, 2))
    for name in ("min", "mean", "p50", "p90", "p99", "max"):
        latency.add_column(name, justify="right")
    lat = s.latency
    latency.add_row(*(_seconds(v) for v in (lat.min, lat.mean, lat.p50, lat.p90, lat.p99, lat.max)))
    console.print(latency)
    console.print()

    codes = Table(box=None, padding=(0, 2), show_header=True)
    codes.add_column("status", justify="right")
    codes.add_column("count", justify="right")
    for code, count in s.status.items():
        codes.add_row(str(code), str(count))
    for kind, count in s.errors.items():
        codes.add_row(f"error: {kind}", str(count))
    console.print(codes)
