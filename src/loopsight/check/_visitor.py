"""The single walk over one module: index facts, typed names, call sites and local findings.

Every rule family's structural hooks run inside this one pass (``FAMILIES[*].node_types``);
library calls are classified here, calls into names that may live in the project are kept as
references for the cross-module steps.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Any

from loopsight.check._hooks import (
    AWAITED_CALL,
    NO_DISK,
    NO_WAIT,
    OPENED_ONLY,
    call_context,
    call_seen,
)
from loopsight.check._names import CanonicalNames, display
from loopsight.check._noqa import parse_noqa
from loopsight.check._registrations import REGISTRARS, literal, registrations
from loopsight.check._scope import KERNEL_FILE, ModuleScope, last_name, scan_module_names
from loopsight.check._summary import (
    AWAITED,
    BARE,
    CALL,
    MAIN_BLOCK,
    ClassFacts,
    Decorator,
    Dependency,
    DependencyKind,
    FunctionFacts,
    Held,
    ModuleSummary,
    Site,
    Symbol,
    SymbolKind,
)
from loopsight.check.rules import FAMILIES, HOOKS
from loopsight.check.rules.offload import OFFLOAD_FUNCTIONS

__all__ = ["summarise"]

_CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})
_DEPENDS = frozenset({"Depends", "Security"})
_UNIONS = frozenset({"Optional", "Union"})
_HOOKS: dict[type[ast.AST], list[Callable[[ast.AST], Iterator[Site]]]] = {}
for _family in FAMILIES:
    for _node_type in _family.node_types:
        _HOOKS.setdefault(_node_type, []).append(_family.check_node)


#: Node types with nothing to find below them (names, literals, contexts, operators).
_LEAVES: frozenset[type] = frozenset(
    {ast.Name, ast.Constant, ast.Pass, ast.Break, ast.Continue, ast.alias, ast.Global}
    | {ast.Nonlocal}
    | {
        cls
        for cls in vars(ast).values()
        if isinstance(cls, type)
        and issubclass(cls, ast.AST)
        and issubclass(cls, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop))
    }
)
#: Fields that never hold code to walk.
_PRIMITIVE = frozenset(
    {"ctx", "op", "id", "attr", "arg", "name", "module", "level", "kind", "is_async", "names"}
    | {"type_comment", "conversion", "asname", "simple", "lineno", "col_offset"}
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _head(node: ast.expr) -> str:
    """The final name of ``name`` or ``a.b.name`` (else ``""``)."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def _validated(annotation: ast.expr | None) -> bool:
    """Whether FastAPI builds a response model from a return annotation (not ``None`` and not
    a ``Response`` class: any name ending in ``Response``)."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant):
        text = annotation.value
        return isinstance(text, str) and text != "None" and not text.endswith("Response")
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _validated(annotation.left) or _validated(annotation.right)
    if isinstance(annotation, ast.Subscript) and _head(annotation.value) in _UNIONS:
        inner = annotation.slice
        members = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return any(_validated(member) for member in members)
    if isinstance(annotation, (ast.Name, ast.Attribute)):
        return not _head(annotation).endswith("Response")
    return True


def _validates(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a route's return value goes through a response model: ``response_model=`` in a
    decorator (unless ``None``), else the return annotation."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "response_model":
                    value = keyword.value
                    return not (isinstance(value, ast.Constant) and value.value is None)
    return _validated(node.returns)


def _closed_names(finalbody: list[ast.stmt]) -> list[str]:
    """Names closed by a ``finally:`` block (``x.close()``)."""
    return [
        stmt.value.func.value.id
        for stmt in finalbody
        if isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and stmt.value.func.attr == "close"
        and isinstance(stmt.value.func.value, ast.Name)
    ]


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = tuple(f for f in kind._fields if f not in _PRIMITIVE)  # type: ignore[attr-defined]
    _CHILD_FIELDS[kind] = fields
    return fields


class _Visitor(ModuleScope, ast.NodeVisitor):
    """One walk, dispatched by node type through a dict (``NodeVisitor.visit`` builds a method
    name per node, and its ``visit_Constant`` shim is slow)."""

    def visit(self, node: ast.AST) -> None:
        handler = self.handlers.get(type(node))
        if handler is not None:
            handler(node)
        else:
            self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        kind = type(node)
        fields = _CHILD_FIELDS.get(kind)
        if fields is None:
            fields = _child_fields(kind)
        visit = self.visit
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if type(item) not in _LEAVES and isinstance(item, ast.AST):
                        visit(item)
            elif value is not None and type(value) not in _LEAVES and isinstance(value, ast.AST):
                visit(value)

    def __init__(
        self, summary: ModuleSummary, names: CanonicalNames, offload: frozenset[str]
    ) -> None:
        self.handlers: dict[type, Callable[[Any], None]] = {
            getattr(ast, name[6:]): getattr(self, name)
            for name in vars(type(self))  # not NodeVisitor's own (slow) visit_Constant
            if name.startswith("visit_") and isinstance(getattr(ast, name[6:], None), type)
        }
        super().__init__(summary, names)
        self.offload = offload
        self.prefix = ""
        self.awaited: ast.AST | None = None
        self.lazy_init = 0
        self.flagged = 0  # under ``if settings.DEBUG:``-style flags
        self.loop_guarded = 0  # after ``if not can_block(): raise``-style checks
        self.cached = False  # in a ``functools.cache``/``lru_cache`` function
        self.lock_body = ""  # the body kind of the ``with lock:`` being classified
        self.tree: ast.Module | None = None
        self.opened_only: ast.expr | None = None  # the ``with`` call whose body is empty
        self.defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] | None = None
        self.bare: ast.AST | None = None
        #: Resources open around the current statement of the current function (refs).
        self.held: list[str] = []

    # -- hot expression nodes: walked without the generic field loop ----------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        while type(value) is ast.Attribute:
            value = value.value
        if type(value) not in _LEAVES:
            self.visit(value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        for child in (node.value, node.slice):
            if type(child) not in _LEAVES:
                self.visit(child)

    def visit_keyword(self, node: ast.keyword) -> None:
        if type(node.value) not in _LEAVES:
            self.visit(node.value)

    def visit_Tuple(self, node: ast.Tuple | ast.List) -> None:
        for child in node.elts:
            if type(child) not in _LEAVES:
                self.visit(child)

    visit_List = visit_Tuple

    def visit_Compare(self, node: ast.Compare) -> None:
        for child in (node.left, *node.comparators):
            if type(child) not in _LEAVES:
                self.visit(child)

    def visit_If(self, node: ast.If) -> None:
        if self.function is None and self.klass is None and _is_main_block(node.test):
            self._main_block(node)
            return
        if type(node.test) not in _LEAVES:
            self.visit(node.test)
        test = node.test
        lazy = (  # ``if self._pool is None:`` creates something once, not per call
            isinstance(test, ast.Compare)
            and isinstance(test.ops[0], ast.Is)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
        )
        flag = _is_dev_flag(test)
        if lazy and _mentions_loop(test):  # ``if loop is None: asyncio.run(...)``: no loop runs
            lazy, flag = False, True
        windows = _windows_branch(test)  # 1: the body runs on Windows only, -1: the else
        flag = flag or windows > 0
        self.lazy_init += lazy
        self.flagged += flag
        for stmt in node.body:
            self.visit(stmt)
        self.lazy_init -= lazy
        self.flagged -= flag
        self.flagged += windows < 0
        for stmt in node.orelse:
            self.visit(stmt)
        self.flagged -= windows < 0

    # -- statements ----------------------------------------------------------------------------
    def visit_Module(self, node: ast.Module) -> None:
        self.tree = node
        scan_module_names(node.body, self.module_names)
        for stmt in node.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self._import(stmt, self.module_imports)
        for name in list(self.module_imports):
            if name in self.module_names:
                del self.module_imports[name]  # also assigned: resolve it late
        self.generic_visit(node)
        # the visitor is a cycle (its handlers): let the tree go now, not at the next collection
        self.tree = self.defs = None

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        bound: dict[str, str] = {}
        self._import(node, bound)
        for name, ref in bound.items():
            self._bind(name, ref)

    visit_ImportFrom = visit_Import

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        ref = self._wrapped(node) or self._ref(node.value)
        if ref is not None and not self.scopes and self.klass is None:
            self._router_prefix(node, ref)
        for target in node.targets:
            if not isinstance(target, ast.Name):
                self.visit(target)
            self._bind_target(target, ref)
        if len(node.targets) == 1:
            self._dependency_alias(node.targets[0], node.value)

    def _wrapped(self, node: ast.Assign) -> str | None:
        """``app = CORSMiddleware(app, ...)``, ``app = loopsight.instrument(app)``: a wrapper
        bound to the name it wraps keeps that name's value, so decorators and later uses still
        see the app (or client) it was."""
        value, targets = node.value, node.targets
        if not (isinstance(value, ast.Call) and value.args and len(targets) == 1):
            return None
        target, first = targets[0], value.args[0]
        if not (isinstance(target, ast.Name) and isinstance(first, ast.Name)):
            return None
        if target.id != first.id:
            return None
        previous = self._lookup(first.id)
        if not self.scopes and self.klass is None:  # module level: the value bound so far
            symbol = self.summary.symbols.get(first.id)
            previous = symbol[1] if symbol is not None and symbol[0] == "ref" else None
        callee = self._ref(value.func) or ""
        if previous is None or callee.startswith("builtins."):
            return None
        return previous

    def _dependency_alias(self, target: ast.expr, value: ast.expr) -> None:
        """``SessionDep = Annotated[Session, Depends(get_session)]`` at module level."""
        if self.scopes or self.klass is not None or not isinstance(target, ast.Name):
            return
        dependency = self._annotated_dependency(value)
        if dependency is not None:
            self.summary.dependency_aliases[target.id] = dependency

    def _dependency(self, node: ast.expr | None) -> str | None:
        """The function ``Depends(f)`` / ``Security(f)`` names."""
        if not isinstance(node, ast.Call) or _head(node.func) not in _DEPENDS:
            return None
        keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
        target = node.args[0] if node.args else keywords.get("dependency")
        return self._ref(target) if isinstance(target, (ast.Name, ast.Attribute)) else None

    def _annotated_dependency(self, node: ast.expr | None) -> str | None:
        """The function ``Annotated[T, Depends(f)]`` names."""
        if not isinstance(node, ast.Subscript) or _head(node.value) != "Annotated":
            return None
        inner = node.slice
        for extra in inner.elts[1:] if isinstance(inner, ast.Tuple) else ():
            found = self._dependency(extra)
            if found is not None:
                return found
        return None

    def _router_prefix(self, node: ast.Assign, ref: str) -> None:
        value = node.value
        if isinstance(value, ast.Call) and last_name(ref.removesuffix("()")) == "APIRouter":
            prefix = next((literal(k.value) for k in value.keywords if k.arg == "prefix"), None)
            for target in node.targets:
                if prefix and isinstance(target, ast.Name):
                    self.summary.prefixes[target.id] = prefix

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        ref = self._annotation(node.annotation)
        if ref is None and node.value is not None:
            ref = self._ref(node.value)
        if node.value is not None or self.scopes:
            self._bind_target(node.target, ref)
        if node.value is not None:
            self._dependency_alias(node.target, node.value)

    def visit_For(self, node: ast.For) -> None:
        for hook in _HOOKS.get(ast.For, ()):
            self._sites(hook(node))
        self.generic_visit(node)
        self._bind_target(node.target, None)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        if self.function is not None:
            self.function.awaits = True
        self.generic_visit(node)
        self._bind_target(node.target, None)

    def _comprehension(self, node: ast.GeneratorExp | ast.ListComp | ast.SetComp) -> None:
        for hook in _HOOKS.get(type(node), ()):
            self._sites(hook(node))
        self.generic_visit(node)

    visit_GeneratorExp = visit_ListComp = visit_SetComp = _comprehension

    def visit_comprehension(self, node: ast.comprehension) -> None:
        for hook in _HOOKS.get(ast.comprehension, ()):
            self._sites(hook(node))
        if node.is_async and self.function is not None:
            self.function.awaits = True
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        held = len(self.held)
        empty = all(_is_empty(stmt) for stmt in node.body)
        for item in node.items:
            if empty:  # ``with os.scandir(path): pass``: opened and closed, nothing read
                self.opened_only = item.context_expr
            self.visit(item.context_expr)
            self.opened_only = None
            ref = self._ref(item.context_expr)
            if ref is not None and not isinstance(item.context_expr, ast.Call):
                # ``with lock:`` acquires: treat it as a call of ``acquire``
                self.lock_body = _lock_body(node.body, self._lock_call)
                self._call_site(self._attr(ref, "acquire"), item.context_expr, CALL)
                self.lock_body = ""
            elif ref is not None and self.function is not None:
                self.held.append(ref)  # ``with SessionLocal() as session:`` holds it open
            if item.optional_vars is not None:
                self._bind_target(item.optional_vars, ref)
        for stmt in node.body:
            self.visit(stmt)
        del self.held[held:]

    def visit_Try(self, node: ast.Try) -> None:
        held = len(self.held)
        if self.function is not None:  # ``x = SessionLocal()`` + ``try: ... finally: x.close()``
            for name in _closed_names(node.finalbody):
                ref = self._lookup(name)
                if ref is not None:
                    self.held.append(ref)
        for stmt in node.body:
            self.visit(stmt)
        del self.held[held:]
        for part in (node.handlers, node.orelse, node.finalbody):
            for child in part:
                self.visit(child)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        if self.function is not None:
            self.function.awaits = True
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._bind_target(item.optional_vars, None)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Await(self, node: ast.Await) -> None:
        if self.function is not None:
            self.function.awaits = True
        self.awaited = node.value
        self.visit(node.value)

    def visit_Expr(self, node: ast.Expr) -> None:
        self.bare = node.value
        self.visit(node.value)

    def visit_Return(self, node: ast.Return) -> None:
        if node.value is not None:
            self.visit(node.value)
            if self.function is not None and self.function.returns is None:
                self.function.returns = self._ref(node.value)

    def visit_Yield(self, node: ast.Yield) -> None:
        function = self.function
        if function is not None and not function.is_async:
            for ref in self.held:
                held = Held(ref, node.lineno)
                if held not in function.held:
                    function.held.append(held)
        if node.value is not None:
            self.visit(node.value)
            if self.function is not None and self.function.returns is None:
                self.function.returns = self._ref(node.value)

    # -- definitions ---------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        qualname = self.prefix + node.name
        facts = FunctionFacts(
            qualname,
            node.lineno,
            node.col_offset,
            isinstance(node, ast.AsyncFunctionDef),
            self.klass.qualname if self.klass is not None and not self.scopes else None,
        )
        self.summary.functions[qualname] = facts
        for decorator in node.decorator_list:
            self.visit(decorator)
            self._decorator(facts, decorator)
        args = node.args
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)
        scope = self._parameters(facts, args)
        if node.returns is not None:
            facts.returns = self._annotation(node.returns)
        facts.validates = _validates(node)
        self._define(node.name, "function", qualname)
        cached = any(decorator.ref in _CACHING for decorator in facts.decorators)
        self._walk_body(facts, scope, node.body, cached)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _walk_body(
        self, facts: FunctionFacts, scope: dict[str, str | None], body: list[ast.stmt], cached: bool
    ) -> None:
        """Walk ``body`` as the body of the function ``facts`` describes."""
        saved = (self.function, self.prefix, self.awaited, self.bare, self.held)
        self.function, self.prefix, self.held = facts, facts.qualname + ".", []
        self.scopes.append(scope)
        guarded, was_cached = self.loop_guarded, self.cached
        self.cached = cached
        for stmt in body:
            self.visit(stmt)
            self.loop_guarded += _is_loop_guard(stmt)
        self.loop_guarded, self.cached = guarded, was_cached
        self.scopes.pop()
        self.function, self.prefix, self.awaited, self.bare, self.held = saved

    def _main_block(self, node: ast.If) -> None:
        """``if __name__ == "__main__":`` at module level, walked as a sync function named
        ``MAIN_BLOCK``: a coroutine it hands to ``asyncio.run`` runs on a loop of its own."""
        facts = FunctionFacts(MAIN_BLOCK, node.lineno, node.col_offset, False)
        self.summary.functions[MAIN_BLOCK] = facts
        self._walk_body(facts, {}, node.body, cached=False)
        for stmt in node.orelse:
            self.visit(stmt)

    def _define(self, name: str, kind: SymbolKind, qualname: str) -> None:
        """Bind ``name`` to a function or class defined in the current scope."""
        symbol: Symbol = (kind, qualname)
        if self.function is not None:
            self.function.nested[name] = symbol
            self._bind(name, f"{self.module}:{qualname}")
        elif self.klass is not None:
            self.klass.members[name] = symbol
        else:
            self.summary.symbols[name] = symbol

    def _parameters(self, facts: FunctionFacts, args: ast.arguments) -> dict[str, str | None]:
        scope: dict[str, str | None] = {}
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults += args.defaults
        pairs = [
            *zip(positional, defaults, strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
        ]
        for index, (arg, default) in enumerate(pairs):
            ref = self._annotation(arg.annotation) if arg.annotation is not None else None
            if ref is None and isinstance(default, ast.Call) and default.args:
                head = self._ref(default.func)
                if head is not None and last_name(head) in ("Depends", "Security"):
                    target = self._ref(default.args[0])
                    ref = None if target is None else self._call(target)
            decorators = {last_name(d.ref) for d in facts.decorators if d.ref}
            bound = index == 0 and facts.class_qualname is not None and ref is None
            if bound and "staticmethod" not in decorators:
                owner = f"{self.module}:{facts.class_qualname}"
                ref = owner if "classmethod" in decorators else owner + "()"
            scope[arg.arg] = ref
            self._framework_parameter(facts, arg, default)
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                scope[extra.arg] = None
        return scope

    def _framework_parameter(
        self, facts: FunctionFacts, arg: ast.arg, default: ast.expr | None
    ) -> None:
        """Record a parameter a dependency fills, or whose annotation may be an alias of one."""
        where = (arg.arg, arg.lineno, arg.col_offset)
        dependency = self._dependency(default) or self._annotated_dependency(arg.annotation)
        if dependency is not None:
            facts.dependencies.append(Dependency(DependencyKind.DEPENDS, dependency, *where))
        elif isinstance(arg.annotation, (ast.Name, ast.Attribute)):
            ref = self._ref(arg.annotation)
            root = (ref or "").partition(".")[0]
            if ref is not None and (
                ":" in ref or (root not in self.known_roots and root not in self.ignorable_roots)
            ):
                facts.dependencies.append(Dependency(DependencyKind.ANNOTATION, ref, *where))

    def _decorator(self, facts: FunctionFacts, node: ast.expr) -> None:
        if isinstance(node, ast.Call):
            ref = self._ref(node.func)
            methods = next(
                (
                    ",".join(literal(e) or "" for e in kw.value.elts)
                    for kw in node.keywords
                    if kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple))
                ),
                None,
            )
            first = literal(node.args[0]) if node.args else None
            if first is None:
                first = next((literal(k.value) for k in node.keywords if k.arg == "path"), None)
            facts.decorators.append(Decorator(ref, first, methods, node.lineno))
        else:
            ref = self._ref(node)
            if ref in _CONTEXT_MANAGERS:
                facts.context_manager = True
            facts.decorators.append(Decorator(ref, None, None, node.lineno))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        qualname = self.prefix + node.name
        facts = ClassFacts(qualname, node.lineno, node.col_offset)
        self.summary.classes[qualname] = facts
        for decorator in node.decorator_list:
            self.visit(decorator)
        for base in node.bases:
            self.visit(base)
            ref = self._ref(base)
            if ref is not None:
                facts.bases.append(ref)
        self._define(node.name, "class", qualname)
        saved = (self.klass, self.prefix, self.scopes, self.function, self.held)
        self.klass, self.prefix, self.scopes, self.function = facts, qualname + ".", [], None
        self.held = []
        for stmt in node.body:
            self.visit(stmt)
        self.klass, self.prefix, self.scopes, self.function, self.held = saved

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.scopes.append({arg.arg: None for arg in node.args.args})
        self.visit(node.body)
        self.scopes.pop()

    # -- calls ---------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        mode = AWAITED if node is self.awaited else BARE if node is self.bare else CALL
        ref = self._ref(node.func)
        offloaded = False
        if ref is not None:
            last = last_name(ref)
            if last in REGISTRARS:
                scheduler = self.function.qualname if self.function is not None else ""
                self.summary.registrations.extend(registrations(last, node, self._ref, scheduler))
            offloaded = last in self.offload
            self._call_site(ref, node, mode)
            if ref in _LOOP_RUNNERS and node.args:
                # ``anyio.run(main, x)`` makes ``main(x)`` and runs it on a loop of its own,
                # as ``asyncio.run(main(x))`` does: the same call, seen the same way
                runs = self._ref(node.args[0])
                if runs is not None:
                    self._call_site(runs, node.args[0], CALL)
        self.visit(node.func)
        for arg in node.args:
            if not (offloaded and isinstance(arg, ast.Lambda)):  # runs off the loop
                self.visit(arg)
        for keyword in node.keywords:
            self.visit(keyword.value)

    def _call_site(self, ref: str, node: ast.expr, mode: int) -> None:
        function = self.function
        if function is None:
            return
        root = ref.partition(".")[0]
        if ":" in ref or (root not in self.known_roots and root not in self.ignorable_roots):
            # what the call's hook will see once it is resolved
            mode |= (self._context() | self._shape(node, mode)) << 2
            function.calls.append((ref, node.lineno, node.col_offset, mode))
        elif root in self.known_roots:
            code = self.names.classify(ref)
            if code is not None:
                hook = HOOKS.on_call.get(code)
                if hook is not None:
                    context = self._context() | self._shape(node, mode)
                    code = hook(call_seen(code, ref, node.lineno, node.col_offset, context))
            if code is not None:
                function.sites.append(Site(code, node.lineno, node.col_offset, display(ref)))
            if mode == BARE and self.names.is_coroutine_function(ref):
                for dropped in HOOKS.dropped_coroutine:
                    function.sites.extend(dropped(display(ref), node.lineno, node.col_offset))

    def _shape(self, node: ast.expr, mode: int) -> int:
        """What the call's own shape says (``_hooks.CallSeen``): awaited, on no disk, asked
        not to wait."""
        shape = AWAITED_CALL if mode == AWAITED else 0
        if type(node) is not ast.Call:
            return shape
        if node is self.opened_only:
            shape |= OPENED_ONLY
        args = node.args
        if args:
            first = args[0]
            kind = type(first)  # a buffer made or named, a kernel path: not ``self.path``
            if (
                kind in _MAYBE_NO_DISK
                or (isinstance(first, ast.Attribute) and first.attr == "devnull")
            ) and self._ref(first) in _NO_DISK:
                shape |= NO_DISK
            if len(args) > 1 and any(_names_wnohang(arg) for arg in args[1:]):
                shape |= NO_WAIT
        for keyword in node.keywords:
            value = keyword.value
            if type(value) is ast.Constant and (
                (keyword.arg in _BLOCK_FLAGS and value.value is False)
                or (keyword.arg == "timeout" and value.value == 0)
            ):
                shape |= NO_WAIT
        return shape

    def _lock_call(self, node: ast.Call) -> list[ast.stmt] | bool:
        """What a call inside a ``with lock:`` body does while the lock is held: ``True`` when
        it may wait (a library call the catalogue knows blocks, or project code of another
        module), the body of a function of this module it calls (read in turn), else ``False``
        (container and clock methods, constructors, library calls not known to block, values
        of unknown type)."""
        ref = self._ref(node.func)
        if ref is None:
            return False
        if ":" not in ref:
            return self.names.classify(ref) is not None
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _MEMORY_CALLS:
            return False  # ``self._items.get(key)``: a container of the project's
        module, _, qualname = ref.replace("()", "").partition(":")  # ``m:C()._x``: ``C._x``
        if module != self.module:
            return True
        defs = self._module_defs()
        # a class of this module: its ``__init__`` (none: an empty body)
        found = defs.get(qualname + ".__init__") or defs.get(qualname)
        if found is not None:
            return found.body
        owner, _, rest = qualname.partition(".")
        attr, _, method = rest.partition(".")
        facts = self.summary.classes.get(owner)
        held = facts.instance_attrs.get(attr) if facts is not None and method else None
        if held is not None:  # ``self._conn.execute(...)`` with ``self._conn = connect(...)``
            held = f"{held}.{method}"
            return ":" in held or self.names.classify(held) is not None
        # a method a class of this module inherits, an attribute of unknown type it holds
        # (``self.clock()``), a value of a type alias: unknown, like any value of unknown type
        return False

    def _module_defs(self) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
        """This module's functions and methods by qualname, read once, when a lock needs it."""
        if self.defs is None:
            self.defs = {}
            todo: list[tuple[str, list[ast.stmt]]] = [("", self.tree.body if self.tree else [])]
            while todo:
                prefix, body = todo.pop()
                for stmt in body:
                    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.defs[prefix + stmt.name] = stmt
                        todo.append((f"{prefix}{stmt.name}.", stmt.body))
                    elif isinstance(stmt, ast.ClassDef):
                        self.defs[prefix + stmt.name] = _NO_BODY
                        todo.append((f"{prefix}{stmt.name}.", stmt.body))
        return self.defs

    def _context(self) -> int:
        """The packed :func:`call_context` of a call at the current point of the walk."""
        if not (
            self.lazy_init or self.cached or self.flagged or self.loop_guarded or self.lock_body
        ):
            return 0
        lazy = self.lazy_init > 0
        guard = "flag" if self.flagged else "loop" if self.loop_guarded else ""
        return call_context(lazy, lazy or self.cached, guard, self.lock_body)

    def _sites(self, found: Iterator[Site]) -> None:
        if self.function is not None:
            self.function.sites.extend(found)


