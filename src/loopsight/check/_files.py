"""From command-line paths to source files with module names; bad input becomes LS0xx."""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from loopsight.check._summary import InputError

__all__ = ["DEFAULT_EXCLUDE", "MAX_FILE_BYTES", "SourceFile", "decode", "discover", "parse"]

MAX_FILE_BYTES = 8 * 1024 * 1024
DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".loopsight_cache",
    "__pycache__",
    "__pypackages__",
    "node_modules",
    "site-packages",
    "build",
    "dist",
    # test and script trees: their code runs under pytest or its own `asyncio.run`, not on a
    # server's loop (``exclude`` replaces this whole list, ``extend-exclude`` adds to it)
    "tests",
    "test",
    "testing",
    "*-tests",
    "*_tests",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "scripts",
    "benchmarks",
    "noxfile.py",
)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to check: where it is, how to show it, its module name, or why it is unusable."""

    path: str
    shown: str
    module: str
    is_package: bool
    error: InputError | None = None


class _Exclusions:
    """Exclude patterns: plain names by set lookup, globs by one compiled expression."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        import fnmatch
        import re

        globbing = [p for p in patterns if any(c in p for c in "*?[/")]
        self.names = frozenset(p for p in patterns if p not in globbing)
        self.glob = (
            re.compile("|".join(fnmatch.translate(p) for p in globbing)) if globbing else None
        )

    def __call__(self, name: str, rel: str) -> bool:
        if name in self.names:
            return True
        glob = self.glob
        return glob is not None and (glob.match(name) is not None or glob.match(rel) is not None)


def _module_name(file: Path, anchor: Path) -> tuple[str, bool]:
    """Dotted name relative to ``anchor`` (namespace dirs count), or by ``__init__.py`` climb."""
    is_package = file.name == "__init__.py"
    try:
        parts = list(file.relative_to(anchor).with_suffix("").parts)
    except ValueError:
        parts = []
        top = file.parent
        while (top / "__init__.py").is_file():
            parts.insert(0, top.name)
            top = top.parent
        parts.append(file.stem)
    if parts and parts[-1] == "__init__":
        parts.pop()
    name = ".".join(part for part in parts if part.isidentifier())
    return (name or file.stem), is_package


def _anchor(root: Path) -> Path:
    """The import root of a directory: its ``src/`` in a src layout, else itself (or parent)."""
    if (root / "__init__.py").is_file():
        top = root
        while (top.parent / "__init__.py").is_file():
            top = top.parent
        return top.parent
    src = root / "src"
    return src if src.is_dir() and not (src / "__init__.py").exists() else root


