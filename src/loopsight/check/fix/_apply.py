"""The fixer's steps: plan an edit per finding -> rewrite each file -> re-check the project
with the rewritten files -> roll back edits that break a file or leave their finding -> write.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import libcst as cst

from loopsight.check._config import CheckConfig
from loopsight.check._files import DEFAULT_EXCLUDE, discover
from loopsight.check._finding import Finding
from loopsight.check._runner import run_check
from loopsight.check.fix import _middleware  # noqa: F401  (registers LS501's fix)
from loopsight.check.fix._facts import collect
from loopsight.check.fix._fixers import FIXERS, FixContext, Planned
from loopsight.check.fix._model import FileFix, FixReport, Outcome, Safety, Status
from loopsight.check.fix._rewrite import rewrite, still_compiles

__all__ = ["fix_findings", "fixable", "write_fixes"]

_NO_COMPILE = "the fixed file would not compile"
_NOT_REMOVED = "the re-check still reports the finding"


@dataclass(slots=True)
class _FilePlan:
    """One file: its bytes as read, its tree, and the edit chosen for each finding."""

    path: str
    before: bytes
    module: cst.Module
    chosen: dict[Finding, Planned] = field(default_factory=dict)


class _CalledNames:
    """The names called anywhere in the checked files, read (with ``ast``) on first use."""

    def __init__(self, paths: list[str], config: CheckConfig) -> None:
        self.paths = paths
        self.config = config
        self.names: set[str] | None = None

    def __call__(self, name: str) -> bool:
        if self.names is None:
            self.names = set()
            for source in discover(self.paths, DEFAULT_EXCLUDE + self.config.exclude):
                self.names |= _calls_in(Path(source.path))
        return name in self.names


def _calls_in(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


def _choose(finding: Finding, context: FixContext, unsafe: bool) -> tuple[Planned | None, bool]:
    """The first fix that applies and is allowed, and whether an unsafe one was held back."""
    held_back = False
    for fixer in FIXERS.get(finding.code, ()):
        planned = fixer(finding, context)
        if planned is None:
            continue
        if planned.edit.safety is Safety.SAFE or unsafe:
            return planned, held_back
        held_back = True
    return None, held_back


def _plan_file(
    path: str, findings: list[Finding], called: Callable[[str], bool], unsafe: bool
) -> tuple[_FilePlan | None, dict[Finding, Outcome]]:
    outcomes = {f: Outcome(f, Status.NO_FIX) for f in findings}
    if not any(f.code in FIXERS for f in findings):
        return None, outcomes
    try:
        before = Path(path).read_bytes()
        wrapper = cst.MetadataWrapper(cst.parse_module(before))
    except (OSError, cst.ParserSyntaxError, UnicodeDecodeError):
        return None, outcomes  # unreadable or unparsable: left untouched
    plan = _FilePlan(path, before, wrapper.module)
    context = FixContext(path, before.splitlines(), collect(wrapper), called, tuple(findings))
    for finding in findings:
        planned, held_back = _choose(finding, context, unsafe)
        if planned is not None:
            plan.chosen[finding] = planned
            outcomes[finding] = Outcome(finding, Status.FIXED, planned.edit)
        elif held_back:
            outcomes[finding] = Outcome(finding, Status.UNSAFE, reason="needs --unsafe-fixes")
    return plan, outcomes


def _edits(plan: _FilePlan, dropped: set[int]) -> list[Planned]:
    """The file's distinct edits still in play (one edit may fix several findings)."""
    unique = {id(p.node): p for p in plan.chosen.values() if id(p.node) not in dropped}
    return list(unique.values())


def _render(plan: _FilePlan, dropped: set[int]) -> bytes | None:
    """The rewritten file, dropping (into ``dropped``) edits that break compilation alone."""
    edits = _edits(plan, dropped)
    if not edits:
        return None
    after = rewrite(plan.module, edits)
    if still_compiles(after, plan.path):
        return after
    for edit in edits:
        if not still_compiles(rewrite(plan.module, [edit]), plan.path):
            dropped.add(id(edit.node))
    edits = _edits(plan, dropped)
    after = rewrite(plan.module, edits) if edits else b""
    if edits and still_compiles(after, plan.path):
        return after
    dropped.update(id(edit.node) for edit in edits)  # fine alone, broken together
    return None


def _key(finding: Finding) -> tuple[str, str, str, str]:
    function = finding.context.function if finding.context is not None else ""
    return (finding.path, finding.code, finding.message, function)


