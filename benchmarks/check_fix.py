"""Does ``loopsight check --fix --unsafe-fixes`` hold up on real code? On a copy of each field
package (see ``benchmarks/check_field.py``): files changed, whether each still compiles, how many
changed lines are not the ones the fixed findings point at, and whether the finding count drops
by exactly the number of fixes reported.

    python benchmarks/check_fix.py                   # the whole corpus
    python benchmarks/check_fix.py sqladmin nicegui  # some packages

The copy is made in a temporary folder; the package cache is never written to. Lines a fix may
change besides a finding's own: added imports and the ``def`` line of a function made sync, or
the whole declaration of a rewritten middleware; they are counted apart.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_field import CACHE, CORPUS, FetchError, Package, fetch, run_check

__all__ = ["main"]


@dataclass(frozen=True)
class RoundTrip:
    """One package's figures."""

    name: str
    before: int
    after: int
    fixed: int
    files: int
    broken: int
    lines: int
    elsewhere: int


def _fix(root: Path, timeout: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "loopsight", "check", "--no-cache", "--fix"]
    done = subprocess.run(
        [*command, "--unsafe-fixes", "--output-format", "json", "."],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _changed_lines(before: bytes, after: bytes) -> list[int]:
    """Old line numbers (1-based) replaced or deleted, and insertion points."""
    old = before.decode("utf-8", "replace").splitlines()
    new = after.decode("utf-8", "replace").splitlines()
    lines: list[int] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            if not all(line.lstrip().startswith(("import ", "from ")) for line in new[j1:j2]):
                lines.append(-(i1 + 1))  # an insertion that is not an import
        elif tag != "equal":
            lines.extend(range(i1 + 1, i2 + 1))
    return lines


def round_trip(package: Package, cache: Path, timeout: float) -> RoundTrip | str:
    """Fix a copy of one package and measure it."""
    try:
        source = fetch(package, cache)
    except FetchError as error:
        return str(error)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / package.name
        shutil.copytree(source, root)
        originals = {p: p.read_bytes() for p in root.rglob("*.py") if p.is_file()}
        before = run_check(root, timeout)
        if isinstance(before, str):
            return before
        report = _fix(root, timeout)
        after = run_check(root, timeout)
        if isinstance(after, str):
            return after
        fixed = [f for f in report["findings"] if f["fix_status"] == "fixed"]
        allowed: dict[str, set[int]] = {}
        for finding in fixed:
            allowed.setdefault(finding["path"], set()).add(finding["line"])
        files = broken = changed = elsewhere = 0
        for path, data in originals.items():
            now = path.read_bytes()
            if now == data:
                continue
            files += 1
            try:
                compile(now, str(path), "exec", dont_inherit=True)
            except SyntaxError:
                broken += 1
            lines = _changed_lines(data, now)
            changed += len(lines)
            near = allowed.get(str(path.relative_to(root)), set())
            elsewhere += sum(1 for line in lines if line not in near)
        return RoundTrip(
            package.name, len(before), len(after), len(fixed), files, broken, changed, elsewhere
        )


def main(argv: list[str] | None = None) -> int:
    """Print one row per package and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help="package names (default: the whole corpus)")
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"download folder ({CACHE})")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per step (900)")
    options = parser.parse_args(argv)
    chosen = [p for p in CORPUS if not options.packages or p.name in options.packages]
    header = "package               before  after  fixed  drop=fixed  files  broken  lines  other"
    print(header)
    for package in chosen:
        found = round_trip(package, options.cache, options.timeout)
        if isinstance(found, str):
            print(f"{package.name:<20}  {found}")
            continue
        same = "yes" if found.before - found.after == found.fixed else "NO"
        print(
            f"{found.name:<20}  {found.before:>6}  {found.after:>5}  {found.fixed:>5}  "
            f"{same:>10}  {found.files:>5}  {found.broken:>6}  {found.lines:>5}  "
            f"{found.elsewhere:>5}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
