"""Per-file summaries cached by content hash, so a re-check re-parses only edited files.

Two ``marshal`` files under the cache directory: a large *base* rewritten rarely, and a small
*delta* (entries added since, plus each file's size and mtime) rewritten on every run, so that
a re-check after one edit writes kilobytes, not the whole tree's summaries. A file whose size
and mtime are unchanged is not even read.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from loopsight.check._summary import ModuleSummary, summary_from_tuple, summary_to_tuple

__all__ = ["SummaryCache", "content_key"]

_VERSION = f"loopsight-check-11-{sys.implementation.cache_tag}"  # marshal is per-version
_BASE = "check-base.marshal"
_DELTA = "check-delta.marshal"
#: Rewrite the base when the delta holds more entries than this.
_MAX_DELTA = 64

Stamp = tuple[int, int, str]  # size, mtime_ns, content key


def content_key(data: bytes, shown: str, module: str, is_package: bool, config: str) -> str:
    """The cache key of one file: its bytes and everything else its summary depends on."""
    digest = hashlib.blake2b(data, digest_size=16)
    digest.update("\0".join([_VERSION, shown, module, config]).encode())
    digest.update(b"p" if is_package else b"m")
    return digest.hexdigest()


def _load(file: Path) -> dict[str, Any]:
    try:
        loaded = marshal.loads(file.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}  # a missing or stale cache is an empty one
    if not isinstance(loaded, dict) or loaded.get("version") != _VERSION:
        return {}
    try:
        loaded["entries"] = {k: summary_from_tuple(v) for k, v in loaded["entries"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        return {}
    return loaded


def _dump(file: Path, entries: dict[str, ModuleSummary], **extra: Any) -> None:
    import tempfile  # only when something changed

    data = {"version": _VERSION, "entries": {k: summary_to_tuple(v) for k, v in entries.items()}}
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(marshal.dumps({**data, **extra}))
    os.replace(tmp, file)


class SummaryCache:
    """Summaries by content key, and the last seen size/mtime of each file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        base = _load(directory / _BASE)
        delta = _load(directory / _DELTA) if base else {}
        self.base: dict[str, ModuleSummary] = base.get("entries", {})
        self.entries: dict[str, ModuleSummary] = {**self.base, **delta.get("entries", {})}
        self.stamps: dict[str, Stamp] = delta.get("stamps", {})
        self.new_stamps: dict[str, Stamp] = {}
        self.used: dict[str, ModuleSummary] = {}
        self.fresh = 0

    def by_stamp(
        self, stamp_key: str, size: int, mtime_ns: int
    ) -> tuple[str, ModuleSummary] | None:
        """The cached key and summary of a file whose size and mtime have not changed."""
        stamp = self.stamps.get(stamp_key)
        if stamp is None or stamp[0] != size or stamp[1] != mtime_ns:
            return None
        summary = self.get(stamp[2])
        if summary is None:
            return None
        self.new_stamps[stamp_key] = stamp
        return stamp[2], summary

    def get(self, key: str) -> ModuleSummary | None:
        """The cached summary for ``key``, marking it as used."""
        summary = self.entries.get(key)
        if summary is not None:
            self.used[key] = summary
        return summary

    def put(self, key: str, summary: ModuleSummary) -> None:
        """Remember a fresh summary."""
        self.used[key] = summary
        self.fresh += 1

    def stamp(self, stamp_key: str, size: int, mtime_ns: int, key: str) -> None:
        """Remember a file's size and mtime with its content key."""
        self.new_stamps[stamp_key] = (size, mtime_ns, key)

    def save(self) -> None:
        """Write the delta (and the base when the delta has grown or the base went stale)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            delta = {k: v for k, v in self.used.items() if k not in self.base}
            stale = len(self.base) - (len(self.used) - len(delta))
            if not self.base or len(delta) > _MAX_DELTA or stale > len(self.used) // 2:
                _dump(self.directory / _BASE, self.used)
                delta = {}
            elif not self.fresh and self.new_stamps == self.stamps:
                return  # nothing changed
            _dump(self.directory / _DELTA, delta, stamps=self.new_stamps)
        except OSError:
            pass  # a read-only tree still gets checked, just not cached
