"""What the fixer needs to know about one module, read from its libcst tree with positions."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import PositionProvider

from loopsight.check.fix._regions import Region

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
    #: calls by the line they start on, with their column
    lines: dict[int, list[tuple[int, CallFacts]]] = field(default_factory=dict)
    #: each node's parent, by id (the rewriter walks down only toward the nodes it rewrites)
    parents: dict[int, int] = field(default_factory=dict)

    def holding(self, nodes: Iterable[cst.CSTNode]) -> set[int]:
        """The ids of ``nodes`` and of every node that holds one of them."""
        found: set[int] = set()
        for node in nodes:
            at: int | None = id(node)
            while at is not None and at not in found:
                found.add(at)
                at = self.parents.get(at)
        return found

    def imports_from(self, module: str) -> None:
        """Note ``from module import ...``."""
        top = module.split(".")[0]
        if top in _FRAMEWORKS and self.framework != "fastapi":
            self.framework = top

    def imports(self, name: str, bound: str | None) -> None:
        """Note an imported ``name`` (bound to ``bound`` when aliased)."""
        self.imports_from(name)
        self.imported.add(bound if bound is not None else name.split(".")[0])

    def calls_on(self, line: int) -> list[CallFacts]:
        """The calls starting on ``line``, left to right."""
        return [call for _, call in sorted(self.lines.get(line, ()), key=lambda pair: pair[0])]

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

    def __init__(self, facts: ModuleFacts, shift: int = 0) -> None:
        super().__init__()
        self.facts = facts
        self.shift = shift  # lines of the file above the region walked
        # each scope: the function it is (None for a lambda, generator or class body)
        self.scopes: list[FunctionFacts | None] = []
        self.path: list[int] = []  # ids of the nodes from the module down to the one visited

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.path:
            self.facts.parents[id(node)] = self.path[-1]
        self.path.append(id(node))
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        self.path.pop()

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
        start, end = where.start.line + self.shift, where.end.line + self.shift
        facts = FunctionFacts(node, node.name.value, start, end, node.asynchronous is not None)
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
        self.facts.classes.append((node.name.value, where.start.line + self.shift, node))
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
        line = start.line + self.shift
        self.facts.calls.setdefault((line, start.column), []).append(call)
        self.facts.lines.setdefault(line, []).append((start.column, call))

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self.facts.imports(_dotted(alias.name), _bound(alias))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.facts.imports_from(_dotted(node.module) if node.module is not None else "")
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            self.facts.imports(_dotted(alias.name), _bound(alias))


def _bound(alias: cst.ImportAlias) -> str | None:
    bound = alias.asname.name if alias.asname is not None else None
    return bound.value if isinstance(bound, cst.Name) else None


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def collect(regions: Iterable[Region], tree: ast.Module | None) -> ModuleFacts:
    """Walk each region once (lines are the file's); imports are read from the whole file's
    ``ast`` tree (the regions may not hold them all)."""
    facts = ModuleFacts()
    if tree is not None:
        _imports(tree, facts)
    for region in regions:
        wrapper = cst.MetadataWrapper(region.module, unsafe_skip_copy=True)
        wrapper.visit(_Collector(facts, region.shift))
    return facts


def _imports(tree: ast.Module, facts: ModuleFacts) -> None:
    """Every import in the module, as the collector notes them (it walks only some)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                facts.imports(alias.name, alias.asname)
        elif isinstance(node, ast.ImportFrom):
            facts.imports_from(node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    break
                facts.imports(alias.name, alias.asname)
