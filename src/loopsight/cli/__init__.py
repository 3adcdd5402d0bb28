"""The ``loopsight`` command line: one module per verb, each thin (parse, call, render).

``loopsight check`` takes a fast path: it is parsed with argparse and never imports typer
(about 0.1 s, plus pydantic when typer coerces values). Every other verb goes through the typer
app in ``loopsight.cli._app``, imported only when needed. Usage errors print one line, like every
other bad input.
"""

from __future__ import annotations

import sys
from typing import Any

from loopsight.cli._common import fail

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    try:  # from the first import on: a Ctrl-C while the commands load is one line too
        if args[:1] == ["check"]:
            from loopsight.cli.check import run

            raise SystemExit(run(args[1:]))
        from loopsight.cli import _app

        _app.main(args)
    except KeyboardInterrupt:
        fail("interrupted", 130)


def __getattr__(name: str) -> Any:
    # ``loopsight.cli.app`` stays importable without making ``import loopsight.cli`` pay for typer
    if name == "app":
        from loopsight.cli._app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
