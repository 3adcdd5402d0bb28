"""Apply planned edits to one module with libcst: only the rewritten nodes change, every
other byte (comments, formatting) stays as it was."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from loopsight.check.fix._fixers import Planned
from loopsight.check.fix._model import FixKind

__all__ = ["rewrite", "still_compiles"]


def _parenthesised(node: cst.BaseExpression) -> cst.BaseExpression:
    # ``(await f()).attr``: an await as an attribute's, subscript's or call's base needs parens
    if isinstance(node, cst.Await) and not node.lpar:
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


class _Rewriter(cst.CSTTransformer):
    def __init__(self, planned: Iterable[Planned]) -> None:
        super().__init__()
        self.by_node = {id(item.node): item for item in planned}

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
        updated_node = updated_node.with_changes(func=_parenthesised(updated_node.func))
        item = self.by_node.get(id(original_node))
        if item is None:
            return updated_node
        kind = item.edit.kind
        if kind is FixKind.ASYNC_SLEEP:
            sleep = cst.parse_expression(item.edit.callee)
            return cst.Await(updated_node.with_changes(func=sleep))
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
            return cst.Await(updated_node.with_changes(func=func, args=[first, *updated_node.args]))
        return cst.Await(updated_node)  # FixKind.AWAIT

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(value=_parenthesised(updated_node.value))

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.Subscript:
        return updated_node.with_changes(value=_parenthesised(updated_node.value))


def rewrite(module: cst.Module, planned: list[Planned]) -> bytes:
    """The module's bytes with ``planned`` applied and the imports they need added."""
    changed = module.visit(_Rewriter(planned))
    context = CodemodContext()
    needed = {name for item in planned for name in item.edit.imports}
    for module_name, obj in sorted(needed, key=lambda pair: (pair[0], pair[1] or "")):
        AddImportsVisitor.add_needed_import(context, module_name, obj)
    if needed:
        changed = AddImportsVisitor(context).transform_module(changed)
    return changed.bytes


def still_compiles(data: bytes, path: str) -> bool:
    """Whether the rewritten file still compiles (parsed and compiled, never run)."""
    try:
        compile(data, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True
