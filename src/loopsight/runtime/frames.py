"""Read a sampled stack: collapse it, and find the culprit (innermost application frame).

Application code is any file outside the standard library, site-packages and loopsight itself.
The blocking call is read from the culprit frame's current instruction (``co_positions``), so
``time.sleep(0.2)`` is reported even though C functions have no frame of their own.
"""

from __future__ import annotations

import itertools
import linecache
import os
import site
import sys
import sysconfig
from collections.abc import Iterable
from functools import lru_cache
from types import FrameType

from loopsight.runtime.records import Culprit

__all__ = ["collapse", "current_frame_of", "is_library_file", "read_stack"]

_MAX_DEPTH = 128
_MAX_CALL_CHARS = 120


def _library_roots() -> tuple[str, ...]:
    roots: set[str] = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib", "scripts"):  # scripts: bin/uvicorn
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    roots.update(getattr(site, "getsitepackages", list)())
    user_site = getattr(site, "getusersitepackages", lambda: "")()
    if isinstance(user_site, str) and user_site:
        roots.add(user_site)
    roots.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # loopsight itself
    roots.add(os.path.dirname(os.__file__))
    return tuple(sorted({os.path.realpath(r) + os.sep for r in roots}))


_ROOTS = _library_roots()


@lru_cache(maxsize=4096)
def is_library_file(filename: str) -> bool:
    """True for the standard library, installed packages, loopsight and synthetic files."""
    if not filename or filename.startswith("<"):
        return True
    real = os.path.realpath(filename)
    return any(real.startswith(root) for root in _ROOTS)


@lru_cache(maxsize=4096)
def _display_path(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def _segment(filename: str, pos: tuple[int | None, ...]) -> str:
    """Source text between two (line, column) positions; columns are UTF-8 byte offsets."""
    start_line, end_line, start_col, end_col = pos
    if start_line is None or end_line is None or start_col is None or end_col is None:
        return ""
    lines = [linecache.getline(filename, n).encode() for n in range(start_line, end_line + 1)]
    if not lines or not all(lines):
        return ""
    if len(lines) == 1:
        raw = lines[0][start_col:end_col]
    else:
        raw = lines[0][start_col:] + b"".join(lines[1:-1]) + lines[-1][:end_col]
    return " ".join(raw.decode("utf-8", "replace").split())


def _call_text(frame: FrameType) -> str:
    """Source text of the expression the frame is executing, e.g. ``time.sleep(0.2)``."""
    code = frame.f_code
    positions = getattr(code, "co_positions", None)  # Python >= 3.11
    if positions is not None and frame.f_lasti >= 0:
        # f_lasti counts bytes; co_positions yields one entry per 2-byte code unit.
        pos = next(itertools.islice(positions(), frame.f_lasti // 2, None), None)
        text = _segment(code.co_filename, pos) if pos is not None else ""
        if text:
            return text[:_MAX_CALL_CHARS]
    lineno = frame.f_lineno or code.co_firstlineno
    return linecache.getline(code.co_filename, lineno).strip()[:_MAX_CALL_CHARS]


def _frame_name(frame: FrameType) -> str:
    code = frame.f_code
    return getattr(code, "co_qualname", code.co_name)


def _callee(frames: list[FrameType], index: int, call: str) -> str:
    if index > 0:
        below = frames[index - 1]
        module = below.f_globals.get("__name__", "")
        return f"{module}.{_frame_name(below)}" if module else _frame_name(below)
    head = call.split("(", 1)[0].strip()
    return head if head.replace(".", "").replace("_", "").isalnum() else ""


def _walk(frame: FrameType | None) -> list[FrameType]:
    frames: list[FrameType] = []
    while frame is not None and len(frames) < _MAX_DEPTH:
        frames.append(frame)
        frame = frame.f_back
    return frames


def collapse(frames: Iterable[FrameType]) -> str:
    """Outermost-first ``function (file:line)`` entries joined with ``;`` (flame-graph input)."""
    return ";".join(
        f"{_frame_name(f)} ({_display_path(f.f_code.co_filename)}:{f.f_lineno})" for f in frames
    )


def read_stack(frame: FrameType | None) -> tuple[str, Culprit | None]:
    """Collapse the stack ending at ``frame`` (innermost) and find its culprit.

    The culprit is the innermost application frame; when the whole stack is library code
    (uvicorn start-up, the loop idling in ``select`` while the process was descheduled) it is
    the innermost frame, so the stall still points somewhere.
    """
    frames = _walk(frame)
    if not frames:
        return "", None
    index = next((i for i, f in enumerate(frames) if not is_library_file(f.f_code.co_filename)), 0)
    f = frames[index]
    call = _call_text(f)
    culprit = Culprit(
        file=_display_path(f.f_code.co_filename),
        line=f.f_lineno or f.f_code.co_firstlineno,
        function=_frame_name(f),
        call=call,
        callee=_callee(frames, index, call),
    )
    return collapse(reversed(frames)), culprit


def current_frame_of(thread_id: int) -> FrameType | None:
    """The innermost frame the thread is executing (``None`` if it has gone)."""
    return sys._current_frames().get(thread_id)
