"""Names in one module: what each name refers to, as a reference string, while walking it.

Imports become absolute names, module-level names deferred ``"module:name"`` references,
parameters and locals the type they are bound to (``s = requests.Session()``,
``db: Session = Depends(get_db)``), ``self.x = ...`` in methods instance attributes.
"""

from __future__ import annotations

import ast

from loopsight.check._names import CanonicalNames
from loopsight.check._summary import ClassFacts, FunctionFacts, ModuleSummary

__all__ = ["KERNEL_FILE", "ModuleScope", "last_name", "scan_module_names"]

#: The value of a path under ``/proc`` or ``/sys`` (``"/proc/meminfo"``): reading it costs
#: no disk wait. Not a dotted name, so nothing resolves it as a module.
KERNEL_FILE = "<kernel-file>"
_KERNEL_DIRS = ("/proc/", "/sys/")

_WRAPPERS = frozenset(
    {"Optional", "Annotated", "Union", "Generator", "Iterator", "AsyncGenerator", "AsyncIterator"}
)


def _kernel_path(node: ast.expr) -> bool:
    """``"/proc/meminfo"`` or ``f"/sys/fs/cgroup/{name}"``."""
    if type(node) is ast.JoinedStr and node.values:
        node = node.values[0]
    return type(node) is ast.Constant and str(node.value).startswith(_KERNEL_DIRS)


def last_name(ref: str) -> str:
    """The final name of a reference: ``"m:app.get"`` -> ``"get"``."""
    return ref.rpartition(".")[2].rpartition(":")[2]


def scan_module_names(body: list[ast.stmt], into: set[str]) -> None:
    """Names bound at module level (including inside top-level ``if``/``try`` blocks)."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            into.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    into.add(target.id)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            into.add(stmt.target.id)
        elif isinstance(stmt, (ast.If, ast.Try)):
            scan_module_names(stmt.body, into)
            scan_module_names(stmt.orelse, into)
            if isinstance(stmt, ast.Try):
                scan_module_names(stmt.finalbody, into)
                for handler in stmt.handlers:
                    scan_module_names(handler.body, into)


class ModuleScope:
    """The name bindings of one module as the walk goes through it."""

    def __init__(self, summary: ModuleSummary, names: CanonicalNames) -> None:
        self.summary = summary
        self.module = summary.name
        self.names = names
        self.known_roots = names.known_roots
        self.ignorable_roots = names.ignorable_roots
        self.module_names: set[str] = set()
        self.module_imports: dict[str, str] = {}
        self.scopes: list[dict[str, str | None]] = []
        self.function: FunctionFacts | None = None
        self.klass: ClassFacts | None = None

    def _package(self, level: int) -> str:
        parts = self.module.split(".")
        keep = len(parts) - level + (1 if self.summary.is_package else 0)
        return ".".join(parts[: max(keep, 0)])

    def _is_library(self, ref: str) -> bool:
        return ":" not in ref and ref.partition(".")[0] in self.known_roots

    def _lookup(self, name: str) -> str | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        imported = self.module_imports.get(name)
        if imported is not None:
            return imported
        if name in self.module_names or self.summary.stars:
            return f"{self.module}:{name}"
        return "builtins." + name

    def _attr(self, base: str, attr: str) -> str:
        if self._is_library(base):
            return self.names.attr(base, attr)
        return f"{base}.{attr}"

    def _call(self, base: str) -> str:
        return self.names.call(base) if self._is_library(base) else base + "()"

    def _ref(self, node: ast.expr) -> str | None:
        kind = type(node)
        if kind is ast.Name:
            return self._lookup(node.id)  # type: ignore[attr-defined]
        if kind is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            base = self._ref(node.value)
            return None if base is None else self._attr(base, node.attr)
        if kind is ast.Call:
            assert isinstance(node, ast.Call)
            base = self._ref(node.func)
            if base is None:
                return None
            if base == "functools.partial":
                return self._ref(node.args[0]) if node.args else None
            if base == "pathlib.Path" and node.args and _kernel_path(node.args[0]):
                return KERNEL_FILE  # ``Path("/proc/meminfo").read_text()`` waits for no disk
            return self._call(base)
        if kind is ast.Subscript:
            assert isinstance(node, ast.Subscript)
            base = self._ref(node.value)
            return None if base is None else self._attr(base, "__getitem__")
        if kind is ast.BinOp:
            assert isinstance(node, ast.BinOp)
            # ``path / "name"`` keeps the path's type; other operators yield unknown values
            return self._ref(node.left) if isinstance(node.op, ast.Div) else None
        if kind is ast.BoolOp:
            assert isinstance(node, ast.BoolOp)
            return self._either(node.values)
        if kind is ast.IfExp:
            assert isinstance(node, ast.IfExp)
            if _kernel_path(node.body) and _kernel_path(node.orelse):
                return KERNEL_FILE
            return self._either([node.body, node.orelse])
        if (kind is ast.Constant or kind is ast.JoinedStr) and _kernel_path(node):
            return KERNEL_FILE
        return None

    def _either(self, values: list[ast.expr]) -> str | None:
        """The value of ``a or b()`` / ``a if c else b()``: the first branch that is a call's
        result (the client built when the default is missing), else the first known one."""
        known: str | None = None
        for value in values:
            if isinstance(value, ast.Constant):
                continue
            ref = self._ref(value)
            if ref is not None and ref.endswith(")"):
                return ref
            known = known or ref
        return known

    def _annotation(self, node: ast.expr | None) -> str | None:
        """The instance type an annotation names (``Annotated[Session, ...]`` -> Session)."""
        while isinstance(node, ast.Subscript):
            head = node.value
            name = head.id if isinstance(head, ast.Name) else getattr(head, "attr", "")
            if name not in _WRAPPERS:
                return None
            inner = node.slice
            node = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            right_none = isinstance(node.right, ast.Constant) and node.right.value is None
            node = node.left if right_none else node.right
        if isinstance(node, (ast.Name, ast.Attribute)):
            base = self._ref(node)
            return None if base is None else self._call(base)
        return None

    def _bind(self, name: str, ref: str | None) -> None:
        if self.scopes:
            self.scopes[-1][name] = ref
        elif self.klass is not None:
            if ref is not None:
                self.klass.members[name] = ("ref", ref)
        else:
            self.summary.symbols[name] = ("ref", ref) if ref is not None else ("unknown", "")

    def _bind_target(self, target: ast.expr, ref: str | None) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, ref)
        elif isinstance(target, ast.Attribute):
            owner = target.value
            if (
                isinstance(owner, ast.Name)
                and owner.id == "self"
                and ref is not None
                and self.function is not None
                and self.function.class_qualname is not None
            ):
                klass = self.summary.classes.get(self.function.class_qualname)
                if klass is not None:
                    klass.instance_attrs.setdefault(target.attr, ref)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, None)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, None)

    def _import(self, node: ast.Import | ast.ImportFrom, into: dict[str, str]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    into[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    into[top] = top
            return
        base = node.module or ""
        if node.level:
            package = self._package(node.level)
            base = f"{package}.{base}" if base and package else (base or package)
        for alias in node.names:
            if alias.name == "*":
                if base and base not in self.summary.stars and not self.scopes:
                    self.summary.stars.append(base)
                continue
            into[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