#: Functions that take an async function, call it and run the coroutine on a new loop.
_LOOP_RUNNERS = frozenset({"anyio.run", "trio.run", "uvloop.run"})
#: In-memory files and kernel files: a call given one waits for no disk.
_NO_DISK = frozenset({"io.BytesIO()", "io.StringIO()", "os.devnull", KERNEL_FILE})
#: The first arguments that may be one (not ``self.path``: not followed).
_MAYBE_NO_DISK = frozenset({ast.Call, ast.Name, ast.Constant, ast.JoinedStr})
#: Keywords that ask a wait not to wait when ``False``.
_BLOCK_FLAGS = frozenset({"block", "blocking"})


def _names_wnohang(node: ast.expr) -> bool:
    """``os.WNOHANG`` (or ``WNOHANG``, or ``os.WNOHANG | os.WUNTRACED``)."""
    if type(node) is ast.BinOp:
        return _names_wnohang(node.left) or _names_wnohang(node.right)
    name = node.attr if type(node) is ast.Attribute else getattr(node, "id", "")
    return name == "WNOHANG"


#: What :meth:`_Visitor._module_defs` holds for a class: a function whose body says nothing.
_NO_BODY = ast.FunctionDef("", ast.arguments([], [], None, [], [], None, []), [], [])
#: Decorators that make a function's body run once per argument set.
_CACHING = frozenset({"functools.cache", "functools.lru_cache", "functools.cached_property"})
#: Upper-case flag names that mean "development or tests only".
_DEV_FLAGS = frozenset({"DEBUG", "TESTING", "DEVELOPMENT_MODE", "DEV_MODE", "DEV"})
#: Words in a predicate's name that say it tests for a running loop.
_LOOP_WORDS = ("running_loop", "can_block", "in_async", "event_loop", "is_async_context")
#: Calls a lock body may make and still only touch memory (container and clock methods).
_MEMORY_CALLS = frozenset(
    [
        "append",
        "appendleft",
        "extend",
        "insert",
        "pop",
        "popleft",
        "popitem",
        "get",
        "setdefault",
        "update",
        "add",
        "discard",
        "remove",
        "clear",
        "copy",
        "items",
        "keys",
        "values",
        "count",
        "index",
        "len",
        "int",
        "str",
        "float",
        "bool",
        "dict",
        "list",
        "set",
        "tuple",
        "frozenset",
        "isinstance",
        "min",
        "max",
        "sum",
        "sorted",
        "id",
        "hash",
        "monotonic",
        "time",
        "perf_counter",
        "move_to_end",
    ]
)


