"""Reach: from every loop function, follow calls into sync project functions down to blocking.

Calls are resolved once per function; a multi-source breadth-first search backwards from every
blocking site gives each sync function its shortest path to each code (cycles are harmless).
Offloaded functions are never called, only referenced, so the walk never enters them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from loopsight.check._entrypoints import KIND_TEXT, Entry, FunctionKey
from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._index import ProjectIndex, Target
from loopsight.check._noqa import suppressed
from loopsight.check._summary import BARE, FunctionFacts
from loopsight.check.rules import RULES

__all__ = ["reach"]


@dataclass(slots=True)
class _Resolved:
    """One function's outgoing sync calls and its own findings."""

    edges: list[tuple[FunctionKey, int, int]]
    sites: list[tuple[str, int, int, str]]


#: ``code -> (next function or None at the leaf, line, column, shown callee)``.
_Step = tuple[FunctionKey | None, int, int, str]


class _Reach:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.resolved: dict[FunctionKey, _Resolved] = {}

    def _callable(self, target: Target) -> Target | None:
        """The function a call of ``target`` runs: itself, ``__init__`` or ``__call__``."""
        if target[0] == "F":
            return target
        if target[0] in ("C", "I"):
            method = "__init__" if target[0] == "C" else "__call__"
            member = self.index.resolve(f"{target[1]}:{target[2]}.{method}")
            return member if member is not None and member[0] == "F" else None
        return None

    def _resolve(self, facts: FunctionFacts, bare_only: bool) -> _Resolved:
        """One function's calls: sync project callees become edges, library calls sites.

        ``bare_only`` looks at statement calls alone (a missing ``await`` is wrong anywhere);
        the rest only matters in functions the loop reaches.
        """
        index, names = self.index, self.index.names
        edges: list[tuple[FunctionKey, int, int]] = []
        if bare_only:
            sites = [site for site in facts.sites if not RULES[site[0]].propagates]
        else:
            sites = list(facts.sites)
        for ref, line, col, mode in facts.calls:
            if bare_only and mode != BARE:
                continue
            target = index.resolve(ref)
            if target is None:
                continue
            if target[0] == "X":
                code = None if bare_only else names.classify(target[1])
                shown = target[1].replace("()", "")
                if code is not None:
                    sites.append((code, line, col, shown))
                if mode == BARE and names.is_coroutine_function(target[1]):
                    sites.append(("LS301", line, col, shown))
                continue
            function = self._callable(target)
            callee = index.function(function[1], function[2]) if function else None
            if callee is None or function is None:
                continue
            if callee.is_async:
                if mode == BARE:
                    sites.append(("LS301", line, col, callee.qualname))
            elif not bare_only:
                edges.append(((function[1], function[2]), line, col))
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
                key = (module, qualname)
                self.resolved[key] = full.get(key) or self._resolve(facts, bare_only=True)

    def shortest_paths(self, loop: dict[FunctionKey, Entry]) -> dict[FunctionKey, dict[str, _Step]]:
        best: dict[FunctionKey, dict[str, _Step]] = {}
        callers: dict[FunctionKey, list[tuple[FunctionKey, int, int]]] = {}
        queue: deque[tuple[FunctionKey, str]] = deque()
        for key, resolved in self.resolved.items():
            facts = self.index.function(*key)
            if facts is None or facts.is_async:
                continue  # a coroutine only runs when awaited, and is then checked on its own
            for callee, line, col in resolved.edges:
                callers.setdefault(callee, []).append((key, line, col))
            noqa = self.index.modules[key[0]].noqa
            for code, line, col, shown in resolved.sites:
                if not RULES[code].propagates or code in best.setdefault(key, {}):
                    continue
                if not suppressed(line, code, noqa):  # a noqa comment on the blocking call itself
                    best[key][code] = (None, line, col, shown)
                    queue.append((key, code))
        while queue:
            key, code = queue.popleft()
            for caller, line, col in callers.get(key, ()):
                steps = best.setdefault(caller, {})
                if code in steps or suppressed(line, code, self.index.modules[caller[0]].noqa):
                    continue  # a noqa comment on any call of the path silences it
                steps[code] = (key, line, col, best[key][code][3])
                queue.append((caller, code))
        return best


#: Entry kinds that run once per process, not per request.
_STARTUP = frozenset({"lifespan", "on_event"})
#: Codes about per-request cost that are right to do once at startup.
_STARTUP_OK = frozenset({"LS402"})


def _hop(index: ProjectIndex, key: FunctionKey, line: int) -> Hop:
    return Hop(key[1], index.modules[key[0]].path, line)


def _message(code: str, callee: str) -> str:
    """The rule's message with the callee: its ``{callee}`` slot, or appended in backticks."""
    template = RULES[code].message
    if "{callee}" in template:
        return template.replace("{callee}", callee)
    return f"{template} `{callee}`"


def _fix(code: str, facts_awaits: bool, entry: Entry | None, name: str) -> str:
    fix = RULES[code].fix
    if entry is not None and entry.kind in ("route", "dependency") and not facts_awaits:
        fix += f"; or declare `{name}` with `def` (it awaits nothing) so it runs in the thread pool"
    return fix


def reach(index: ProjectIndex, loop: dict[FunctionKey, Entry]) -> list[Finding]:
    """Findings in every loop function, each with its whole call path."""
    walker = _Reach(index)
    walker.resolve_reachable(loop)
    best = walker.shortest_paths(loop)
    findings: list[Finding] = []
    for key, resolved in walker.resolved.items():
        facts = index.function(*key)
        assert facts is not None
        path = index.modules[key[0]].path
        entry = loop.get(key)
        context = Context(entry.kind, facts.qualname, entry.route) if entry is not None else None
        where = f"{KIND_TEXT[entry.kind]} `{facts.qualname}`" if entry else f"`{facts.qualname}`"
        for code, line, col, shown in resolved.sites:
            if entry is None and RULES[code].propagates:
                continue  # not on the loop: the thread pool may block
            if code in _STARTUP_OK and entry is not None and entry.kind in _STARTUP:
                continue  # an executor made once at startup is the fix, not the problem
            findings.append(
                Finding(
                    path,
                    line,
                    col + 1,
                    code,
                    f"{_message(code, shown)} in {where}",
                    context,
                    (Hop(facts.qualname, path, line),),
                    _fix(code, facts.awaits, entry, facts.qualname),
                )
            )
        if entry is None:
            continue
        reported: set[tuple[int, int, str]] = set()
        for callee, line, col in resolved.edges:
            for code, step in best.get(callee, {}).items():
                if (line, col, code) in reported or (
                    code in _STARTUP_OK and entry.kind in _STARTUP
                ):
                    continue
                reported.add((line, col, code))
                hops = [Hop(facts.qualname, path, line)]
                current: FunctionKey | None = callee
                shown = step[3]
                while current is not None:
                    nxt, at, _, shown = best[current][code]
                    hops.append(_hop(index, current, at))
                    current = nxt
                helper = callee[1]
                findings.append(
                    Finding(
                        path,
                        line,
                        col + 1,
                        code,
                        f"{_message(code, shown)} in {where} via `{helper}`",
                        context,
                        tuple(hops),
                        _fix(code, facts.awaits, entry, facts.qualname),
                    )
                )
    return findings
