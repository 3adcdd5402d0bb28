"""LS2xx: CPU-heavy work on the loop (loops over large literal ranges, known heavy functions)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import ClassVar

from loopsight.check._summary import Site
from loopsight.check.rules._registry import Methods, Rule, RuleFamily, instance, register

__all__ = ["LARGE_RANGE", "CpuHeavy"]

#: A literal ``range`` at least this long is treated as CPU-heavy when it runs on the loop.
LARGE_RANGE = 100_000

_FIX = "run it in a worker: `await run_in_threadpool(fn, ...)` or a process pool executor"


def _constant(node: ast.expr) -> int | None:
    """The value of an integer literal expression such as ``10**6`` or ``1_000 * 1_000``."""
    if isinstance(node, ast.Constant):
        value = node.value
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.Mult, ast.Add)):
        left, right = _constant(node.left), _constant(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Pow):
            return left**right if 0 <= right <= 64 and abs(left) <= 1 << 16 else None
        return left * right if isinstance(node.op, ast.Mult) else left + right
    return None


def _is_range(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and 1 <= len(node.args) <= 3
        and not node.keywords
    )


def _arithmetic(node: ast.expr | None) -> bool:
    """Pure number crunching: names and literals joined by arithmetic operators, no calls."""
    if isinstance(node, ast.BinOp):
        return _arithmetic(node.left) and _arithmetic(node.right)
    if isinstance(node, ast.UnaryOp):
        return _arithmetic(node.operand)
    return isinstance(node, (ast.Name, ast.Constant))


def _unbounded(node: ast.expr) -> bool:
    """``range(n)`` whose bound is not a literal and not a ``len(...)`` of something in hand."""
    if not _is_range(node):
        return False
    assert isinstance(node, ast.Call)
    stop = node.args[0] if len(node.args) == 1 else node.args[1]
    is_len = isinstance(stop, ast.Call) and getattr(stop.func, "id", "") == "len"
    return _constant(stop) is None and not is_len


def _shown(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _range_length(node: ast.expr) -> int | None:
    if not _is_range(node):
        return None
    assert isinstance(node, ast.Call)
    values = [_constant(arg) for arg in node.args]
    if any(value is None for value in values):
        return None
    numbers = [value for value in values if value is not None]
    start, stop = (0, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
    step = numbers[2] if len(numbers) == 3 else 1
    return (stop - start) // step if step > 0 else None


@register
class CpuHeavy(RuleFamily):
    """Loops over large literal ranges and known slow-by-design functions (key derivation)."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule("LS201", "large-loop", "CPU-heavy loop over a large range", _FIX),
        Rule(
            "LS203",
            "arithmetic-loop",
            "CPU-bound arithmetic loop over `{callee}`",
            _FIX,
        ),
        Rule(
            "LS202",
            "cpu-heavy-call",
            "CPU-heavy call",
            "`await run_in_threadpool(fn, ...)` (these functions release the GIL)",
        ),
    )
    calls: ClassVar[dict[str, str]] = {
        "hashlib.pbkdf2_hmac": "LS202",
        "hashlib.scrypt": "LS202",
        "bcrypt.hashpw": "LS202",
        "bcrypt.checkpw": "LS202",
        "bcrypt.kdf": "LS202",
        "crypt.crypt": "LS202",
    }
    methods: ClassVar[dict[str, Methods]] = {
        "passlib.context.CryptContext()": instance(
            "LS202", "hash verify verify_and_update encrypt"
        ),
        "argon2.PasswordHasher()": instance("LS202", "hash verify"),
    }
    node_types: ClassVar[tuple[type[ast.AST], ...]] = (
        ast.For,
        ast.comprehension,
        ast.GeneratorExp,
        ast.ListComp,
        ast.SetComp,
    )

    def check_node(self, node: ast.AST) -> Iterator[Site]:
        """Flag loops over ``range(N)`` with a large literal ``N`` (LS201), and pure arithmetic
        over ``range(n)`` of a size only known at run time (LS203, the seeds' CPU task)."""
        if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
            first = node.generators[0]
            if _arithmetic(node.elt) and not first.ifs and _unbounded(first.iter):
                yield Site("LS203", first.iter.lineno, first.iter.col_offset, _shown(first.iter))
            return
        assert isinstance(node, (ast.For, ast.comprehension))
        length = _range_length(node.iter)
        if length is not None and length >= LARGE_RANGE:
            yield Site("LS201", node.iter.lineno, node.iter.col_offset, f"range({length:_})")
        elif isinstance(node, ast.For) and _unbounded(node.iter) and _crunches(node.body):
            yield Site("LS203", node.iter.lineno, node.iter.col_offset, _shown(node.iter))


def _crunches(body: list[ast.stmt]) -> bool:
    """A loop body that only updates numbers (``total += i * i``)."""
    return all(
        isinstance(stmt, (ast.AugAssign, ast.Assign)) and _arithmetic(stmt.value) for stmt in body
    )
