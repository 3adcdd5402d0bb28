"""The fixer's steps: plan the allowed fixes per finding -> rewrite each file -> re-check the
project with the rewritten files -> roll back edits that break a file, leave their finding or
bring a new one (the finding's next fix is tried) -> write.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import libcst as cst

from loopsight.check._config import CheckConfig
from loopsight.check._files import DEFAULT_EXCLUDE, discover
from loopsight.check._finding import Finding
from loopsight.check._runner import run_check
from loopsight.check._summary import ModuleSummary
from loopsight.check.fix import _middleware  # noqa: F401  (registers LS501's fix)
from loopsight.check.fix._facts import ModuleFacts, collect
from loopsight.check.fix._fixers import FIXERS, FixContext, Planned, site
from loopsight.check.fix._model import FileFix, FixKind, FixReport, Outcome, Safety, Status
from loopsight.check.fix._regions import Region, cut
from loopsight.check.fix._rewrite import rewrite, still_compiles

__all__ = ["fix_findings", "write_fixes"]

_NO_COMPILE = "the fixed file would not compile"
_NOT_REMOVED = "the re-check still reports the finding"
#: where a helper site's message starts naming its first entry (see check/_reach.py)
_REACHED = ", reached from"


#: An edit's identity: the node it rewrites and how (two findings may share one edit).
_EditKey = tuple[int, FixKind]


def _edit_key(planned: Planned) -> _EditKey:
    return (id(planned.node), planned.edit.kind)


def _dropped(planned: Planned, dropped: Container[_EditKey]) -> bool:
    """Whether the edit, or one made with it, was rolled back."""
    return any(_edit_key(part) in dropped for part in planned.parts)


def _why(planned: Planned, dropped: dict[_EditKey, str]) -> str:
    return next(dropped[_edit_key(p)] for p in planned.parts if _edit_key(p) in dropped)


@dataclass(slots=True)
class _FilePlan:
    """One file: its bytes as read, its tree, and the fixes allowed for each finding, best
    first (when one is rolled back, the next is tried)."""

    path: str
    before: bytes
    #: the parts of the file the fixes touch, parsed (see ``_regions``)
    regions: list[Region]
    facts: ModuleFacts
    #: by view (its index in the list of views, see :func:`_views`)
    candidates: dict[int, list[Planned]] = field(default_factory=dict)

    def chosen(self, dropped: Container[_EditKey]) -> dict[int, Planned]:
        """Each finding's first fix not rolled back."""
        chosen = {}
        for finding, candidates in self.candidates.items():
            left = [p for p in candidates if not _dropped(p, dropped)]
            if left:
                chosen[finding] = left[0]
        return chosen


class _CalledNames:
    """The names called anywhere in the checked files, read (with ``ast``) on first use."""

    def __init__(self, paths: list[str], config: CheckConfig) -> None:
        self.paths = paths
        self.config = config
        self.names: set[str] | None = None

    def __call__(self, name: str) -> bool:
        if self.names is None:
            self.names = set()
            config = self.config
            base = DEFAULT_EXCLUDE if config.exclude is None else config.exclude
            for source in discover(self.paths, base + config.extend_exclude):
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


def _choose(finding: Finding, context: FixContext, unsafe: bool) -> tuple[list[Planned], bool]:
    """The fixes that apply and are allowed, best first, and whether an unsafe one was held
    back."""
    allowed: list[Planned] = []
    held_back = False
    for fixer in FIXERS.get(finding.code, ()):
        planned = fixer(finding, context)
        if planned is None:
            continue
        if planned.edit.safety is Safety.SAFE or unsafe:
            allowed.append(planned)
        else:
            held_back = True
    return allowed, held_back


def _plan_file(
    path: str, views: dict[int, Finding], called: Callable[[str], bool], unsafe: bool
) -> tuple[_FilePlan | None, dict[int, Outcome]]:
    findings = list(views.values())
    outcomes = {i: Outcome(f, Status.NO_FIX) for i, f in views.items()}
    if not any(f.code in FIXERS for f in findings):
        return None, outcomes
    try:
        before = Path(path).read_bytes()
        lines = {site(f)[1] for f in findings} | {f.line for f in findings}
        regions, tree = cut(before, lines)
    except (OSError, cst.ParserSyntaxError, UnicodeDecodeError):
        return None, outcomes  # unreadable or unparsable: left untouched
    facts = collect(regions, tree)
    plan = _FilePlan(path, before, regions, facts)
    context = FixContext(path, before.splitlines(), facts, called, tuple(findings))
    for i, finding in views.items():
        allowed, held_back = _choose(finding, context, unsafe)
        if allowed:
            plan.candidates[i] = allowed
            outcomes[i] = Outcome(finding, Status.FIXED, allowed[0].edit)
        elif held_back:
            outcomes[i] = Outcome(finding, Status.UNSAFE, reason="needs --unsafe-fixes")
    return plan, outcomes


