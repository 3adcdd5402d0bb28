"""A file cut into regions, runs of whole top-level statements: only the regions that hold
a fix are parsed with libcst, walked and written back; every other byte is copied as read.

libcst builds a Python object per node and positions cost a code generation of all that is
walked: on a 10 000-line module that is seconds per file, for fixes that touch a few lines.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import libcst as cst

__all__ = ["Region", "cut", "join"]

#: Encodings in which any run of whole lines decodes on its own (a cookie is on line 1 or 2).
_SPLITTABLE = frozenset({"utf-8", "utf-8-sig"})


#: What a region of class members is parsed under (they keep their lines and columns).
_CLASS = b"class _:"


@dataclass(frozen=True, slots=True)
class Region:
    """Lines ``first`` to ``end - 1`` (1-based) of a file, parsed; a module of their own, or,
    for members of a class, the body of a ``class _:`` line put above them."""

    first: int
    end: int
    module: cst.Module
    #: the ``class _:`` line parsed above members of a class (``b""`` for whole statements)
    prefix: bytes = b""

    @property
    def shift(self) -> int:
        """Add to a line in the region's module to get the file's line."""
        return self.first - 1 - (1 if self.prefix else 0)

    def code(self, module: cst.Module) -> bytes:
        """The region's lines as ``module`` (the region's, rewritten) writes them."""
        data = module.bytes
        assert data.startswith(self.prefix)
        return data[len(self.prefix) :]


class _Cut(NamedTuple):
    """A statement (or statements sharing lines) a region may start at."""

    first: int  # its first line (its first decorator's)
    is_import: bool
    node: ast.stmt


def _cuts(body: list[ast.stmt]) -> list[_Cut]:
    """Where each cuttable statement of ``body`` starts, and whether it is an import;
    statements sharing a line with the one before are not cut."""
    cuts: list[_Cut] = []
    last_end = 0
    for statement in body:
        decorators = getattr(statement, "decorator_list", [])
        first = min([statement.lineno, *(d.lineno for d in decorators)])
        is_import = isinstance(statement, (ast.Import, ast.ImportFrom))
        if first > last_end or not cuts:
            cuts.append(_Cut(first, is_import, statement))
        elif not is_import:
            cuts[-1] = cuts[-1]._replace(is_import=False)
        last_end = max(last_end, statement.end_lineno or statement.lineno)
    return cuts


def _head(cuts: list[_Cut]) -> int:
    """How many statements the head is: the first, the imports after it and the statement
    after those (all that libcst's ``AddImportsVisitor`` reads; see ``_rewrite``)."""
    at = min(1, len(cuts))
    while at < len(cuts) and cuts[at].is_import:
        at += 1
    return min(at + 1, len(cuts))


_Span = tuple[int, int, bool]  # first line, end line, whether class members


def _spans(
    source: bytes, lines: list[bytes], tree: ast.Module | None, wanted: Iterable[int]
) -> list[_Span]:
    """The regions to parse: runs of statements holding a wanted line, and the head; in a
    class, runs of its members when no wanted line is on the class's own lines."""
    everything = [(1, len(lines) + 1, False)]
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError:
        return everything
    if tree is None or encoding not in _SPLITTABLE:
        return everything
    cuts = _cuts(tree.body)
    if not cuts:
        return everything
    ends = [cut.first for cut in cuts[1:]] + [len(lines) + 1]
    wanted = sorted(set(wanted))
    spans: list[_Span] = []
    for index, (cut, end) in enumerate(zip(cuts, ends, strict=True)):
        first = 1 if index == 0 else cut.first  # the first region holds the file's header
        inside = [line for line in wanted if first <= line < end]
        if index < _head(cuts):
            spans.append((first, end, False))
        elif inside:
            spans += _members(cut.node, end, inside, lines) or [(first, end, False)]
    merged: list[_Span] = []
    for span in spans:
        if merged and merged[-1][1] == span[0] and merged[-1][2] == span[2]:
            merged[-1] = (merged[-1][0], span[1], span[2])
        else:
            merged.append(span)
    return merged


def _members(node: ast.stmt, end: int, wanted: list[int], lines: list[bytes]) -> list[_Span]:
    """Runs of a class's members holding the wanted lines; none when a wanted line is on
    the class's own lines (a middleware rewrite replaces the whole class), or the members
    share the ``class`` line."""
    if not isinstance(node, ast.ClassDef) or not node.body:
        return []
    cuts = _cuts(node.body)
    if not lines[cuts[0].first - 1].startswith((b" ", b"\t")):  # ``class A: x = 1``
        return []
    if any(line < cuts[0].first for line in wanted):
        return []
    ends = [cut.first for cut in cuts[1:]] + [end]
    return [
        (cut.first, stop, True)
        for cut, stop in zip(cuts, ends, strict=True)
        if any(cut.first <= line < stop for line in wanted)
    ]


def cut(source: bytes, wanted: Iterable[int]) -> tuple[list[Region], ast.Module | None]:
    """The parsed regions holding the ``wanted`` lines, and the head (where imports go), and
    the file's ``ast`` tree; the whole file is one region when it cannot be cut (no ``ast``
    tree, an encoding other than UTF-8).

    Raises ``libcst.ParserSyntaxError`` when a region does not parse.
    """
    lines = source.splitlines(keepends=True)
    try:
        tree: ast.Module | None = ast.parse(source)
    except (SyntaxError, ValueError):
        tree = None
    regions = []
    for first, end, members in _spans(source, lines, tree, wanted):
        whole = (first, end) == (1, len(lines) + 1)
        text = source if whole else b"".join(lines[first - 1 : end - 1])
        prefix = _CLASS + _newline(lines[first - 1]) if members else b""
        regions.append(Region(first, end, cst.parse_module(prefix + text), prefix))
    return regions, tree


def _newline(line: bytes) -> bytes:
    stripped = line.rstrip(b"\r\n")
    return line[len(stripped) :] or b"\n"


def join(source: bytes, regions: Iterable[tuple[Region, bytes]]) -> bytes:
    """``source`` with each region's lines replaced by its new bytes."""
    lines = source.splitlines(keepends=True)
    parts: list[bytes] = []
    at = 1
    for region, data in sorted(regions, key=lambda pair: pair[0].first):
        parts += lines[at - 1 : region.first - 1]
        parts.append(data)
        at = region.end
    parts += lines[at - 1 :]
    return b"".join(parts)
