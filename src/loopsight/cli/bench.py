"""``loopsight bench URL``: load one URL and print an ab/oha-style summary.

Exit 0 when every request got a response, 1 when some failed or the run was cut short (the
partial figures are still printed and saved), 2 on bad input or an unusable target.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import typer

from loopsight.cli._common import fail

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

    from loopsight.load import LoadConfig, LoadResult, RecordsFile, Second

__all__ = ["bench"]

_DEFAULT_N = 200
_DEFAULT_C = 100

# The options, named once here so that ``bench``'s signature stays a list of names.
_URL = typer.Argument(..., help="The http:// URL to load.")
_N = typer.Option(None, "-n", "--requests", help=f"Number of requests (default: {_DEFAULT_N}).")
_C = typer.Option(
    None,
    "-c",
    "--concurrency",
    help=f"Connections in flight at most (default: {_DEFAULT_C}, at most -n).",
)
_OPEN = typer.Option(
    "all",
    "--open",
    help="Closed loop start: 'all' opens c connections at once; 'ab' sends one probe "
    "request alone first, as ApacheBench >= 2.4.33 does.",
)
_RATE = typer.Option(
    None, "--rate", help="Open loop: send R requests per second whatever the latency."
)
_DURATION = typer.Option(None, "--duration", help="Run for S seconds instead of -n requests.")
_TIMEOUT = typer.Option(30.0, "--timeout", help="Per-request timeout in seconds.")
_HEADER = typer.Option(
    [], "-H", "--header", help="Extra request header 'Name: value' (repeatable)."
)
_METHOD = typer.Option("GET", "-m", "--method", help="HTTP method.")
_DATA = typer.Option(None, "-d", "--data", help="Request body (UTF-8 text).")
_JSON = typer.Option(
    None, "--json", help="Also save the figures, with a per-second timeline, as JSON."
)
_RECORDS = typer.Option(
    None,
    "--records",
    help="Stream every request's record to FILE as it finishes: CSV (.csv) or JSON lines "
    "(.jsonl, .ndjson).",
)
_PLOT = typer.Option(
    None, "--plot", help="Draw requests/s and latency percentiles over time to FILE (.png)."
)


@dataclass(frozen=True)
class _Outputs:
    """The files a run writes, each checked before any load is sent."""

    json: Path | None
    records: RecordsFile | None
    plot: Path | None


def bench(
    url: str = _URL,
    n: int | None = _N,
    c: int | None = _C,
    open_mode: str = _OPEN,
    rate: float | None = _RATE,
    duration: float | None = _DURATION,
    timeout: float = _TIMEOUT,
    header: list[str] = _HEADER,
    method: str = _METHOD,
    data: str | None = _DATA,
    json_path: Path | None = _JSON,
    records: Path | None = _RECORDS,
    plot: Path | None = _PLOT,
) -> None:
    """Load URL with -n requests over -c keep-alive connections and summarise the latency."""
    config = _config(url, n, c, open_mode, rate, duration, timeout, header, method, data)
    outputs = _open_outputs(json_path, records, plot)
    result = _measure(config, outputs.records)
    _report(result, outputs)
    _exit(result)


def _config(
    url: str,
    n: int | None,
    c: int | None,
    open_mode: str,
    rate: float | None,
    duration: float | None,
    timeout: float,
    header: list[str],
    method: str,
    data: str | None,
) -> LoadConfig:
    """The run's configuration from the options, validated: one line and exit 2 if unusable."""
    from loopsight.errors import LoopsightError
    from loopsight.load import LoadConfig

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
    except LoopsightError as exc:
        fail(str(exc))
    return config


def _open_outputs(json_path: Path | None, records: Path | None, plot: Path | None) -> _Outputs:
    """Check that every output can be written, and open the records file."""
    from loopsight.errors import LoopsightError
    from loopsight.load import open_records

    if json_path is not None:
        _check_writable(json_path, "the JSON report")
    if plot is not None:
        if plot.suffix.lower() != ".png":
            fail(f"--plot file must end in .png, got {str(plot)!r}")
        _check_writable(plot, "the plot")
    opened = None
    if records is not None:
        try:
            opened = open_records(records)
        except LoopsightError as exc:
            fail(str(exc))
    return _Outputs(json_path, opened, plot)


