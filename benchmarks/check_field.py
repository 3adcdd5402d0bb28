"""How does ``loopsight check`` do on real applications? Findings per package of a field corpus:
real FastAPI/Starlette applications published on PyPI, at pinned versions.

    python benchmarks/check_field.py                      # the whole corpus
    python benchmarks/check_field.py sqladmin nicegui     # some packages
    python benchmarks/check_field.py --json findings.json # also keep every finding
    python benchmarks/check_field.py --list               # the corpus table

Each package is fetched with ``pip download --no-deps`` (a wheel; never installed, never
imported) into ``benchmarks/field/.cache/`` (git ignores it), unpacked there, and checked by
``loopsight check --output-format json`` in a subprocess with a timeout. Per package it prints
lines, findings, findings per KLOC, the share of each code, severity and reach, and seconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["CORPUS", "Package", "fetch", "run_check", "source_root"]

_HERE = Path(__file__).resolve().parent
CACHE = _HERE / "field" / ".cache"


@dataclass(frozen=True)
class Package:
    """One field application, pinned so that runs are repeatable."""

    name: str
    version: str

    @property
    def spec(self) -> str:
        """The requirement pip downloads."""
        return f"{self.name}=={self.version}"


CORPUS = (
    Package("open-webui", "0.12.4"),
    Package("litellm", "1.110.2"),
    Package("prefect", "3.9.1"),
    Package("gradio", "6.31.0"),
    Package("chainlit", "2.12.0"),
    Package("langflow-base", "1.13.0"),
    Package("khoj", "1.42.10"),
    Package("skypilot", "0.14.1"),
    Package("dstack", "0.22.5"),
    Package("fastapi-users", "15.0.5"),
    Package("sqladmin", "0.32.0"),
    Package("apache-airflow-core", "3.3.2"),
    Package("bentoml", "1.4.40"),
    Package("openhands-ai", "1.11.0"),
    Package("marimo", "0.25.2"),
    Package("nicegui", "3.18.0"),
)


class FetchError(Exception):
    """A package could not be downloaded or unpacked."""


def source_root(package: Package, cache: Path = CACHE) -> Path:
    """Where the unpacked sources of ``package`` live."""
    return cache / "src" / f"{package.name}-{package.version}"


def _safe_target(root: Path, member: str) -> Path | None:
    """The path a member unpacks to, or None when it would land outside ``root``."""
    parts = PurePosixPath(member.replace("\\", "/")).parts
    if not parts or parts[0] == "/" or ".." in parts or ":" in parts[0]:
        return None
    target = root.joinpath(*parts).resolve()
    return target if target.is_relative_to(root.resolve()) else None


def _unpack(archive: Path, root: Path) -> None:
    """Unpack the ``.py`` and project files of a wheel or sdist, refusing path traversal."""
    keep = (".py", ".toml", ".cfg")
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                target = _safe_target(root, info.filename)
                if target is None or info.is_dir() or not info.filename.endswith(keep):
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zipped.read(info))
        return
    with tarfile.open(archive) as tarred:
        for member in tarred.getmembers():
            target = _safe_target(root, member.name)
            if target is None or not member.isfile() or not member.name.endswith(keep):
                continue
            extracted = tarred.extractfile(member)
            if extracted is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(extracted.read())


def fetch(package: Package, cache: Path = CACHE) -> Path:
    """Download and unpack ``package`` once; the unpacked tree is reused on later runs."""
    root = source_root(package, cache)
    if (root / ".complete").exists():
        return root
    downloads = cache / "dist"
    downloads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=downloads) as tmp:
        # Wheels only: pip would run an sdist's build backend just to read its metadata.
        # --python-version only widens Requires-Python: every package here is pure Python.
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        done = subprocess.run(
            [*command, "--python-version", "3.12", "--dest", tmp, "--quiet", package.spec],
            capture_output=True,
            text=True,
            check=False,
        )
        archives = sorted(Path(tmp).iterdir())
        if done.returncode != 0 or not archives:
            reason = (done.stderr.strip().splitlines() or ["no file downloaded"])[-1]
            raise FetchError(f"pip download {package.spec} failed: {reason}")
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        try:
            _unpack(archives[0], root)
        except (zipfile.BadZipFile, tarfile.TarError, OSError) as error:
            raise FetchError(f"cannot unpack {archives[0].name}: {error}") from error
    (root / ".complete").write_text(package.spec + "\n")
    return root


@dataclass(frozen=True)
class Outcome:
    """What one package's check gave: its findings (paths relative to its tree) and cost."""

    package: Package
    files: int
    lines: int
    seconds: float
    findings: tuple[dict[str, Any], ...] = ()
    error: str | None = None


def count_lines(root: Path) -> tuple[int, int]:
    """Python files and lines under ``root``."""
    files = [file for file in root.rglob("*.py") if file.is_file()]
    return len(files), sum(file.read_bytes().count(b"\n") for file in files)


