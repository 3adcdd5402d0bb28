"""``loopsight check``: find where code blocks the event loop, statically (never imports it).

The verb is parsed with stdlib ``argparse``, not typer, so that ``loopsight check`` starts
without importing typer, click or pydantic (about 0.1-0.4 s of a re-check that should take
well under 0.2 s); ``loopsight.cli.main`` routes ``check`` here before building the typer app.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from loopsight.cli._common import fail

__all__ = ["DESCRIPTION", "build_parser", "run"]

DESCRIPTION = "Find blocking calls on the event loop, following calls into sync helpers."

_FORMAT_HELP = "{formats} (default: full)."


def _formats() -> str:
    """The output formats, read from the renderer registry (imports the checker: only for
    ``--help`` and a bad ``--output-format``)."""
    from loopsight.check.renderers import RENDERERS

    return " | ".join(RENDERERS)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one ``loopsight: error:`` line, exit 2."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see `{self.prog} --help`)")

    def format_help(self) -> str:
        for action in self._actions:
            if action.dest == "output_format":
                action.help = _FORMAT_HELP.format(formats=_formats())
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    """The options of ``loopsight check``, defined once for the fast path and ``--help``."""
    parser = _Parser(prog="loopsight check", description=DESCRIPTION, allow_abbrev=False)
    parser.add_argument("paths", nargs="*", help="Files or directories (default: .).")
    parser.add_argument(
        "--output-format",
        default="full",
        metavar="FORMAT",
        help=_FORMAT_HELP.format(formats="see --help"),
    )
    parser.add_argument(
        "--select",
        metavar="CODES",
        help="Comma-separated code prefixes or words: blocking, design (category), possible "
        "(the lower severity, off unless selected: `--select LS,possible`).",
    )
    parser.add_argument(
        "--ignore", metavar="CODES", help="Comma-separated code prefixes or category words."
    )
    parser.add_argument(
        "--exclude",
        metavar="PATTERNS",
        help="Comma-separated names or globs to skip, replacing the default list (tests, ...).",
    )
    parser.add_argument(
        "--extend-exclude", metavar="PATTERNS", help="Comma-separated patterns to skip as well."
    )
    parser.add_argument(
        "--reach",
        metavar="KINDS",
        help="Comma-separated entry-point kinds to report (route, dependency, middleware, "
        "lifespan, background_task, websocket, exception_handler, on_event, async_function).",
    )
    parser.add_argument("--statistics", action="store_true", help="Print counts per code only.")
    parser.add_argument("--config", type=Path, metavar="PATH", help="pyproject.toml to read.")
    parser.add_argument("--no-cache", action="store_true", help="Do not read or write the cache.")
    parser.add_argument(
        "-j", "--jobs", type=int, metavar="N", help="Parser processes (default: CPUs)."
    )
    parser.add_argument("--fix", action="store_true", help="Apply safe fixes in place.")
    parser.add_argument(
        "--diff", action="store_true", help="Print the fixes as a unified diff; write nothing."
    )
    parser.add_argument(
        "--unsafe-fixes", action="store_true", help="Also apply fixes that change behaviour."
    )
    return parser


#: Words ``--select``/``--ignore`` take besides code prefixes (category and severity).
_WORDS = frozenset({"blocking", "design", "possible"})


def _codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (code.strip() for code in value.split(","))
    return tuple(item.lower() if item.lower() in _WORDS else item.upper() for item in items if item)


def _patterns(value: str) -> tuple[str, ...]:
    return tuple(pattern.strip() for pattern in value.split(",") if pattern.strip())


def run(argv: list[str]) -> int:
    """Check the paths in ``argv`` and print findings; 0 clean, 1 findings.

    Bad input (usage, config, missing paths) prints one line and raises ``SystemExit(2)``;
    ``--help`` prints the help and raises ``SystemExit(0)``.
    """
    options = build_parser().parse_args(argv)
    output_format: str = options.output_format

    # imported here: parsing must not pay for the checker
    from dataclasses import replace

    from loopsight.check import find_config, load_config, run_check
    from loopsight.check._config import reach_kinds
    from loopsight.check.renderers import RENDERERS, render_statistics
    from loopsight.errors import LoopsightError

    if output_format not in RENDERERS:
        fail(f"--output-format {output_format!r} is not a format: use {_formats()}")
    if any(not path.strip() for path in options.paths):
        fail("an empty path was given: name a file or directory, or give none to check .")
    targets: list[str] = options.paths or ["."]
    config: Path | None = options.config
    try:
        settings = load_config(config) if config is not None else find_config(Path(targets[0]))
        chosen, dropped = _codes(options.select), _codes(options.ignore)
        if chosen is not None:
            settings = replace(settings, select=chosen)
        if dropped is not None:
            settings = replace(settings, ignore=settings.ignore + dropped)
        if options.exclude is not None:
            settings = replace(settings, exclude=_patterns(options.exclude))
        if options.reach is not None:
            settings = replace(settings, reach=reach_kinds(_patterns(options.reach), "--reach"))
        if options.extend_exclude is not None:
            extended = settings.extend_exclude + _patterns(options.extend_exclude)
            settings = replace(settings, extend_exclude=extended)
        root = Path(settings.source).parent if settings.source else Path.cwd()
        result = run_check(
            targets,
            settings,
            cache_dir=None if options.no_cache else root / ".loopsight_cache",
            jobs=options.jobs,
        )
    except LoopsightError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(f"no such file or directory: {exc.args[0] if exc.args else exc}")
    if options.fix or options.diff:
        from loopsight.check.fix import fix_findings, print_report, write_fixes

        report = fix_findings(
            result.findings,
            targets,
            settings,
            unsafe=options.unsafe_fixes,
            known=result.summaries,
        )
        if not options.diff:
            report = write_fixes(report)
        render = RENDERERS[output_format]
        return print_report(report, render, output_format=output_format, diff=options.diff)
    if options.statistics:
        sys.stdout.write(render_statistics(result.findings))
    else:
        sys.stdout.write(RENDERERS[output_format](result.findings))
    if output_format in ("full", "concise") and not options.statistics:
        count = len(result.findings)
        summary = f"Found {count} finding{'s' if count != 1 else ''}" if count else "All clear"
        files = f"{result.files} file{'s' if result.files != 1 else ''}"
        sys.stdout.flush()  # on a pipe shared with stdout, the summary must come after the findings
        sys.stderr.write(f"{summary} in {files} ({result.lines:_} lines).\n")
    return 1 if result.findings else 0