def _check_writable(path: Path, what: str) -> None:
    """Fail now rather than after the run if ``path`` cannot be written; leave it as it was."""
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        fail(f"cannot write {what} to {path}: {exc.strerror or exc}")
    if not existed:
        path.unlink()


def _measure(config: LoadConfig, records: RecordsFile | None) -> LoadResult:
    """Run the load, with a live status line when stdout is a terminal."""
    from loopsight.errors import LoopsightError
    from loopsight.load import run_load_sync

    try:
        with _live(config) as live:
            on_progress = None if live is None else live.on_progress
            on_second = None if live is None else live.on_second
            return run_load_sync(config, on_progress, on_second=on_second, records=records)
    except LoopsightError as exc:
        fail(str(exc))


def _report(result: LoadResult, outputs: _Outputs) -> None:
    """The summary on stdout, then the files asked for."""
    _render(result, _stdout())
    if outputs.json is not None:
        _save(result, outputs.json)
    if outputs.plot is not None:
        _save_plot(result, outputs.plot)


def _exit(result: LoadResult) -> None:
    """Exit 1, saying why on one line, if the run was cut short or requests failed."""
    summary = result.summary()
    if result.aborted is not None:
        fail(f"run aborted, figures are partial: {result.aborted}", code=1)
    if summary.failed:
        fail(_failures_line(summary.failed, summary.requests, summary.errors), code=1)


def _parse_headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip():
            fail(f"header must look like 'Name: value', got {value!r}")
        headers[name.strip()] = rest.strip()
    return headers


class _Live:
    """One status line, redrawn from the run's ticks and from each second as it ends."""

    def __init__(self, config: LoadConfig, live: Live) -> None:
        self._of = "" if config.n is None else f" of {config.n:,}"
        self._live = live
        self._t0 = time.monotonic()
        self._done = 0
        self._errors = 0
        self._last: Second | None = None

    def on_progress(self, done: int) -> None:
        """The run's tick: ``done`` requests have finished."""
        self._done = done
        self._live.update(self.line())

    def on_second(self, second: Second) -> None:
        """A second of the run has ended."""
        self._last = second
        self._errors += sum(second.errors.values())

    def line(self) -> str:
        """Elapsed time, requests, and the last full second's rate, p99 and errors."""
        parts = [f"{time.monotonic() - self._t0:6.1f} s", f"{self._done:,}{self._of} requests"]
        last = self._last
        if last is not None:
            parts.append(f"{last.rps:,.0f} req/s")
            parts.append("p99 —" if last.p99 is None else f"p99 {_seconds(last.p99)}")
        parts.append(f"{self._errors:,} errors")
        return "   ".join(parts)


@contextlib.contextmanager
def _live(config: LoadConfig) -> Iterator[_Live | None]:
    """A live status line when stdout is a terminal; nothing otherwise."""
    if not sys.stdout.isatty():
        yield None
        return
    from rich.live import Live

    with Live(console=_stdout(), transient=True, refresh_per_second=4) as live:
        yield _Live(config, live)


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _save(result: LoadResult, path: Path) -> None:
    import json

    try:
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


def _save_plot(result: LoadResult, path: Path) -> None:
    from loopsight.load import plot_timeline

    try:
        with path.open("wb") as out:
            plot_timeline(result, out)
    except OSError as exc:
        fail(f"cannot write the plot to {path}: {exc.strerror or exc}")


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

    from loopsight.load import RELATIVE_ERROR

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
    head.add_row("Requests", f"{s.requests} ({s.completed} answered, {s.failed} failed)")
    head.add_row("Total time", f"{s.total_s:.3f} s")
    head.add_row("Requests/sec", f"{s.rps:.2f}")
    if result.aborted:
        head.add_row("Aborted", result.aborted)
    console.print(head)
    console.print()

    title = "Latency of answered requests" + (" (from due time)" if config.rate else "")
    if not s.exact:
        title += f" (percentiles within {RELATIVE_ERROR:.1%})"
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
