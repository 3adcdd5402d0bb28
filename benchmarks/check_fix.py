"""Does ``loopsight check --fix --unsafe-fixes`` hold up on real code? On a copy of each field
package (see ``benchmarks/check_field.py``): files changed, whether each still compiles, how many
changed lines belong to no finding, and whether the finding count drops by exactly the number
of fixes reported.

    python benchmarks/check_fix.py                   # the whole corpus
    python benchmarks/check_fix.py sqladmin nicegui  # some packages

The copy is made in a temporary folder; the package cache is never written to. A changed line
belongs to a finding that was fixed (or partly fixed) when it is the finding's line, a line of
its call path, or a line of an entry point it lists: the entry's calls toward the finding or
its ``def`` line; for a rewritten middleware, its whole declaration. Added or merged import
lines are counted apart (``imports``). Every other changed line is listed under the table
(``other``), with its text before and after and the nearest fixed finding.
"""

from __future__ import annotations

import argparse
import ast
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
    imports: int
    elsewhere: list[str]


def _fix(root: Path, timeout: float) -> dict[str, Any] | str:
    command = [sys.executable, "-m", "loopsight", "check", "--no-cache", "--fix"]
    try:
        done = subprocess.run(
            [*command, "--unsafe-fixes", "--output-format", "json", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"--fix timed out after {timeout:.0f} s"
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return f"--fix failed: {last}"
    return report


@dataclass(frozen=True)
class Change:
    """One changed line of the original file (or an insertion before it)."""

    line: int
    inserted: bool
    old: str
    new: str
    below_import: bool = False

    @property
    def is_import(self) -> bool:
        """An import added (with the blank line libcst leaves after the imports it adds), or
        an import line that only gained names."""
        if self.inserted and not self.new.strip():
            return self.below_import
        new = [line.strip() for line in self.new.splitlines() if line.strip()]
        old = self.old.strip()
        return bool(new) and all(_is_import(line) for line in new) and (not old or _is_import(old))


def _is_import(line: str) -> bool:
    return line.startswith("import ") or (line.startswith("from ") and " import " in line)


def _changes(before: bytes, after: bytes) -> list[Change]:
    """The old lines (1-based) replaced or deleted, and the insertion points."""
    old = before.decode("utf-8", "replace").splitlines()
    new = after.decode("utf-8", "replace").splitlines()
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            added = "\n".join(new[j1:j2])
            below_import = j1 > 0 and _is_import(new[j1 - 1].strip())
            changes.append(Change(i1 + 1, True, "", added, below_import))
        elif tag == "delete":
            changes += [Change(i + 1, False, old[i], "") for i in range(i1, i2)]
        elif tag == "replace":
            for offset, i in enumerate(range(i1, i2)):
                now = (
                    new[j1 + offset]
                    if j1 + offset < j2 and i < i2 - 1
                    else "\n".join(new[j1 + offset : j2])
                )
                changes.append(Change(i + 1, False, old[i], now))
    return changes


def _tree(root: Path, path: str, cache: dict[str, ast.Module | None]) -> ast.Module | None:
    if path not in cache:
        try:
            cache[path] = ast.parse((root / path).read_bytes())
        except (OSError, SyntaxError, ValueError):
            cache[path] = None
    return cache[path]


def _declarations(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [node for node in ast.walk(tree) if isinstance(node, kinds)]


def _def_line(tree: ast.Module, function: str, line: int) -> int | None:
    """The ``def`` line of the innermost function called ``function`` holding ``line``."""
    name = function.rsplit(".", 1)[-1]
    around = [
        node.lineno
        for node in _declarations(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name == name
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return max(around) if around else None


def _declaration(tree: ast.Module, function: str, line: int) -> range:
    """The lines of the function or class ``function`` declared at ``line`` (decorated
    from it), and the line after (where its registration goes)."""
    name = function.rsplit(".", 1)[-1]
    for node in _declarations(tree):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if node.name == name and first <= line <= node.lineno:
            return range(first, (node.end_lineno or node.lineno) + 2)
    return range(0)


def _allowed(root: Path, findings: list[dict[str, Any]]) -> dict[str, set[int]]:
    """By file, the lines of the findings a fix was applied for."""
    allowed: dict[str, set[int]] = {}
    trees: dict[str, ast.Module | None] = {}

    def add(path: str, line: int | None) -> None:
        if line:
            allowed.setdefault(path, set()).add(line)

    for finding in findings:
        partly = (finding["fix_reason"] or "").startswith("partly fixed")
        applied = finding["fix_status"] == "fixed" or finding["applied_fix"] is not None or partly
        if not applied:
            continue
        add(finding["path"], finding["line"])
        for hop in finding["call_path"]:
            add(hop["path"], hop["line"])
        entries = finding["entries"] or ([finding["context"]] if finding["context"] else [])
        for entry in entries:
            path = entry["path"] or finding["path"]
            at = entry["line"] or finding["line"]
            for line in entry.get("calls") or [entry["line"]]:
                add(path, line)
            tree = _tree(root, path, trees)
            if tree is not None:
                add(path, _def_line(tree, entry["function"], at))
        fix = finding["applied_fix"] or {}
        if fix.get("kind") == "pure-asgi" and finding["context"]:
            tree = _tree(root, finding["path"], trees)
            if tree is not None:
                lines = _declaration(tree, finding["context"]["function"], finding["line"])
                allowed.setdefault(finding["path"], set()).update(lines)
    return allowed


def _nearest(findings: list[dict[str, Any]], path: str, line: int) -> str:
    near = [f for f in findings if f["path"] == path and f["fix_status"] == "fixed"]
    if not near:
        return "no fixed finding in this file"
    best = min(near, key=lambda f: abs(f["line"] - line))
    kind = (best["applied_fix"] or {}).get("kind", "removed by another fix")
    return f"nearest fixed: {best['code']} at line {best['line']} ({kind})"


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
        pristine = Path(folder) / "before"
        shutil.copytree(root, pristine)  # the def lines are read from the code as it was
        report = _fix(root, timeout)
        if isinstance(report, str):
            return report
        after = run_check(root, timeout)
        if isinstance(after, str):
            return after
        findings: list[dict[str, Any]] = report["findings"]
        fixed = [f for f in findings if f["fix_status"] == "fixed"]
        allowed = _allowed(pristine, findings)
        files = broken = changed = imports = 0
        elsewhere: list[str] = []
        for path, data in sorted(originals.items()):
            now = path.read_bytes()
            if now == data:
                continue
            files += 1
            try:
                compile(now, str(path), "exec", dont_inherit=True)
            except SyntaxError:
                broken += 1
            shown = str(path.relative_to(root))
            near = allowed.get(shown, set())
            for change in _changes(data, now):
                changed += 1
                if change.is_import:
                    imports += 1
                elif change.inserted or change.line not in near:
                    where = f"{shown}:{change.line}" + (" (inserted)" if change.inserted else "")
                    why = _nearest(findings, shown, change.line)
                    elsewhere.append(
                        f"{where}: {change.old.strip()!r} -> {change.new.strip()!r}; {why}"
                    )
        return RoundTrip(
            package.name,
            len(before),
            len(after),
            len(fixed),
            files,
            broken,
            changed,
            imports,
            elsewhere,
        )


def main(argv: list[str] | None = None) -> int:
    """Print one row per package and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", help="package names (default: the whole corpus)")
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"download folder ({CACHE})")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per step (900)")
    options = parser.parse_args(argv)
    chosen = [p for p in CORPUS if not options.packages or p.name in options.packages]
    header = (
        "package               before  after  fixed  drop=fixed  files  broken  lines  imports"
        "  other"
    )
    print(header)
    listed: list[str] = []
    for package in chosen:
        found = round_trip(package, options.cache, options.timeout)
        if isinstance(found, str):
            print(f"{package.name:<20}  {found}")
            continue
        same = "yes" if found.before - found.after == found.fixed else "NO"
        print(
            f"{found.name:<20}  {found.before:>6}  {found.after:>5}  {found.fixed:>5}  "
            f"{same:>10}  {found.files:>5}  {found.broken:>6}  {found.lines:>5}  "
            f"{found.imports:>7}  {len(found.elsewhere):>5}",
            flush=True,
        )
        listed += [f"{found.name}: {line}" for line in found.elsewhere]
    if listed:
        print("\nChanged lines that belong to no fixed finding:")
        print("\n".join(listed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
