"""The typer app behind every verb but the fast ``check`` path, and its one-line usage errors.

Imported lazily by ``loopsight.cli.main``: importing typer costs about 0.1 s.
"""

from __future__ import annotations

import sys

import typer

from loopsight.cli import check
from loopsight.cli._common import fail

__all__ = ["app", "main"]

app = typer.Typer(
    name="loopsight",
    help="Find, measure and fix event-loop blocking in FastAPI apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# ``check`` owns its options (argparse, in loopsight.cli.check): typer only lists it and passes
# its raw arguments through, so the options are defined once.
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _print_version(value: bool) -> None:
    if value:
        from loopsight import __version__

        sys.stdout.write(f"loopsight {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print loopsight's version and exit.",
    ),
) -> None:
    """Find, measure and fix event-loop blocking in FastAPI apps."""


def _check(ctx: typer.Context) -> None:
    raise SystemExit(check.run(list(ctx.args)))


def _register() -> None:
    from loopsight.cli import bench, lab, run

    app.command("lab")(lab.lab)
    app.command("bench")(bench.bench)
    app.command(
        "check", help=check.DESCRIPTION, context_settings=_PASS_THROUGH, add_help_option=False
    )(_check)
    app.command("run", context_settings=run.CONTEXT_SETTINGS)(run.run)


_register()


def _usage_error(exc: Exception) -> tuple[str, int] | None:
    """Message and exit code of a click usage error (typer may vendor its own click)."""
    format_message = getattr(exc, "format_message", None)
    exit_code = getattr(exc, "exit_code", None)
    if callable(format_message) and isinstance(exit_code, int):
        return str(format_message()), exit_code
    return None


def main(argv: list[str] | None = None) -> None:
    """Run the typer app on ``argv``; usage errors print one line."""
    try:
        code = app(args=argv, standalone_mode=False)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            ctx = getattr(exc, "ctx", None)
            sys.stdout.write((ctx.get_help() if ctx else "see loopsight --help") + "\n")
            raise SystemExit(0) from None
        if type(exc).__name__ == "Abort":
            fail("interrupted", 130)
        usage = _usage_error(exc)
        if usage is None:
            raise
        message, exit_code = usage
        ctx = getattr(exc, "ctx", None)
        where = getattr(ctx, "command_path", "loopsight") or "loopsight"
        fail(f"{message} (see `{where} --help`)", exit_code)
    if code == 130:  # typer turns a Ctrl-C inside a command into this return value
        fail("interrupted", 130)
    raise SystemExit(code if isinstance(code, int) else 0)