def run_check(root: Path, timeout: float, jobs: int = 1) -> list[dict[str, Any]] | str:
    """``loopsight check`` on one tree in a fresh interpreter, no cache: findings, or why not."""
    command = [sys.executable, "-m", "loopsight", "check", "--output-format", "json"]
    try:
        done = subprocess.run(
            [*command, "--no-cache", "--jobs", str(jobs), "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    # Exit 1 means findings; anything else, or no JSON, means the checker itself failed.
    if done.returncode not in (0, 1):
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return f"check failed: {last}"
    try:
        findings: list[dict[str, Any]] = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        return f"output is not JSON: {error}"
    return findings


def check(package: Package, root: Path, timeout: float, jobs: int) -> Outcome:
    """Check one package's tree, timed."""
    files, lines = count_lines(root)
    start = time.perf_counter()
    findings = run_check(root, timeout, jobs)
    seconds = time.perf_counter() - start
    if isinstance(findings, str):
        return Outcome(package, files, lines, seconds, error=findings)
    return Outcome(package, files, lines, seconds, tuple(findings))


def severity(finding: dict[str, Any]) -> str:
    """The finding's severity, for a checker that reports one."""
    return str(finding.get("severity") or "unrated")


def reach(finding: dict[str, Any]) -> str:
    """How the function holding the finding is reached (route, dependency, ...)."""
    context = finding.get("context") or {}
    return str(context.get("kind") or "none")


def _shares(counts: Counter[str], total: int, top: int) -> str:
    if not total:
        return "-"
    parts = [f"{key} {count / total:.0%}" for key, count in counts.most_common(top)]
    rest = len(counts) - top
    return ", ".join(parts) + (f", +{rest} more" if rest > 0 else "")


def site(finding: dict[str, Any]) -> tuple[str, int]:
    """Where the blocking call is: the last hop of the call path, else the finding itself."""
    hops = finding.get("call_path") or ()
    where = hops[-1] if hops else finding
    return str(where["path"]), int(where["line"])


_HEADER = (
    f"{'package':<22} {'files':>6} {'lines':>9} {'findings':>8} {'sites':>6}"
    f" {'per KLOC':>8} {'seconds':>8}"
)


def _row(name: str, files: int, lines: int, findings: list[dict[str, Any]], seconds: float) -> str:
    per_kloc = len(findings) / lines * 1000 if lines else 0.0
    sites = len({(site(finding), finding["code"]) for finding in findings})
    return (
        f"{name:<22} {files:>6} {lines:>9} {len(findings):>8} {sites:>6}"
        f" {per_kloc:>8.2f} {seconds:>8.1f}"
    )


def report(outcomes: list[Outcome], top: int) -> None:
    """The per-package table, the shares, and the totals."""
    print(_HEADER)
    for each in outcomes:
        print(_row(each.package.name, each.files, each.lines, list(each.findings), each.seconds))
    done = [outcome for outcome in outcomes if outcome.error is None]
    every = [finding for outcome in done for finding in outcome.findings]
    files = sum(outcome.files for outcome in done)
    lines = sum(outcome.lines for outcome in done)
    seconds = sum(outcome.seconds for outcome in done)
    print(_row("total", files, lines, every, seconds))
    print("(sites: distinct blocking lines and codes, a finding's last call-path hop)")
    print(f"checked {lines / seconds if seconds else 0:,.0f} lines/s over {len(done)} packages")
    for outcome in outcomes:
        if outcome.error is not None:
            print(f"{outcome.package.name}: NOT CHECKED: {outcome.error}")
    print()
    keys = (("code", lambda f: str(f["code"])), ("severity", severity), ("reach", reach))
    for name, findings in [*((o.package.name, list(o.findings)) for o in done), ("total", every)]:
        print(f"{name}:")
        for label, key in keys:
            print(f"  by {label:<9} {_shares(Counter(map(key, findings)), len(findings), top)}")


def main(argv: list[str] | None = None) -> int:
    """Fetch, check, report."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("packages", nargs="*", help="package names (default: the whole corpus)")
    parser.add_argument("--list", action="store_true", help="print the corpus and exit")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every finding to FILE")
    parser.add_argument("--cache", type=Path, default=CACHE, help=f"download folder ({CACHE})")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per package (900)")
    parser.add_argument("--jobs", type=int, default=1, help="parser processes per check (1)")
    parser.add_argument("--top", type=int, default=8, help="codes/kinds shown per share line (8)")
    args = parser.parse_args(argv)
    if args.list:
        for package in CORPUS:
            print(package.spec)
        return 0
    by_name = {package.name: package for package in CORPUS}
    unknown = [name for name in args.packages if name not in by_name]
    if unknown:
        parser.error(f"not in the corpus: {', '.join(unknown)} (see --list)")
    chosen = [by_name[name] for name in args.packages] or list(CORPUS)
    outcomes = []
    for package in chosen:
        try:
            root = fetch(package, args.cache)
        except FetchError as error:
            print(f"{package.name}: skipped: {error}", file=sys.stderr)
            continue
        outcome = check(package, root, args.timeout, args.jobs)
        status = outcome.error or f"{len(outcome.findings)} findings"
        print(f"{package.spec}: {status} in {outcome.seconds:.1f} s", file=sys.stderr)
        outcomes.append(outcome)
    if not outcomes:
        print("no package could be checked", file=sys.stderr)
        return 2
    report(outcomes, args.top)
    if args.json is not None:
        corpus = [
            {"package": outcome.package.name, "version": outcome.package.version, **finding}
            for outcome in outcomes
            for finding in outcome.findings
        ]
        args.json.write_text(json.dumps(corpus, indent=1) + "\n")
        print(f"\nwrote {len(corpus)} findings to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
