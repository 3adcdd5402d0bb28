"""``[tool.loopsight]`` in pyproject.toml: rule selection, exclusions and project extensions."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopsight.errors import LoopsightError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

__all__ = ["CheckConfig", "find_config", "load_config", "reach_kinds"]

_KEYS = {
    "select",
    "ignore",
    "exclude",
    "extend-exclude",
    "reach",
    "extra-blocking-calls",
    "extra-offload-functions",
    "extra-route-decorators",
}


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """What to report and what the project adds to the built-in knowledge."""

    select: tuple[str, ...] = ("LS",)
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] | None = None  # ``None``: the default list (as in ruff)
    extend_exclude: tuple[str, ...] = ()
    #: Entry-point kinds to report findings for (``route``, ``dependency``, ...); ``None``: all.
    reach: tuple[str, ...] | None = None
    extra_blocking_calls: tuple[str, ...] = ()
    extra_offload_functions: tuple[str, ...] = ()
    extra_route_decorators: tuple[str, ...] = ()
    source: str | None = field(default=None, compare=False)

    def enabled(self, code: str, severity: str = "blocking", category: str = "blocking") -> bool:
        """Whether ``code`` is selected (longest matching prefix wins, as in ruff).

        A category word (``blocking``, ``design``) in ``select``/``ignore`` matches like a
        one-letter prefix. ``possible`` findings are reported only when ``select`` names their
        code in full or holds the word ``possible``.
        """
        words = (category, "possible") if severity == "possible" else (category,)
        chosen = max((_weight(p, code, words) for p in self.select), default=0)
        dropped = max((_weight(p, code, words) for p in self.ignore), default=0)
        if chosen == 0:
            return False
        if severity == "possible" and not any(p in (code, "possible") for p in self.select):
            return False
        return chosen > dropped

    def fingerprint(self) -> str:
        """What of the configuration changes per-file summaries (part of the cache key)."""
        return "|".join(
            [",".join(self.extra_blocking_calls), ",".join(self.extra_offload_functions)]
        )


def _weight(pattern: str, code: str, words: tuple[str, ...]) -> int:
    """How specifically ``pattern`` names a finding (0: not at all)."""
    if pattern.lower() in words:
        return 1
    return len(pattern) if code.startswith(pattern) else 0


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LoopsightError(f"{where}: [tool.loopsight] {key} must be a list of strings")
    return tuple(value)


def load_config(path: Path) -> CheckConfig:
    """Read ``[tool.loopsight]`` from one pyproject.toml (defaults when the table is absent)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LoopsightError(f"{path}: cannot read configuration: {exc}") from None
    table = data.get("tool", {}).get("loopsight", {})
    if not isinstance(table, dict):
        raise LoopsightError(f"{path}: [tool.loopsight] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise LoopsightError(f"{path}: unknown [tool.loopsight] key {unknown[0]!r}")
    where = str(path)
    return CheckConfig(
        select=_strings(table, "select", where) or ("LS",),
        ignore=_strings(table, "ignore", where),
        exclude=_strings(table, "exclude", where) if "exclude" in table else None,
        extend_exclude=_strings(table, "extend-exclude", where),
        reach=reach_kinds(_strings(table, "reach", where), where) if "reach" in table else None,
        extra_blocking_calls=_strings(table, "extra-blocking-calls", where),
        extra_offload_functions=_strings(table, "extra-offload-functions", where),
        extra_route_decorators=_strings(table, "extra-route-decorators", where),
        source=where,
    )


def reach_kinds(kinds: tuple[str, ...], where: str) -> tuple[str, ...]:
    """``kinds`` checked against the entry-point kinds (``where`` names the input on error)."""
    from loopsight.check._hooks import EntryKind

    known = [kind.label for kind in EntryKind]
    for kind in kinds:
        if kind not in known:
            raise LoopsightError(
                f"{where}: {kind!r} is not an entry-point kind: use {', '.join(known)}"
            )
    return kinds


def find_config(start: Path) -> CheckConfig:
    """The configuration of the nearest pyproject.toml at or above ``start``."""
    here = start.resolve()
    for directory in (here, *here.parents) if here.is_dir() else here.parents:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return load_config(candidate)
    return CheckConfig()
