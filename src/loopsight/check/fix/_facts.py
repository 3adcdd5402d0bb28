"""What the fixer needs to know about one module, read from its libcst tree with positions."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

__all__ = ["CallFacts", "FunctionFacts", "ModuleFacts", "collect"]

#: Calls that need the running loop: a function making them cannot move to a thread.
_LOOP_BOUND = frozenset(
    {
        "get_running_loop",
        "get_event_loop",
        "create_task",
        "ensure_future",
        "run_coroutine_threadsafe",
    }
)
#: Modules whose import makes a file a FastAPI/Starlette app (``run_in_threadpool`` is there).
_FRAMEWORKS = ("fastapi", "starlette")


@dataclass(slots=True)
class FunctionFacts:
    """A ``def``: where it is, whether it is async and whether its own body awaits."""

    node: cst.FunctionDef
    name: str
    start: int
    end: int
    is_async: bool
    awaits: bool = False
    loop_bound: bool = False  # calls something that needs the running loop


@dataclass(frozen=True, slots=True)
class CallFacts:
    """A call: its callee's last name and whether ``await`` may be written in front of it."""

    node: cst.Call
    name: str
    awaitable_here: bool


@dataclass(slots=True)
class ModuleFacts:
    """Calls by start position (line, 0-based character column), functions, imports."""

    calls: dict[tuple[int, int], list[CallFacts]] = field(default_factory=dict)
    functions: list[FunctionFacts] = field(default_factory=list)
    #: classes by name, with the line their ``class`` keyword is on
    classes: list[tuple[str, int, cst.ClassDef]] = field(default_factory=list)
    framework: str | None = None
    imported: set[str] = field(default_factory=set)

    def function_at(self, name: str, line: int) -> FunctionFacts | None:
        """The innermost function called ``name`` whose lines hold ``line``."""
        around = [f for f in self.functions if f.name == name and f.start <= line <= f.end]
        return max(around, key=lambda f: f.start) if around else None

    def declared_at(self, name: str, line: int) -> cst.FunctionDef | cst.ClassDef | None:
        """The function or class called ``name`` declared at ``line`` (or decorated from it)."""
        found: list[tuple[int, cst.FunctionDef | cst.ClassDef]] = [
            (f.start, f.node) for f in self.functions if f.name == name and f.start >= line
        ]
        found += [(start, node) for n, start, node in self.classes if n == name and start >= line]
        return min(found, key=lambda pair: pair[0])[1] if found else None


def callee_name(func: cst.BaseExpression) -> str:
    """The last dotted name of a callee (``""`` for anything else)."""
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, facts: ModuleFacts) -> None:
        super().__init__()
        self.facts = facts
        # each scope: the function it is (None for a lambda, generator or class body)
        self.scopes: list[FunctionFacts | None] = []

    def _function(self) -> FunctionFacts | None:
        for scope in reversed(self.scopes):
            if scope is not None:
                return scope
        return None

    def _mark_await(self) -> None:
        function = self._function()
        if function is not None:
            function.awaits = True

    def _mark_loop_bound(self) -> None:
        function = self._function()
        if function is not None:
            function.loop_bound = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        where = self.get_metadata(PositionProvider, node)
        facts = FunctionFacts(
            node, node.name.value, where.start.line, where.end.line, node.asynchronous is not None
        )
        self.facts.functions.append(facts)
        self.scopes.append(facts)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.scopes.append(None)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self.scopes.append(None)  # an await here would make it an async generator

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self.scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        where = self.get_metadata(PositionProvider, node)
        self.facts.classes.append((node.name.value, where.start.line, node))
        self.scopes.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_Await(self, node: cst.Await) -> None:
        self._mark_await()

    def visit_For(self, node: cst.For) -> None:
        if node.asynchronous is not None:
            self._mark_await()

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None:
            self._mark_await()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if node.asynchronous is not None:
            self._mark_await()

    def visit_Call(self, node: cst.Call) -> None:
        start = self.get_metadata(PositionProvider, node).start
        scope = self.scopes[-1] if self.scopes else None
        here = scope is not None and scope.is_async
        call = CallFacts(node, callee_name(node.func), here)
        if call.name in _LOOP_BOUND:
            self._mark_loop_bound()
        self.facts.calls.setdefault((start.line, start.column), []).append(call)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self._imported(_dotted(alias.name), alias)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = _dotted(node.module) if node.module is not None else ""
        self._framework(module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            self._imported(_dotted(alias.name), alias)

    def _imported(self, name: str, alias: cst.ImportAlias) -> None:
        self._framework(name)
        bound = alias.asname.name if alias.asname is not None else None
        self.facts.imported.add(bound.value if isinstance(bound, cst.Name) else name.split(".")[0])

    def _framework(self, module: str) -> None:
        top = module.split(".")[0]
        if top in _FRAMEWORKS and self.facts.framework != "fastapi":
            self.facts.framework = top


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def collect(wrapper: cst.MetadataWrapper) -> ModuleFacts:
    """Walk the module once."""
    facts = ModuleFacts()
    wrapper.visit(_Collector(facts))
    return facts