def _still_reported(
    plans: Iterable[_FilePlan], dropped: set[int], before: list[Finding], after: list[Finding]
) -> set[int]:
    """Edits whose findings the re-check still reports (by message: lines may have moved)."""
    counted_before, counted_after = Counter(map(_key, before)), Counter(map(_key, after))
    fixing: dict[tuple[str, str, str, str], list[Planned]] = {}
    for plan in plans:
        for finding, planned in plan.chosen.items():
            if id(planned.node) not in dropped:
                fixing.setdefault(_key(finding), []).append(planned)
    failing: set[int] = set()
    for key, edits in fixing.items():
        if counted_before[key] - counted_after[key] < len(edits):
            failing.update(id(p.node) for p in edits)
    return failing


def _plan(
    findings: list[Finding], paths: list[str], config: CheckConfig, unsafe: bool
) -> tuple[list[_FilePlan], dict[Finding, Outcome]]:
    """An edit per finding that has one, by file, and every finding's planned outcome."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    called = _CalledNames(paths, config)
    outcomes: dict[Finding, Outcome] = {}
    plans: list[_FilePlan] = []
    for path, group in by_path.items():
        plan, outcome = _plan_file(path, group, called, unsafe)
        outcomes.update(outcome)
        if plan is not None and plan.chosen:
            plans.append(plan)
    return plans, outcomes


def fixable(
    findings: list[Finding], paths: list[str], config: CheckConfig, *, unsafe: bool = False
) -> FixReport:
    """The fixes ``--fix`` would offer (planned only: not applied or re-checked), for the
    ``N fixable`` line of a plain check."""
    _, outcomes = _plan(findings, paths, config, unsafe)
    return FixReport(tuple(outcomes[f] for f in findings), ())


def fix_findings(
    findings: list[Finding], paths: list[str], config: CheckConfig, *, unsafe: bool = False
) -> FixReport:
    """Plan, apply in memory, re-check and roll back; nothing is written (see
    :func:`write_fixes`)."""
    plans, outcomes = _plan(findings, paths, config, unsafe)
    dropped: dict[int, str] = {}
    rendered = _settle(plans, dropped, findings, paths, config)
    for plan in plans:
        for finding, planned in plan.chosen.items():
            reason = dropped.get(id(planned.node))
            if reason is not None:
                outcomes[finding] = Outcome(finding, Status.ROLLED_BACK, planned.edit, reason)
    files = tuple(FileFix(p.path, p.before, rendered[p.path]) for p in plans if p.path in rendered)
    return FixReport(tuple(outcomes[f] for f in findings), files)


def _settle(
    plans: list[_FilePlan],
    dropped: dict[int, str],
    findings: list[Finding],
    paths: list[str],
    config: CheckConfig,
) -> dict[str, bytes]:
    """Render and re-check until every edit left removes its finding (each round drops at
    least one edit, so this ends)."""
    while True:
        rendered: dict[str, bytes] = {}
        for plan in plans:
            broken: set[int] = set(dropped)
            after = _render(plan, broken)
            dropped.update(dict.fromkeys(broken - set(dropped), _NO_COMPILE))
            if after is not None:
                rendered[plan.path] = after
        if not rendered:
            return rendered
        recheck = run_check(paths, config, jobs=1, sources=rendered).findings
        failing = _still_reported(plans, set(dropped), findings, recheck)
        if not failing:
            return rendered
        dropped.update(dict.fromkeys(failing, _NOT_REMOVED))


def write_fixes(report: FixReport) -> FixReport:
    """Write each rewritten file unless it changed since it was read; a file that cannot be
    written gets one error line and its findings stay reported (the others are still written)."""
    errors: list[str] = []
    unwritten: set[str] = set()
    for file in report.files:
        try:
            current = Path(file.path).read_bytes()
            if current != file.before:
                errors.append(
                    f"{file.path} changed since it was checked: not overwritten "
                    "(run `loopsight check --fix` again)"
                )
                unwritten.add(file.path)
                continue
            Path(file.path).write_bytes(file.after)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            errors.append(
                f"cannot write {file.path}: {reason} (make it writable and run `--fix` again)"
            )
            unwritten.add(file.path)
    outcomes = tuple(
        replace(o, status=Status.NOT_WRITTEN, reason="file not written")
        if o.status is Status.FIXED and o.finding.path in unwritten
        else o
        for o in report.outcomes
    )
    written = tuple(f for f in report.files if f.path not in unwritten)
    return FixReport(outcomes, written, report.errors + tuple(errors))
