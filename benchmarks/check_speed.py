"""How fast is ``loopsight check``? Lines per second on a large real corpus, side by side with
flake8-async and ``ruff --select ASYNC`` on the same files in the same run, and the cached
re-check of a 100k-line tree after editing one file.

    python benchmarks/check_speed.py            # corpus: installed fastapi, starlette,
                                                # pydantic and sqlalchemy
    python benchmarks/check_speed.py PATH ...   # your own corpus

Cold runs start a fresh interpreter (import time included) and use no cache.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_DEFAULT = ("fastapi", "starlette", "pydantic", "sqlalchemy")
_INCREMENTAL_LINES = 100_000
_LOOPSIGHT = (
    "import sys; from loopsight.check import run_check; "
    "r = run_check(sys.argv[1:]); print(len(r.findings))"
)
_LOOPSIGHT_CACHED = (
    "import sys, pathlib; from loopsight.check import run_check; "
    "r = run_check(sys.argv[2:], cache_dir=pathlib.Path(sys.argv[1])); print(len(r.findings))"
)


def _corpus(args: list[str]) -> list[Path]:
    if args:
        return [Path(arg) for arg in args]
    found = []
    for name in _DEFAULT:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"{name} is not installed; pass corpus paths explicitly")
        found.append(Path(next(iter(spec.submodule_search_locations))))
    return found


def _lines(paths: list[Path]) -> tuple[int, int]:
    files = [file for path in paths for file in path.rglob("*.py")]
    return len(files), sum(file.read_bytes().count(b"\n") for file in files)


def _wall(command: list[str], repeat: int) -> tuple[float, float, float, str]:
    """Best and median wall seconds, and CPU seconds (user+sys, children included) per run."""
    times, cpus, out = [], [], ""
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        out = done.stdout
        # 1 means findings; with nothing on stdout it means the tool did not run at all.
        if done.returncode not in (0, 1) or (done.returncode == 1 and not done.stdout):
            sys.exit(f"{command[:4]} failed ({done.returncode}): {done.stderr[-500:]}")
    return min(times), statistics.median(times), statistics.median(cpus), out


def _incremental(
    paths: list[Path], repeat: int
) -> tuple[int, dict[str, tuple[float, float, float]]]:
    """A >=100k-line copy of the corpus; check with cache, edit one file, re-check."""
    from loopsight.check import run_check

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        total = 0
        for path in paths:
            for sub in sorted(p for p in path.iterdir() if p.is_dir() or p.suffix == ".py"):
                if total >= _INCREMENTAL_LINES:
                    break
                target = root / path.name / sub.name
                if sub.is_dir():
                    shutil.copytree(sub, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(sub, target)
                total = _lines([root])[1]
        cache = Path(tmp) / "cache"
        run_check([str(root)], cache_dir=cache)  # warm the cache
        files = sorted(root.rglob("*.py"), key=lambda file: file.stat().st_size)
        figures = {}
        for label, edited in (("median-size", files[len(files) // 2]), ("largest", files[-1])):
            in_process, cli = [], []
            for round_ in range(repeat):
                with edited.open("a") as handle:
                    handle.write(f"\n\nasync def _edit_{round_}():\n    time.sleep(1)\n")
                start = time.perf_counter()
                result = run_check([str(root)], cache_dir=cache)
                in_process.append(time.perf_counter() - start)
                assert result.parsed == 1, result.parsed
                with edited.open("a") as handle:
                    handle.write(f"\n# edit {round_}\n")
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-c", _LOOPSIGHT_CACHED, str(cache), str(root)],
                    capture_output=True,
                    check=False,
                )
                cli.append(time.perf_counter() - start)
            lines = edited.read_bytes().count(b"\n")
            figures[f"{label} file ({lines:_} lines)"] = (
                min(in_process),
                statistics.median(in_process),
                statistics.median(cli),
            )
        return total, figures


_EXAMPLES = Path(__file__).resolve().parents[1] / "tests" / "check" / "examples"
_ANNOTATED = re.compile(r"#\s*(LS1\d\d)")
_REPORTED = re.compile(r"^(.+?):(\d+):\d+: ")


def _detection() -> None:
    """Which annotated LS1xx blocking sites each tool finds (lines only; codes differ)."""
    from loopsight.check import run_check

    files = sorted(f for f in _EXAMPLES.glob("LS1*.py") if not f.name.startswith("LS100"))
    expected = {
        (file.name, number)
        for file in files
        for number, line in enumerate(file.read_text().splitlines(), start=1)
        if _ANNOTATED.search(line)
    }
    found: dict[str, set[tuple[str, int]]] = {
        "loopsight": {
            (Path(f.path).name, f.line)
            for f in run_check([str(file) for file in files], jobs=1).findings
        }
    }
    commands = {
        "ruff ASYNC": [
            _ruff() or "ruff",
            "check",
            "--isolated",
            "--select=ASYNC",
            "--output-format=concise",
            "--no-cache",
        ],
        "flake8-async": [sys.executable, "-m", "flake8_async"],
    }
    for name, command in commands.items():
        done = subprocess.run(
            [*command, *map(str, files)], capture_output=True, text=True, check=False
        )
        if done.returncode not in (0, 1) or not done.stdout:
            sys.exit(f"{name} did not run ({done.returncode}): {done.stderr[-500:]}")
        found[name] = {
            (Path(m.group(1)).name, int(m.group(2)))
            for m in map(_REPORTED.match, done.stdout.splitlines())
            if m
        }
    case2 = {("LS101_sleep.py", 14)}  # the seed's case 2: the sleep in its sync helper
    print(f"annotated blocking sites in tests/check/examples/LS1*: {len(expected)}")
    for name, lines in found.items():
        hits = len(expected & lines)
        seen = "yes" if case2 <= lines else "no"
        print(f"  {name:<14} finds {hits:>3} of {len(expected)}; seed case 2 via helper: {seen}")


def _ruff() -> str | None:
    """ruff beside this interpreter (an unactivated venv), else on PATH."""
    beside = Path(sys.executable).with_name("ruff")
    return str(beside) if beside.exists() else shutil.which("ruff")


def main() -> None:
    """Run every tool on the same corpus and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-flake8", action="store_true", help="Skip flake8 (minutes).")
    parser.add_argument(
        "--quick", action="store_true", help="Only fastapi and starlette (flake8-async is slow)."
    )
    options = parser.parse_args()
    _detection()
    paths = _corpus(options.paths)
    if options.quick and not options.paths:
        paths = paths[:2]
    files, lines = _lines(paths)
    strings = [str(path) for path in paths]
    print(f"corpus: {files} files, {lines:_} lines ({', '.join(p.name for p in paths)})")
    version = sys.version.split()[0]
    print(f"machine: {sys.platform}, {os.cpu_count()} CPUs, Python {version}")

    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: list[tuple[str, float, float, float]] = []
    best, median, cpu, out = _wall([sys.executable, "-c", _LOOPSIGHT, *strings], options.repeat)
    rows.append((f"loopsight check (cold, {out.strip()} findings)", best, median, cpu))
    if not options.no_flake8:
        flake8 = [sys.executable, "-m", "flake8", "--select=ASYNC", "--jobs=auto", "--isolated"]
        # minutes per run: once is enough
        rows.append(
            ("flake8-async (flake8 --select ASYNC, -j auto)", *_wall([*flake8, *strings], 1)[:3])
        )
    ruff = _ruff()
    if ruff:
        command = [ruff, "check", "--select=ASYNC", "--no-cache", "--isolated", "--quiet"]
        rows.append(
            (
                "ruff check --select ASYNC (no cache)",
                *_wall([*command, *strings], options.repeat)[:3],
            )
        )
    print(f"{'tool':<48} {'best s':>8} {'median s':>9} {'lines/s (best)':>15} {'lines/CPU-s':>12}")
    for name, best, median, cpu in rows:
        print(f"{name:<48} {best:8.3f} {median:9.3f} {lines / best:>15,.0f} {lines / cpu:>12,.0f}")
    ours = rows[0][1]
    print(f"loopsight {lines / ours:,.0f} lines/s best wall (goal >= 150,000)")
    for name, best, _, _ in rows[1:]:
        print(f"loopsight vs {name.split(' (')[0]}: {best / ours:.2f}x")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    total, figures = _incremental(paths, options.repeat)
    print(
        f"re-check of a {total:_}-line tree with the cache after editing one file (goal <= 200 ms):"
    )
    for label, (best, median, cli) in figures.items():
        print(
            f"  {label:<30} in process best {best * 1000:4.0f} ms, median {median * 1000:4.0f} ms;"
            f" with interpreter start {cli * 1000:4.0f} ms"
        )


if __name__ == "__main__":
    main()