def _edits(plan: _FilePlan, dropped: Container[_EditKey]) -> list[Planned]:
    """The file's distinct edits still in play (one edit may fix several findings)."""
    chosen = plan.chosen(dropped).values()
    return list({_edit_key(p): p for planned in chosen for p in planned.parts}.values())


def _rendered(plan: _FilePlan, edits: list[Planned]) -> bytes | None:
    """The file with ``edits`` applied, if it still compiles."""
    try:
        paths = plan.facts.holding(p.node for p in edits)
        after = rewrite(plan.before, plan.regions, edits, paths)
    except Exception:  # a libcst refusal is one bad edit: roll it back and go on
        return None
    return after if still_compiles(after, plan.path) else None


def _render(plan: _FilePlan, dropped: set[_EditKey]) -> bytes | None:
    """The rewritten file, dropping (into ``dropped``) edits that break compilation alone."""
    edits = _edits(plan, dropped)
    if not edits:
        return None
    after = _rendered(plan, edits)
    if after is not None:
        return after
    for edit in edits:
        if _rendered(plan, [edit]) is None:
            dropped.add(_edit_key(edit))
    edits = _edits(plan, dropped)
    after = _rendered(plan, edits) if edits else None
    if after is not None:
        return after
    dropped.update(_edit_key(edit) for edit in edits)  # fine alone, broken together
    return None


def _key(finding: Finding) -> tuple[str, str, str, str]:
    """A view's identity across the re-check (lines may move; the message's tail names the
    first entry still reaching the site, which a fix of another entry changes)."""
    function = finding.context.function if finding.context is not None else ""
    message = finding.message.split(_REACHED, 1)[0]
    return (finding.path, finding.code, message, function)


def _failing(
    plans: Iterable[_FilePlan],
    dropped: Container[_EditKey],
    before: list[Finding],
    after: list[Finding],
) -> dict[_EditKey, str]:  # before and after: views, one per entry point
    """Edits to roll back, with why: their finding is still reported, or a finding the code
    did not have appeared where they apply (compared by message: lines may have moved)."""
    counted_before, counted_after = Counter(map(_key, before)), Counter(map(_key, after))
    fixing: dict[tuple[str, str, str, str], list[Planned]] = {}
    for plan in plans:
        for i, planned in plan.chosen(dropped).items():
            fixing.setdefault(_key(before[i]), []).append(planned)
    failing: dict[_EditKey, str] = {}
    for key, edits in fixing.items():
        if counted_before[key] - counted_after[key] < len(edits):
            failing.update(dict.fromkeys((_edit_key(p) for p in edits), _NOT_REMOVED))
    for finding in after:
        if counted_after[_key(finding)] > counted_before[_key(finding)]:
            reason = f"the fix brings a new finding ({finding.code} at {finding.path})"
            culprits = _near(fixing, finding) or [p for edits in fixing.values() for p in edits]
            for planned in culprits:
                failing.setdefault(_edit_key(planned), reason)
    return failing


def _near(
    fixing: dict[tuple[str, str, str, str], list[Planned]], finding: Finding
) -> list[Planned]:
    """The edits in the new finding's function (by name), or else in its file."""
    function = finding.context.function if finding.context is not None else ""
    in_file = {key: edits for key, edits in fixing.items() if key[0] == finding.path}
    same = [p for key, edits in in_file.items() if key[3] == function for p in edits]
    return same or [p for edits in in_file.values() for p in edits]


def _views(findings: Iterable[Finding]) -> tuple[list[Finding], list[int]]:
    """One finding per entry point that reaches it (a fix is made where each entry runs on
    toward the site): the finding with that entry as its context, and each view's finding
    (its index in ``findings``)."""
    views: list[Finding] = []
    owners: list[int] = []
    for index, finding in enumerate(findings):
        entries = finding.entries or ((finding.context,) if finding.context else ())
        mine = [replace(finding, context=e, entries=(e,)) for e in entries] or [finding]
        views += mine
        owners += [index] * len(mine)
    return views, owners