def _is_dev_flag(test: ast.expr) -> bool:
    """``if settings.DEBUG:`` / ``if TESTING:`` / ``if app.debug and ...:``."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_is_dev_flag(value) for value in test.values)
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return isinstance(name, str) and name.upper() in _DEV_FLAGS and name.isupper()


def _is_main_block(test: ast.expr) -> bool:
    """``__name__ == "__main__"``."""
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and _constant_in(test.comparators[0], {"__main__"})
    )


def _windows_branch(test: ast.expr) -> int:
    """1 when ``test`` holds on Windows only (``sys.platform == "win32"``, ``os.name == "nt"``,
    ``platform.system() == "Windows"``, ``sys.platform.startswith("win")``, ``IS_WINDOWS``),
    -1 when it holds everywhere else (``!=``, ``not``), else 0."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return -_windows_branch(test.operand)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        right = test.comparators[0]
        if not (_constant_in(right, _WINDOWS_NAMES) and _platform_value(test.left)):
            return 0
        op = type(test.ops[0])
        return 1 if op in (ast.Eq, ast.Is) else -1 if op in (ast.NotEq, ast.IsNot) else 0
    if isinstance(test, ast.Call):
        func = test.func
        windows = (
            isinstance(func, ast.Attribute)
            and func.attr == "startswith"
            and _platform_value(func.value)
            and bool(test.args)
            and _constant_in(test.args[0], {"win"})
        )
        return 1 if windows else 0
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return 1 if name.lstrip("_") in _WINDOWS_FLAGS else 0


