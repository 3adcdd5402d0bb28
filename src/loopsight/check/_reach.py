"""Reach: from every loop function, follow calls into sync project functions down to blocking.

Calls are resolved once per function; a multi-source breadth-first search backwards from every
blocking site gives each sync function its shortest path to each code (cycles are harmless).
Offloaded functions are never called, only referenced, so the walk never enters them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from loopsight.check._entrypoints import Entry
from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._hooks import CallSeen, EntryKind
from loopsight.check._index import FunctionKey, ProjectIndex, Target, TargetKind
from loopsight.check._noqa import suppressed
from loopsight.check._summary import BARE, FunctionFacts, Site
from loopsight.check.rules import HOOKS, RULES

__all__ = ["reach"]


class _Edge(NamedTuple):
    """A call from one function into a sync project function."""

    callee: FunctionKey
    line: int
    col: int


@dataclass(slots=True)
class _Resolved:
    """One function's outgoing sync calls and its own findings."""

    edges: list[_Edge]
    sites: list[Site]


class _Step(NamedTuple):
    """One function's shortest way to a code: the next function (``None`` at the blocking
    call itself), the line and column it calls it from, and the blocking callee shown."""

    next: FunctionKey | None
    line: int
    col: int
    shown: str


class _Reach:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.resolved: dict[FunctionKey, _Resolved] = {}
        self.overrides: dict[FunctionKey, list[FunctionKey]] = {}

    def _callable(self, target: Target) -> Target | None:
        """The function a call of ``target`` runs: itself, ``__init__`` or ``__call__``."""
        kind = target.kind
        if kind is TargetKind.FUNCTION:
            return target
        if kind is TargetKind.CLASS or kind is TargetKind.INSTANCE:
            method = "__init__" if kind is TargetKind.CLASS else "__call__"
            member = self.index.resolve(f"{target.name}:{target.qualname}.{method}")
            return member if member is not None and member.kind is TargetKind.FUNCTION else None
        return None

    def _has_async_twin(self, module: str, method: FunctionFacts) -> bool:
        """Whether a sync method's class (or a base) has ``a<name>``/``async_<name>`` async:
        the sync one is then the blocking flavour of the same operation."""
        klass = method.class_qualname
        if klass is None:
            return False
        name = method.qualname.rpartition(".")[2]
        if name.startswith("_"):
            return False
        for twin in ("a" + name, "async_" + name):
            target = self.index.resolve(f"{module}:{klass}.{twin}")
            if target is not None and target.kind is TargetKind.FUNCTION:
                facts = self.index.function(*target.key)
                if facts is not None and facts.is_async:
                    return True
        return False

    def _overrides(self, key: FunctionKey, method: FunctionFacts) -> list[FunctionKey]:
        """Sync overrides in known subclasses (or classes implementing a protocol) of an
        abstract or stub method (no calls of its own): a call through the base runs whichever
        one is chosen at run time."""
        klass = method.class_qualname
        if klass is None or method.calls or method.sites:
            return []
        found = self.overrides.get(key)
        if found is not None:
            return found
        found = self.overrides[key] = []
        name = method.qualname.rpartition(".")[2]
        index = self.index
        for sub in [*index.subclasses(key.module, klass), *index.implementers(key.module, klass)]:
            target = self.index.resolve(f"{sub.module}:{sub.qualname}.{name}")
            if target is None or target.kind is not TargetKind.FUNCTION or target.key == key:
                continue
            facts = self.index.function(*target.key)
            if facts is not None and not facts.is_async and target.key not in found:
                found.append(target.key)
        return found

    def _resolve(self, facts: FunctionFacts, bare_only: bool) -> _Resolved:
        """One function's calls: sync project callees become edges, library calls sites.

        ``bare_only`` looks at statement calls alone (a missing ``await`` is wrong anywhere);
        the rest only matters in functions the loop reaches.
        """
        index, names = self.index, self.index.names
        edges: list[_Edge] = []
        if bare_only:
            sites = [site for site in facts.sites if not RULES[site.code].propagates]
        else:
            sites = list(facts.sites)
        for ref, line, col, mode in facts.calls:
            if bare_only and mode != BARE:
                continue
            target = index.resolve(ref)
            if target is None:
                continue
            if target.kind is TargetKind.LIBRARY:
                code = None if bare_only else names.classify(target.name)
                shown = target.name.replace("()", "")
                if code is not None:
                    code = _on_call(CallSeen(code, target.name, line, col, False))
                if code is not None:
                    sites.append(Site(code, line, col, shown))
                if mode == BARE and names.is_coroutine_function(target.name):
                    sites += _dropped(shown, line, col)
                continue
            function = self._callable(target)
            callee = index.function(*function.key) if function else None
            if callee is None or function is None:
                continue
            if callee.is_async:
                if mode == BARE:
                    sites += _dropped(callee.qualname, line, col)
            elif bare_only:
                continue
            elif self._has_async_twin(function.key.module, callee):
                sites.append(Site("LS111", line, col, callee.qualname))
            else:
                edges.append(_Edge(function.key, line, col))
                edges += (_Edge(key, line, col) for key in self._overrides(function.key, callee))
        return _Resolved(edges, sites)

    def resolve_reachable(self, loop: dict[FunctionKey, Entry]) -> None:
        """Resolve loop functions and the sync functions they reach; elsewhere bare calls only."""
        index = self.index
        full: dict[FunctionKey, _Resolved] = {}
        stack = list(loop)
        while stack:
            key = stack.pop()
            if key in full:
                continue
            facts = index.function(*key)
            if facts is None:
                continue
            resolved = full[key] = self._resolve(facts, bare_only=False)
            stack.extend(callee for callee, _, _ in resolved.edges if callee not in full)
        for module, summary in index.modules.items():
            for qualname, facts in summary.functions.items():
                key = FunctionKey(module, qualname)
                self.resolved[key] = full.get(key) or self._resolve(facts, bare_only=True)

    def shortest_paths(self, loop: dict[FunctionKey, Entry]) -> dict[FunctionKey, dict[str, _Step]]:
        best: dict[FunctionKey, dict[str, _Step]] = {}
        callers: dict[FunctionKey, list[_Edge]] = {}
        queue: deque[tuple[FunctionKey, str]] = deque()
        for key, resolved in self.resolved.items():
            facts = self.index.function(*key)
            if facts is None or facts.is_async:
                continue  # a coroutine only runs when awaited, and is then checked on its own
            for callee, line, col in resolved.edges:
                callers.setdefault(callee, []).append(_Edge(key, line, col))
            noqa = self.index.modules[key.module].noqa
            for code, line, col, shown in resolved.sites:
                if not RULES[code].propagates or code in best.setdefault(key, {}):
                    continue
                if not suppressed(line, code, noqa):  # a noqa comment on the blocking call itself
                    best[key][code] = _Step(None, line, col, shown)
                    queue.append((key, code))
        while queue:
            key, code = queue.popleft()
            for caller, line, col in callers.get(key, ()):
                steps = best.setdefault(caller, {})
                if code in steps or suppressed(line, code, self.index.modules[caller.module].noqa):
                    continue  # a noqa comment on any call of the path silences it
                steps[code] = _Step(key, line, col, best[key][code].shown)
                queue.append((caller, code))
        return best