def _plan(
    views: list[Finding], paths: list[str], config: CheckConfig, unsafe: bool
) -> tuple[list[_FilePlan], dict[int, Outcome]]:
    """An edit per view that has one, by the file it edits, and every view's planned outcome."""
    by_path: dict[str, dict[int, Finding]] = {}
    for i, view in enumerate(views):
        by_path.setdefault(site(view)[0], {})[i] = view
    called = _CalledNames(paths, config)
    outcomes: dict[int, Outcome] = {}
    plans: list[_FilePlan] = []
    for path, group in by_path.items():
        plan, outcome = _plan_file(path, group, called, unsafe)
        outcomes.update(outcome)
        if plan is not None and plan.candidates:
            plans.append(plan)
    return plans, outcomes


def fix_findings(
    findings: list[Finding],
    paths: list[str],
    config: CheckConfig,
    *,
    unsafe: bool = False,
    known: Mapping[str, ModuleSummary] | None = None,
) -> FixReport:
    """Plan, apply in memory, re-check and roll back; nothing is written (see
    :func:`write_fixes`). ``known``: the check's summaries (``CheckResult.summaries``), so
    that a re-check parses only the rewritten files."""
    views, owners = _views(findings)
    plans, outcomes = _plan(views, paths, config, unsafe)
    dropped: dict[_EditKey, str] = {}
    rendered, left = _settle(plans, dropped, views, (paths, config, known or {}))
    for plan in plans:
        chosen = plan.chosen(dropped)
        for i, candidates in plan.candidates.items():
            if i in chosen:
                outcomes[i] = Outcome(views[i], Status.FIXED, chosen[i].edit)
            else:  # every fix it had was rolled back: report the last one tried
                last = candidates[-1]
                reason = _why(last, dropped)
                outcomes[i] = Outcome(views[i], Status.ROLLED_BACK, last.edit, reason)
    if rendered:
        _gone_with_others(outcomes, views, left)
    files = tuple(FileFix(p.path, p.before, rendered[p.path]) for p in plans if p.path in rendered)
    parts: list[list[Outcome]] = [[] for _ in findings]
    for i, owner in enumerate(owners):
        parts[owner].append(outcomes[i])
    return FixReport(tuple(map(_joined, findings, parts)), files)


def _joined(finding: Finding, parts: list[Outcome]) -> Outcome:
    """A finding's outcome from its entries' outcomes: fixed when every entry is; else the
    first unfixed entry's status, saying which entries were fixed."""
    unfixed = [o for o in parts if o.status is not Status.FIXED]
    if not unfixed:
        return replace(parts[0], finding=finding)
    first = unfixed[0]
    if len(unfixed) == len(parts):
        return replace(first, finding=finding)
    fixed = [o.finding.context.shown for o in parts if o.finding.context and o not in unfixed]
    left = [o.finding.context.shown for o in unfixed if o.finding.context]
    reason = f"partly fixed: fixed for {', '.join(fixed)}; not for {', '.join(left)}" + (
        f" ({first.reason})" if first.reason else ""
    )
    return replace(first, finding=finding, reason=reason)


def _settle(
    plans: list[_FilePlan],
    dropped: dict[_EditKey, str],
    findings: list[Finding],
    project: tuple[list[str], CheckConfig, Mapping[str, ModuleSummary]],
) -> tuple[dict[str, bytes], list[Finding]]:
    """Render and re-check until every edit left removes its finding (each round drops at
    least one edit, so this ends): the rewritten files and the findings they still have."""
    paths, config, known = project
    while True:
        rendered: dict[str, bytes] = {}
        for plan in plans:
            broken: set[_EditKey] = set(dropped)
            after = _render(plan, broken)
            dropped.update(dict.fromkeys(broken - set(dropped), _NO_COMPILE))
            if after is not None:
                rendered[plan.path] = after
        if not rendered:
            return rendered, findings
        again = run_check(paths, config, jobs=1, sources=rendered, known=known)
        recheck = _views(again.findings)[0]
        failing = _failing(plans, set(dropped), findings, recheck)
        if not failing:
            return rendered, recheck
        dropped.update(failing)


def _gone_with_others(
    outcomes: dict[int, Outcome], findings: list[Finding], left: list[Finding]
) -> None:
    """Findings no edit was for that the re-check no longer reports (a call made ``def`` or
    moved to a thread also ends the CPU finding at the same place): fixed, by another fix."""
    fixed = Counter(_key(f) for i, f in enumerate(findings) if outcomes[i].status is Status.FIXED)
    gone = Counter(map(_key, findings)) - Counter(map(_key, left)) - fixed
    for i, finding in enumerate(findings):
        key = _key(finding)
        if outcomes[i].status in (Status.NO_FIX, Status.UNSAFE) and gone[key] > 0:
            gone[key] -= 1
            outcomes[i] = Outcome(finding, Status.FIXED, reason="removed by another fix")


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