def _constant_in(node: ast.expr, values: frozenset[str] | set[str]) -> bool:
    return isinstance(node, ast.Constant) and node.value in values


#: What ``sys.platform``, ``os.name`` and ``platform.system()`` say on Windows.
_WINDOWS_NAMES = frozenset({"win32", "nt", "Windows", "cygwin"})
#: Module constants that say the process runs on Windows.
_WINDOWS_FLAGS = frozenset({"IS_WINDOWS", "ON_WINDOWS", "WINDOWS", "IS_WIN", "WIN32", "is_windows"})


def _platform_value(node: ast.expr) -> bool:
    """``sys.platform``, ``os.name`` or ``platform.system()``."""
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr == "system"
    return (
        isinstance(node, ast.Attribute)
        and node.attr in ("platform", "name")
        and getattr(node.value, "id", "") in ("sys", "os")
    )


def _is_loop_guard(stmt: ast.stmt) -> bool:
    """``if not can_block_current_thread(): raise ...`` (or ``return``) before the call, or
    ``try: asyncio.get_running_loop() except RuntimeError: pass else: raise ...``."""
    if isinstance(stmt, ast.If):
        return _leaves(stmt.body) and _mentions_loop(stmt.test)
    if isinstance(stmt, ast.Try):
        return _leaves(stmt.orelse) and any(_mentions_loop(part) for part in stmt.body)
    return False