def _on_call(call: CallSeen) -> str | None:
    """The code a family's ``on_call`` hook keeps for a classified call."""
    hook = HOOKS.on_call.get(call.code)
    return call.code if hook is None else hook(call)


def _dropped(callee: str, line: int, col: int) -> list[Site]:
    """What the families report for a coroutine made by a bare call and dropped."""
    return [site for hook in HOOKS.dropped_coroutine for site in hook(callee, line, col)]


def _reported_in(code: str, entry: Entry) -> bool:
    hook = HOOKS.reported_in.get(code)
    return hook is None or hook(code, entry.kind)


def _hop(index: ProjectIndex, key: FunctionKey, line: int) -> Hop:
    return Hop(key.qualname, index.modules[key.module].path, line)


class _LoopFunction(NamedTuple):
    """A function whose findings are being reported: where it is and why it runs on the loop."""

    facts: FunctionFacts
    path: str
    entry: Entry | None
    context: Context | None
    where: str  # `` in async route `f` `` (or just the function)
    fix_note: str


def _loop_function(index: ProjectIndex, key: FunctionKey, entry: Entry | None) -> _LoopFunction:
    facts = index.function(*key)
    assert facts is not None
    qualname = facts.qualname
    context = Context(entry.kind.label, qualname, entry.route) if entry else None
    where = f" in {entry.kind.text} `{qualname}`" if entry else f" in `{qualname}`"
    fix_note = ""
    routed = entry is not None and entry.kind in (EntryKind.ROUTE, EntryKind.DEPENDENCY)
    if routed and not facts.awaits:
        fix_note = (
            f"; or declare `{qualname}` with `def` (it awaits nothing) so it runs in the "
            "thread pool"
        )
    path = index.modules[key.module].path
    return _LoopFunction(facts, path, entry, context, where, fix_note)


def _own_findings(function: _LoopFunction, sites: list[Site]) -> Iterator[Finding]:
    """The function's own sites: all of them on the loop, elsewhere only non-propagating ones."""
    entry, path = function.entry, function.path
    for code, line, col, shown in sites:
        rule = RULES[code]
        if entry is None and rule.propagates:
            continue  # not on the loop: the thread pool may block
        if entry is not None and not _reported_in(code, entry):
            continue
        yield rule.finding(
            path,
            line,
            col,
            shown,
            where=function.where,
            context=function.context,
            call_path=(Hop(function.facts.qualname, path, line),),
            fix_note=function.fix_note,
        )


def _helper_findings(
    index: ProjectIndex,
    function: _LoopFunction,
    edges: list[_Edge],
    best: dict[FunctionKey, dict[str, _Step]],
) -> Iterator[Finding]:
    """One finding per call into a helper and code the helper leads to, with the whole path."""
    entry = function.entry
    assert entry is not None
    reported: set[tuple[int, int, str]] = set()
    for callee, line, col in edges:
        for code in best.get(callee, {}):
            if (line, col, code) in reported or not _reported_in(code, entry):
                continue
            reported.add((line, col, code))
            hops = [Hop(function.facts.qualname, function.path, line)]
            current: FunctionKey | None = callee
            shown = ""
            while current is not None:
                current_step = best[current][code]
                hops.append(_hop(index, current, current_step.line))
                current, shown = current_step.next, current_step.shown
            yield RULES[code].finding(
                function.path,
                line,
                col,
                shown,
                where=f"{function.where} via `{callee.qualname}`",
                context=function.context,
                call_path=tuple(hops),
                fix_note=function.fix_note,
            )


def reach(index: ProjectIndex, loop: dict[FunctionKey, Entry]) -> list[Finding]:
    """Findings in every loop function, each with its whole call path."""
    walker = _Reach(index)
    walker.resolve_reachable(loop)
    best = walker.shortest_paths(loop)
    findings: list[Finding] = []
    for key, resolved in walker.resolved.items():
        entry = loop.get(key)
        if entry is None and not resolved.sites:
            continue
        function = _loop_function(index, key, entry)
        findings += _own_findings(function, resolved.sites)
        if function.entry is not None:
            findings += _helper_findings(index, function, resolved.edges, best)
    return findings
