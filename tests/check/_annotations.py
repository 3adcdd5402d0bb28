"""Expected findings written inline in example files, as flake8-async's eval files do.

``call()  # LS101`` expects LS101 on that line; ``# LS101, LS102`` two findings; ``# LS101: 5``
also pins the (1-based) column; ``# OK`` marks a line that must stay clean (any unannotated
line must too).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from loopsight.check import CheckConfig

__all__ = ["config_for", "expected_columns", "expected_findings"]

_CODE = r"LS\d{3}(?::\s*\d+)?"
_ANNOTATION = re.compile(rf"#\s*({_CODE}(?:\s*,\s*{_CODE})*)\s*$")
_CONFIG = re.compile(r"^# loopsight-config: ([a-z-]+)=(.*)$", re.MULTILINE)


def _annotations(files: list[Path], root: Path) -> list[tuple[str, int, str, int | None]]:
    found = []
    for file in files:
        text = file.read_bytes().decode("latin-1")  # annotations are ASCII; the rest may not be
        for number, line in enumerate(text.splitlines(), start=1):
            match = _ANNOTATION.search(line)
            if match:
                for item in re.split(r"\s*,\s*", match.group(1)):
                    code, _, column = item.partition(":")
                    where = file.relative_to(root).as_posix()
                    found.append((where, number, code, int(column) if column else None))
    return found


def expected_findings(files: list[Path], root: Path) -> Counter[tuple[str, int, str]]:
    """``(path relative to root, line, code)`` for every annotation in ``files``."""
    return Counter((path, line, code) for path, line, code, _ in _annotations(files, root))


def expected_columns(files: list[Path], root: Path) -> dict[tuple[str, int, str], int]:
    """The pinned columns: ``(path, line, code) -> column``."""
    return {
        (path, line, code): column
        for path, line, code, column in _annotations(files, root)
        if column is not None
    }


def config_for(file: Path) -> CheckConfig:
    """Options an example needs, from ``# loopsight-config: key=value`` lines."""
    options: dict[str, tuple[str, ...]] = {}
    for key, value in _CONFIG.findall(file.read_bytes().decode("latin-1")):
        options[key.replace("-", "_")] = tuple(value.split(","))
    return CheckConfig(**options)  # type: ignore[arg-type]