def _show(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def discover(paths: list[str], exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> list[SourceFile]:
    """Every ``.py``/``.pyi``-free Python source under ``paths``, each once, sorted."""
    found: dict[str, SourceFile] = {}
    excluded = _Exclusions(exclude)
    for raw in paths:
        root = Path(raw)
        if root.is_file() or (root.is_symlink() and not root.exists()):
            _add_file(found, root, _anchor(root.parent))
            continue
        if not root.is_dir():
            raise FileNotFoundError(raw)
        anchor = _anchor(root)
        seen_dirs: set[tuple[int, int]] = set()
        for current, dirs, files in os.walk(root, followlinks=True):
            here = Path(current)
            try:
                info = here.stat()
            except OSError:
                dirs[:] = []
                continue
            key = (info.st_dev, info.st_ino)
            if key in seen_dirs:  # a symlink back into the tree
                link = SourceFile(str(here), _show(here), here.name, False)
                found[str(here)] = _loop(link)
                dirs[:] = []
                continue
            seen_dirs.add(key)
            rel_dir = here.relative_to(root).as_posix()
            dirs[:] = sorted(
                d for d in dirs if not excluded(d, d if rel_dir == "." else f"{rel_dir}/{d}")
            )
            for name in sorted(files):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if name.endswith(".py") and not excluded(name, rel):
                    _add_file(found, here / name, anchor)
    return sorted(found.values(), key=lambda source: source.path)


def _loop(source: SourceFile) -> SourceFile:
    error = InputError("LS006", 1, 0, "symbolic link loop; skipped")
    return SourceFile(source.path, source.shown, source.module, False, error)


def _add_file(found: dict[str, SourceFile], file: Path, anchor: Path) -> None:
    module, is_package = _module_name(file, anchor)
    source = SourceFile(str(file), _show(file), module, is_package)
    if file.is_symlink():
        try:
            file.resolve(strict=True)
        except RuntimeError:
            source = _loop(source)
        except OSError:
            error = InputError("LS003", 1, 0, "cannot read file: broken symbolic link")
            source = SourceFile(source.path, source.shown, module, is_package, error)
    found[str(file)] = source


def decode(data: bytes) -> str | InputError:
    """Source text from bytes (PEP 263 cookie honoured), or the input error."""
    if len(data) > MAX_FILE_BYTES:
        return InputError("LS005", 1, 0, f"file is {len(data):_} bytes (limit {MAX_FILE_BYTES:_})")
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        return InputError("LS004", line, 0, "file contains a NUL byte; not Python source")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        import io
        import tokenize  # only for the rare file that is not UTF-8

        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            if encoding in ("utf-8", "utf-8-sig"):
                raise utf8_error from None
            text = data.decode(encoding)
        except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
            error = exc if isinstance(exc, UnicodeDecodeError) else utf8_error
            line = data.count(b"\n", 0, error.start) + 1
            return InputError(
                "LS002", line, 0, f"cannot decode file as {error.encoding}: {error.reason}"
            )
    return text[1:] if text.startswith("\ufeff") else text


#: PEP 695 forms (``def f[T](...)``, ``class C[T]:``, ``type X = ...``) on one line each.
_TYPE_PARAMS = re.compile(r"^([ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+\w+)(\[[^\]\n]*\])", re.M)
_USES_TYPE_PARAMS = re.compile(
    r"^[ \t]*(?:(?:async[ \t]+)?(?:def|class)[ \t]+\w+[ \t]*\[|type[ \t]+\w+[ \t]*[\[=])", re.M
)
_TYPE_ALIAS = re.compile(r"^([ \t]*)type[ \t]+(\w+)[ \t]*(?:\[[^\]\n]*\])?[ \t]*=", re.M)


def parse(text: str | bytes, filename: str) -> ast.Module | InputError:
    """The module's AST, or the syntax error as an input error."""
    try:
        return ast.parse(text, filename)
    except SyntaxError as exc:
        newer = _newer_syntax(text, filename) if sys.version_info < (3, 12) else None
        if newer is not None:
            return newer
        message = "syntax error: " + (exc.msg or "invalid syntax").splitlines()[0]
        return InputError("LS001", exc.lineno or 1, max((exc.offset or 1) - 1, 0), message)
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = "nesting too deep" if isinstance(exc, RecursionError) else type(exc).__name__
        return InputError("LS001", 1, 0, f"syntax error: cannot parse ({reason})")


def _newer_syntax(data: str | bytes, filename: str) -> ast.Module | InputError | None:
    """A file using PEP 695 generics on an older interpreter: parsed with its type parameters
    blanked (line numbers kept), or an error saying which Python reads it; ``None`` when the
    file does not use them."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    blanked = _TYPE_PARAMS.sub(lambda m: m.group(1) + " " * len(m.group(2)), text)
    blanked = _TYPE_ALIAS.sub(r"\1\2 =", blanked)
    if _USES_TYPE_PARAMS.search(text) is None:
        return None
    try:
        return ast.parse(blanked, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = (exc.lineno or 1) if isinstance(exc, SyntaxError) else 1
        message = (
            f"needs Python >= 3.12 to read (PEP 695 type parameters; this is "
            f"{sys.version_info.major}.{sys.version_info.minor}): run loopsight under 3.12+"
        )
        return InputError("LS001", line, 0, message)
