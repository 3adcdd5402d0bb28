"""How long does the command ``loopsight check`` take to re-check a 100k-line tree after one edit?

Side by side in one run, interleaved round by round: the command as it is (argparse fast path,
no typer) and through typer (the typer app's ``check`` verb, which imports typer, click and
rich before handing over), both on the same warm cache and with compiled bytecode cached (as
an installed package has it); the command again without a bytecode cache (an editable install
under ``PYTHONDONTWRITEBYTECODE=1``, as in our sandbox); the pure start-up of each (``check
--help`` and an empty directory); and the in-process re-check for reference.

    python benchmarks/check_startup.py               # tree copied from installed fastapi,
                                                      # starlette, pydantic, sqlalchemy
    python benchmarks/check_startup.py --repeat 15 --largest

Both commands run the same checker; only the way in differs.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_PACKAGE = _REPO / "src" / "loopsight"
_CORPUS = ("fastapi", "starlette", "pydantic", "sqlalchemy")
_LINES = 100_000


def _tree(root: Path) -> tuple[int, int]:
    """Copy installed packages' ``.py`` files into ``root`` until it holds >= 100k lines."""
    files = lines = 0
    for name in _CORPUS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        source = Path(next(iter(spec.submodule_search_locations)))
        for file in sorted(source.rglob("*.py")):
            if lines >= _LINES:
                return files, lines
            target = root / name / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
            files, lines = files + 1, lines + target.read_bytes().count(b"\n")
    if lines < _LINES:
        sys.exit(f"only {lines:_} lines in {', '.join(_CORPUS)}: install more of them")
    return files, lines


_MAIN = "import sys; from loopsight.cli import main; sys.exit(main())"  # the console script
_TYPER = "import sys; from loopsight.cli import _app; sys.exit(_app.main(sys.argv[1:]))"


def _command(script: str, pycache: Path | None) -> tuple[list[str], dict[str, str]]:
    """How a user runs ``loopsight`` (``script``: the console script's code, or the typer way).

    With ``pycache``, compiled bytecode is kept there (as an installed package has it); without,
    every start compiles loopsight's sources (``PYTHONDONTWRITEBYTECODE=1`` on an editable install).
    """
    env = dict(os.environ)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)  # not next to the sources: leave the repo alone
    return [sys.executable, "-c", script], env


def _timed(argv: list[str], env: dict[str, str], cwd: Path, codes: tuple[int, ...]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode not in codes:
        sys.exit(f"{argv[3:]} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    """Build the tree, warm the cache, and print the medians side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="Rounds (default: 9).")
    parser.add_argument("--largest", action="store_true", help="Edit the largest file.")
    options = parser.parse_args()
    from loopsight.check import run_check

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tree, empty = work / "tree", work / "empty"
        empty.mkdir()
        files, lines = _tree(tree)
        pycache = work / "pycache"
        after, before = _command(_MAIN, pycache), _command(_TYPER, pycache)
        uncompiled = _command(_MAIN, None)
        cache = work / ".loopsight_cache"  # where the command puts it: cwd, no pyproject above
        home = Path.cwd()
        os.chdir(work)  # the cache keys on paths as shown, relative to the cwd: share the commands'
        run_check([str(tree)], cache_dir=cache)  # warm the cache
        by_size = sorted(tree.rglob("*.py"), key=lambda file: file.stat().st_size)
        edited = by_size[-1] if options.largest else by_size[len(by_size) // 2]

        edits = itertools.count()

        def edit() -> None:
            with edited.open("a") as handle:
                handle.write(f"\n# edit {next(edits)}\n")

        def in_process() -> float:
            start = time.perf_counter()
            result = run_check([str(tree)], cache_dir=cache)
            assert result.parsed == 1, result.parsed
            return time.perf_counter() - start

        recheck = ["check", "--output-format", "concise", str(tree)]
        cases: dict[str, Callable[[], float]] = {
            "re-check, command through typer": lambda: _timed(
                [*before[0], *recheck], before[1], work, (0, 1)
            ),
            "re-check, command as it is (argparse)": lambda: _timed(
                [*after[0], *recheck], after[1], work, (0, 1)
            ),
            "re-check, as it is, no bytecode cache": lambda: _timed(
                [*uncompiled[0], *recheck], uncompiled[1], work, (0, 1)
            ),
            "re-check, in process (no start-up)": in_process,
            "start-up: check --help, through typer": lambda: _timed(
                [*before[0], "check", "--help"], before[1], work, (0,)
            ),
            "start-up: check --help, as it is": lambda: _timed(
                [*after[0], "check", "--help"], after[1], work, (0,)
            ),
            "start-up: check EMPTY_DIR, through typer": lambda: _timed(
                [*before[0], "check", "--no-cache", str(empty)], before[1], work, (0,)
            ),
            "start-up: check EMPTY_DIR, as it is": lambda: _timed(
                [*after[0], "check", "--no-cache", str(empty)], after[1], work, (0,)
            ),
            "start-up: python -c pass": lambda: _timed(
                [sys.executable, "-c", "pass"], after[1], work, (0,)
            ),
        }
        for case in cases.values():  # once untimed: writes the bytecode, warms the OS caches
            edit()
            case()
        times: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(options.repeat):  # interleaved, so load drift hits every case alike
            for label, case in cases.items():
                if label.startswith("re-check"):
                    edit()
                times[label].append(case())
        size = edited.read_bytes().count(b"\n")
        os.chdir(home)

    print(f"tree: {files} files, {lines:_} lines; edited one file of {size:_} lines per run")
    print(f"machine: {sys.platform}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':<40} {'median ms':>10} {'min ms':>8}   ({options.repeat} runs each)")
    for label, values in times.items():
        print(f"{label:<40} {statistics.median(values) * 1000:10.0f} {min(values) * 1000:8.0f}")
    was = statistics.median(times["re-check, command through typer"])
    now = statistics.median(times["re-check, command as it is (argparse)"])
    verdict = "met" if now <= 0.200 else "NOT met"
    print(
        f"command re-check: {now * 1000:.0f} ms vs {was * 1000:.0f} ms through typer "
        f"({was / now:.2f}x);"
    )
    print(f"goal <= 200 ms: {verdict}")


if __name__ == "__main__":
    main()