def _leaves(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Raise, ast.Return))


def _mentions_loop(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
        if isinstance(name, str) and (name == "loop" or any(w in name for w in _LOOP_WORDS)):
            return True
    return False


def _lock_body(body: list[ast.stmt], call: Callable[[ast.Call], list[ast.stmt] | bool]) -> str:
    """``memory`` when a ``with lock:`` body only reads and writes objects in memory,
    ``lazy`` when it is a double-checked ``if x is None:`` init, else ``""``."""
    if len(body) == 1 and isinstance(body[0], ast.If):
        test = body[0].test
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.ops[0], ast.Is)
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value is None
        ):
            return "memory" if _memory_only(body, call) else "lazy"
    return "memory" if _memory_only(body, call) else ""


def _is_empty(stmt: ast.stmt) -> bool:
    """``pass``, ``...`` or a docstring."""
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
    )


def _memory_only(
    body: list[ast.stmt], call: Callable[[ast.Call], list[ast.stmt] | bool], depth: int = 0
) -> bool:
    """Whether the body, and the functions of this module it calls (three deep), only touch
    objects in memory: no wait of its own, no call the catalogue knows blocks, no call into
    project code of another module (it may block; its body is not read here)."""
    if all(_is_empty(stmt) for stmt in body):
        return depth > 0  # ``with lock: pass`` waits for whoever holds it: a real wait
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Await, ast.With)) or (
                isinstance(node, (ast.Yield, ast.YieldFrom)) and not depth  # held while away
            ):
                return False
            if isinstance(node, ast.Call):
                does = call(node)
                if does is True or (
                    does and (depth >= 2 or not _memory_only(does, call, depth + 1))
                ):
                    return False
    return True


def _reads_memory_only(
    body: list[ast.stmt], call: Callable[[ast.Call], list[ast.stmt] | bool], depth: int
) -> bool:
    """A called function's body, read when the walk is not three deep yet."""
    return depth < 2 and _memory_only(body, call, depth + 1)


def summarise(
    tree: ast.Module,
    text: str,
    name: str,
    path: str,
    is_package: bool,
    names: CanonicalNames,
    offload: frozenset[str] = OFFLOAD_FUNCTIONS,
) -> ModuleSummary:
    """Walk ``tree`` once and return the module's summary."""
    summary = ModuleSummary(name, path, is_package, text.count("\n") + 1)
    _Visitor(summary, names, offload).visit(tree)
    summary.noqa = parse_noqa(text)
    return summary
