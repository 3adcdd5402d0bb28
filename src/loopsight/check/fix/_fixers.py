"""The fixes, registered by decorator per code: each looks at a finding in its module and
returns the edit that would remove it, or ``None``.

Tried in registration order for each code; the first that applies (and is allowed) wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import libcst as cst

from loopsight.check._finding import Finding
from loopsight.check.fix._facts import CallFacts, FunctionFacts, ModuleFacts
from loopsight.check.fix._model import Edit, FixKind, Safety

__all__ = ["FIXERS", "FixContext", "Planned", "fixes", "site"]

#: Blocking-call codes a thread can take off the loop (LS109 reads stdin: no fix).
_BLOCKING = ("LS100", "LS101", "LS102", "LS103", "LS104", "LS105", "LS106", "LS107", "LS108")
_OFFLOADABLE = (*_BLOCKING, "LS110")
#: Entry kinds FastAPI runs in its thread pool when declared with ``def``.
_SYNC_KINDS = frozenset({"route", "dependency"})


@dataclass(frozen=True, slots=True)
class FixContext:
    """One module as the fixers see it, and what the project says about its functions."""

    path: str
    lines: list[bytes]
    facts: ModuleFacts
    #: names called anywhere in the checked files (a route called directly keeps ``async``)
    called: Callable[[str], bool]
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Planned:
    """An edit and the libcst node it rewrites."""

    edit: Edit
    node: cst.CSTNode
    #: what the node becomes, for rewrites built whole (a middleware class)
    replacement: cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement] | None = None
    #: edits made with this one (the entry's other calls of the same helper): all or none
    more: tuple[Planned, ...] = ()

    @property
    def parts(self) -> tuple[Planned, ...]:
        """This edit and those made with it."""
        return (self, *self.more)


Fixer = Callable[[Finding, FixContext], Planned | None]
FIXERS: dict[str, list[Fixer]] = {}


def fixes(*codes: str) -> Callable[[Fixer], Fixer]:
    """Decorator: register a fixer for ``codes``."""

    def add(fixer: Fixer) -> Fixer:
        for code in codes:
            FIXERS.setdefault(code, []).append(fixer)
        return fixer

    return add


def _subject(finding: Finding) -> str:
    """The last name of what the message is about (``time.sleep`` -> ``sleep``)."""
    match = re.search(r"`([^`]+)`", finding.message)
    text = match.group(1) if match is not None else ""
    return text.removesuffix("(...)").removesuffix("()").rsplit(".", 1)[-1]


def site(finding: Finding) -> tuple[str, int, int | None]:
    """Where a fix for the finding's entry point goes: the entry's call toward the finding
    (path, line, no column) when it goes through a helper, else the finding itself."""
    entry = finding.context
    if _via_helper(finding) and entry is not None and entry.path and entry.line:
        return entry.path, entry.line, None
    return finding.path, finding.line, finding.column


def _call_at(finding: Finding, context: FixContext, name: str) -> CallFacts | None:
    """The call the finding points at (or its entry's call toward it): the one starting
    there, by name if several do."""
    _, line, at = site(finding)
    if not 0 < line <= len(context.lines):
        return None
    if at is None:  # an entry's call line: any call on it
        found = context.facts.calls_on(line)
    else:
        raw = context.lines[line - 1][: at - 1]
        column = len(raw.decode("utf-8", "replace"))  # ast counts bytes, libcst characters
        found = context.facts.calls.get((line, column), [])
    named = [call for call in found if call.name == name]
    if len(named) == 1:
        return named[0]
    return found[0] if len(found) == 1 else None


def _via_helper(finding: Finding) -> bool:
    entry = finding.context
    if entry is not None and entry.line is not None:
        return True  # the entry calls on toward the site
    return len(finding.call_path) > 1 and entry is None


def _loop_function(finding: Finding, context: FixContext) -> FunctionFacts | None:
    if finding.context is None:
        return None
    name = finding.context.function.rsplit(".", 1)[-1]
    return context.facts.function_at(name, site(finding)[1])


@fixes("LS301")
def await_coroutine(finding: Finding, context: FixContext) -> Planned | None:
    """LS301: ``save(item)`` in a coroutine -> ``await save(item)`` (safe)."""
    call = _call_at(finding, context, _subject(finding))
    if call is None or not call.awaitable_here:
        return None
    line = site(finding)[1]
    edit = Edit(FixKind.AWAIT, Safety.SAFE, context.path, line, FixKind.AWAIT.text)
    return Planned(edit, call.node)


@fixes(*_BLOCKING)
def sync_def(finding: Finding, context: FixContext) -> Planned | None:
    """An ``async def`` route/dependency that awaits nothing -> ``def`` (safe when nothing
    calls it directly: FastAPI then runs it in the thread pool)."""
    if finding.context is None or finding.context.kind not in _SYNC_KINDS:
        return None
    function = _loop_function(finding, context)
    if function is None or not function.is_async or function.awaits or function.loop_bound:
        return None
    if context.called(function.name) or _has_coroutine_misuse(function, context):
        return None
    edit = Edit(FixKind.SYNC_DEF, Safety.SAFE, context.path, function.start, FixKind.SYNC_DEF.text)
    return Planned(edit, function.node)


def _has_coroutine_misuse(function: FunctionFacts, context: FixContext) -> bool:
    # an unawaited coroutine inside: its own fix adds an ``await``, which needs ``async``
    return any(
        function.start <= finding.line <= function.end
        for finding in context.findings
        if finding.code == "LS301"
    )


@fixes("LS101")
def async_sleep(finding: Finding, context: FixContext) -> Planned | None:
    """LS101: ``time.sleep(x)`` in a coroutine -> ``await asyncio.sleep(x)`` (safe)."""
    if _via_helper(finding):
        return None
    call = _call_at(finding, context, "sleep")
    if call is None or not call.awaitable_here:
        return None
    edit = Edit(
        FixKind.ASYNC_SLEEP,
        Safety.SAFE,
        context.path,
        finding.line,
        FixKind.ASYNC_SLEEP.text,
        (("asyncio", None),),
        "asyncio.sleep",
    )
    return Planned(edit, call.node)


@fixes(*_OFFLOADABLE)
def offload(finding: Finding, context: FixContext) -> Planned | None:
    """A blocking call in a coroutine, or the coroutine's call of a sync helper that blocks ->
    ``await run_in_threadpool(f, *args)`` / ``await asyncio.to_thread(f, *args)`` (unsafe: the
    call runs on another thread; the helper itself is never rewritten)."""
    name = _next_hop(finding) if _via_helper(finding) else ""
    call = _call_at(finding, context, name or _subject(finding))
    if call is None or not call.awaitable_here:
        return None
    framework = context.facts.framework
    imports: tuple[tuple[str, str | None], ...]
    if framework is not None:
        runner, imports = "run_in_threadpool", ((f"{framework}.concurrency", "run_in_threadpool"),)
        if "run_in_threadpool" in context.facts.imported:
            imports = ()
    else:
        runner, imports = "asyncio.to_thread", (("asyncio", None),)
    text = FixKind.OFFLOAD.text.format(runner=runner)
    line = site(finding)[1]
    edit = Edit(FixKind.OFFLOAD, Safety.UNSAFE, context.path, line, text, imports, runner)
    more = tuple(
        Planned(replace(edit, line=at), other.node)
        for at, other in _other_calls(finding, context, call)
    )
    return Planned(edit, call.node, more=more)


def _other_calls(
    finding: Finding, context: FixContext, call: CallFacts
) -> list[tuple[int, CallFacts]]:
    """The entry's other calls toward the site, on the lines the finding lists for it (each
    call blocks, so each is offloaded): on each line, the call of the same helper, or else
    the line's only call."""
    entry = finding.context
    if not _via_helper(finding) or entry is None:
        return []
    others: list[tuple[int, CallFacts]] = []
    for line in entry.calls:
        on_line = [
            found
            for found in context.facts.calls_on(line)
            if found.node is not call.node and found.awaitable_here
        ]
        named = [found for found in on_line if found.name == call.name]
        chosen = named or (on_line if len(on_line) == 1 else [])
        others += ((line, found) for found in chosen)
    return others


def _next_hop(finding: Finding) -> str:
    """The function the entry calls toward the finding, when the call path is the entry's
    (``call_path`` starts at the first entry only; for the others any one call will do)."""
    path = finding.call_path
    if (
        len(path) > 1
        and finding.context is not None
        and path[0].function == finding.context.function
    ):
        return path[1].function.rsplit(".", 1)[-1]
    return ""
