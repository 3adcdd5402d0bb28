"""Expected findings written inline in example files, as flake8-async's eval files do.

``call()  # LS101`` expects LS101 on that line; ``# LS101, LS102`` two findings; ``# LS101: 5``
also pins the (1-based) column; ``# LS101 [route: GET /items]`` also pins how the function
holding the finding is reached (its context kind, and route label when it has one:
``[async_function]`` pins a kind alone); ``# OK`` marks a line that must stay clean (any
unannotated line must too).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from loopsight.check import CheckConfig

__all__ = ["Expected", "annotations", "config_for", "expected_findings"]

_CODE = r"LS\d{3}(?::\s*\d+)?"
_CONTEXT = r"\[([a-z_]+)(?::\s*([^\]]+?))?\]"
_ANNOTATION = re.compile(rf"#\s*({_CODE}(?:\s*,\s*{_CODE})*)(?:\s*{_CONTEXT})?\s*$")
_CONFIG = re.compile(r"^# loopsight-config: ([a-z-]+)=(.*)$", re.MULTILINE)


class Expected(NamedTuple):
    """One expected finding: where, which code, and what the annotation pins beyond that."""

    path: str
    line: int
    code: str
    column: int | None
    context: tuple[str, str | None] | None


def annotations(files: list[Path], root: Path) -> list[Expected]:
    """Every annotation in ``files`` (paths relative to ``root``)."""
    found = []
    for file in files:
        text = file.read_bytes().decode("latin-1")  # annotations are ASCII; the rest may not be
        where = file.relative_to(root).as_posix()
        for number, line in enumerate(text.splitlines(), start=1):
            match = _ANNOTATION.search(line)
            if not match:
                continue
            codes, kind, route = match.groups()
            context = (kind, route) if kind else None
            for item in re.split(r"\s*,\s*", codes):
                code, _, column = item.partition(":")
                found.append(
                    Expected(where, number, code, int(column) if column else None, context)
                )
    return found


def expected_findings(files: list[Path], root: Path) -> Counter[tuple[str, int, str]]:
    """``(path relative to root, line, code)`` for every annotation in ``files``."""
    return Counter((item.path, item.line, item.code) for item in annotations(files, root))


def config_for(file: Path) -> CheckConfig:
    """Options an example needs, from ``# loopsight-config: key=value`` lines."""
    options: dict[str, tuple[str, ...]] = {}
    for key, value in _CONFIG.findall(file.read_bytes().decode("latin-1")):
        options[key.replace("-", "_")] = tuple(value.split(","))
    return CheckConfig(**options)  # type: ignore[arg-type]
