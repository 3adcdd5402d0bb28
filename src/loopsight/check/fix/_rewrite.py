"""Apply planned edits to one module with libcst: only the rewritten nodes change, every
other byte (comments, formatting) stays as it was."""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import TypeVar

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from loopsight.check.fix._fixers import Planned
from loopsight.check.fix._model import FixKind
from loopsight.check.fix._regions import Region, join

__all__ = ["rewrite", "still_compiles"]


def _parenthesised(node: cst.BaseExpression) -> cst.BaseExpression:
    # ``(await f()).attr``: an await as an attribute's, subscript's or call's base needs parens
    if isinstance(node, cst.Await) and not node.lpar:
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


def _awaited(call: cst.Call) -> cst.Await:
    """``await call`` inside the call's own parentheses: ``x = (\n    f()\n)`` keeps its
    first line (an ``await`` before the parenthesis would change a line the finding does not
    name)."""
    return cst.Await(call.with_changes(lpar=[], rpar=[]), lpar=call.lpar, rpar=call.rpar)


_Based = TypeVar("_Based", cst.Call, cst.Attribute, cst.Subscript)


def _with_base(node: _Based, field: str) -> _Based:
    """``node`` with its base (callee or value) parenthesised if it became an ``await``; the
    same node when nothing changed (a copy would rebuild every node above it)."""
    base = getattr(node, field)
    wrapped = _parenthesised(base)
    return node if wrapped is base else node.with_changes(**{field: wrapped})


class _Rewriter(cst.CSTTransformer):
    """Rewrites the planned nodes; walks down only into the nodes that hold one (``paths``:
    the ids of every node on the way from the module to a planned node), so a fix in a
    10 000-line module visits a few hundred nodes and rebuilds only the ones above it."""

    def __init__(self, planned: Iterable[Planned], paths: Container[int]) -> None:
        super().__init__()
        self.by_node = {id(item.node): item for item in planned}
        self.paths = paths

    def on_visit(self, node: cst.CSTNode) -> bool:
        inside = isinstance(node, cst.Module) or id(node) in self.paths
        return inside and super().on_visit(node)

    def _declaration(
        self, original: cst.CSTNode, updated: cst.FunctionDef | cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        """A function or class: replaced whole (middleware), made sync, or kept."""
        item = self.by_node.get(id(original))
        if item is not None and item.replacement is not None:
            replacement = item.replacement
            assert isinstance(replacement, (cst.BaseStatement, cst.FlattenSentinel))
            return replacement
        if item is not None and item.edit.kind is FixKind.SYNC_DEF:
            return updated.with_changes(asynchronous=None)
        return updated

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._declaration(original_node, updated_node)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        return self._declaration(original_node, updated_node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        updated_node = _with_base(updated_node, "func")
        item = self.by_node.get(id(original_node))
        if item is None:
            return updated_node
        kind = item.edit.kind
        if kind is FixKind.ASYNC_SLEEP:
            sleep = cst.parse_expression(item.edit.callee)
            return _awaited(updated_node.with_changes(func=sleep))
        if kind is FixKind.OFFLOAD:
            func = cst.parse_expression(item.edit.callee)
            # one argument a line stays so: the callee gets a line of its own
            spacing = updated_node.whitespace_before_args
            after: cst.BaseParenthesizableWhitespace = (
                spacing
                if isinstance(spacing, cst.ParenthesizedWhitespace)
                else cst.SimpleWhitespace(" ")
            )
            first = cst.Arg(
                updated_node.func,
                comma=cst.Comma(whitespace_after=after)
                if updated_node.args
                else cst.MaybeSentinel.DEFAULT,
            )
            return _awaited(updated_node.with_changes(func=func, args=[first, *updated_node.args]))
        return _awaited(updated_node)  # FixKind.AWAIT

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return _with_base(updated_node, "value")

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.Subscript:
        return _with_base(updated_node, "value")


def rewrite(
    source: bytes, regions: list[Region], planned: list[Planned], paths: Container[int]
) -> bytes:
    """The file's bytes with ``planned`` applied and the imports they need added: each
    region holding an edit is rewritten, the rest copied; ``paths``: the ids of the nodes
    that hold a planned node (see :class:`_Rewriter`)."""
    needed = {name for item in planned for name in item.edit.imports}
    rewriter = _Rewriter(planned, paths)
    done: list[tuple[Region, bytes]] = []
    for region in regions:
        imports = needed if region.first == 1 else set()
        if id(region.module) not in paths and not imports:
            continue
        changed = region.module.visit(rewriter)
        if imports:
            changed = _with_imports(changed, imports)
        done.append((region, region.code(changed)))
    return join(source, done)


def _with_imports(module: cst.Module, needed: set[tuple[str, str | None]]) -> cst.Module:
    """``module`` with the ``needed`` imports, placed and merged by libcst's
    ``AddImportsVisitor``, run on the module's head only: that visitor reads and changes no
    more than the leading docstring, the import lines after it and the first statement after
    those (the head region always holds them, see ``_regions``), and walking a whole large
    module (twice, with matchers) costs seconds."""
    body = module.body
    end = min(1, len(body))  # the first statement is read whatever it is (a docstring?)
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    head = module.with_changes(body=body[: end + 1])
    context = CodemodContext()
    for module_name, obj in sorted(needed, key=lambda pair: (pair[0], pair[1] or "")):
        AddImportsVisitor.add_needed_import(context, module_name, obj)
    done = AddImportsVisitor(context).transform_module(head)
    return module.with_changes(body=[*done.body, *body[end + 1 :]])


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], (cst.Import, cst.ImportFrom))
    )


def still_compiles(data: bytes, path: str) -> bool:
    """Whether the rewritten file still compiles (parsed and compiled, never run)."""
    try:
        compile(data, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True
