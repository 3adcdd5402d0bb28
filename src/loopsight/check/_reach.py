"""Reach: from every loop function, follow calls into sync project functions down to blocking.

Calls are resolved once per function; a multi-source breadth-first search backwards from every
blocking site gives each sync function its shortest path to each code (cycles are harmless).
Offloaded functions are never called, only referenced, so the walk never enters them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple

from loopsight.check._entrypoints import Entry
from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._hooks import CallSeen, EntryKind, call_seen, never_on_loop
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
        for ref, line, col, packed in facts.calls:
            mode = packed & 3  # the rest is the call's context (``_hooks.call_context``)
            if bare_only and mode != BARE:
                continue
            target = index.resolve(ref)
            if target is None:
                continue
            if target.kind is TargetKind.LIBRARY:
                code = None if bare_only else names.classify(target.name)
                shown = target.name.replace("()", "")
                if code is not None:
                    code = _on_call(call_seen(code, target.name, line, col, packed >> 2))
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
            elif not never_on_loop(packed >> 2):  # else it comes after a "no loop here" check
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

    def callers(self, loop: dict[FunctionKey, Entry]) -> dict[FunctionKey, list[_Edge]]:
        """Who calls each sync function: sync functions and loop functions (edges hold the
        caller)."""
        callers: dict[FunctionKey, list[_Edge]] = {}
        for key, resolved in self.resolved.items():
            if not resolved.edges:
                continue
            facts = self.index.function(*key)
            if facts is None or (facts.is_async and key not in loop):
                continue  # a coroutine only runs when awaited, and is then checked on its own
            for callee, line, col in resolved.edges:
                callers.setdefault(callee, []).append(_Edge(key, line, col))
        return callers


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
    if entry is not None and entry.awaited:
        where = f" in async function `{qualname}` awaited from {entry.kind.text}"
        where += f" {entry.route}" if entry.route else ""
    fix_note = ""
    routed = entry is not None and entry.kind in (EntryKind.ROUTE, EntryKind.DEPENDENCY)
    routed = routed and entry is not None and not entry.awaited
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


class _Reached(NamedTuple):
    """A loop function that reaches a blocking site: where it calls on, and the next function
    (and every line where it calls on toward the site)."""

    key: FunctionKey
    line: int
    next: FunctionKey
    lines: tuple[int, ...] = ()


def _reaching(
    index: ProjectIndex,
    sink: FunctionKey,
    code: str,
    callers: dict[FunctionKey, list[_Edge]],
    loop: dict[FunctionKey, Entry],
    async_loop: frozenset[FunctionKey],
) -> tuple[list[_Reached], dict[FunctionKey, tuple[FunctionKey | None, int]]]:
    """Breadth-first backwards from a sync function holding a blocking site: every loop
    function that calls into it (nearest first), and for each function on the way the next
    one toward the site with the line it calls it from.

    A ``# noqa`` on a call along the way cuts the paths through that call only.
    """
    toward: dict[FunctionKey, tuple[FunctionKey | None, int]] = {sink: (None, 0)}
    reached: list[_Reached] = []
    lines: dict[FunctionKey, set[int]] = {}  # an entry's every call toward the site
    queue: deque[FunctionKey] = deque((sink,))
    while queue:
        key = queue.popleft()
        for caller, line, _ in callers.get(key, ()):
            if suppressed(line, code, index.modules[caller.module].noqa):
                continue
            if caller in loop:
                if caller not in lines:
                    reached.append(_Reached(caller, line, key))
                lines.setdefault(caller, set()).add(line)
            # the walk goes on through sync callers (a sync lifespan function included)
            if caller not in toward and caller not in async_loop:
                toward[caller] = (key, line)
                queue.append(caller)
    return [item._replace(lines=tuple(sorted(lines[item.key]))) for item in reached], toward


def _site_findings(
    index: ProjectIndex,
    walker: _Reach,
    loop: dict[FunctionKey, Entry],
) -> Iterator[Finding]:
    """One finding per blocking site in a sync function, listing every loop function that
    reaches it, with the call path from the first."""
    callers = walker.callers(loop)
    async_loop = frozenset(key for key in loop if _is_async(index, key))
    for sink, resolved in walker.resolved.items():
        if sink not in callers:
            continue
        facts = index.function(*sink)
        if facts is None or facts.is_async:
            continue
        summary = index.modules[sink.module]
        for code, line, col, shown in resolved.sites:
            if not RULES[code].propagates or suppressed(line, code, summary.noqa):
                continue
            reached, toward = _reaching(index, sink, code, callers, loop, async_loop)
            kept = [item for item in reached if _reported_in(code, loop[item.key])]
            if not kept:
                continue
            kept.sort(key=lambda item: loop[item.key].kind.rank)  # stable: nearest first
            first = _loop_function(index, kept[0].key, loop[kept[0].key])
            hops = [Hop(first.facts.qualname, first.path, kept[0].line)]
            current: FunctionKey | None = kept[0].next
            while current is not None:
                following, at = toward[current]
                hops.append(_hop(index, current, at if following is not None else line))
                current = following
            entries = tuple(_entry_context(index, item, loop[item.key]) for item in kept)
            yield RULES[code].finding(
                summary.path,
                line,
                col,
                shown,
                where=f" in `{facts.qualname}`, reached from{first.where[3:]}",
                context=entries[0],
                call_path=tuple(hops),
                fix_note=first.fix_note,
                entries=entries,
            )


def _is_async(index: ProjectIndex, key: FunctionKey) -> bool:
    facts = index.function(*key)
    return facts is not None and facts.is_async


def _entry_context(index: ProjectIndex, item: _Reached, entry: Entry) -> Context:
    path = index.modules[item.key.module].path
    return Context(entry.kind.label, item.key.qualname, entry.route, path, item.line, item.lines)


def _merged(findings: list[Finding]) -> list[Finding]:
    """One finding per site (path, line, column, code): entry points of repeats are added to
    the first's list."""
    by_site: dict[tuple[str, int, int, str], Finding] = {}
    for finding in findings:
        site = (finding.path, finding.line, finding.column, finding.code)
        known = by_site.get(site)
        if known is None:
            by_site[site] = finding
            continue
        extra = tuple(entry for entry in finding.entries if entry not in known.entries)
        if extra:
            by_site[site] = replace(known, entries=known.entries + extra)
    return list(by_site.values())


def reach(index: ProjectIndex, loop: dict[FunctionKey, Entry]) -> list[Finding]:
    """Findings in every loop function, each with its whole call path."""
    walker = _Reach(index)
    walker.resolve_reachable(loop)
    findings: list[Finding] = []
    for key, resolved in walker.resolved.items():
        entry = loop.get(key)
        if entry is None and not resolved.sites:
            continue
        function = _loop_function(index, key, entry)
        findings += _own_findings(function, resolved.sites)
    findings += _site_findings(index, walker, loop)
    return _merged(findings)
