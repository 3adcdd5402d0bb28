"""Per-request records streamed to a file (``--records``): CSV or JSON lines, by extension.

Written a chunk at a time as the run goes, in the order the requests finished, so the run keeps
nothing per request in memory. Columns: ``start_s, end_s, latency_s, status, bytes, error``
(seconds since the run started; ``status`` 0 and ``error`` set for a failed request).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from loopsight.errors import LoopsightError

__all__ = ["RECORD_FIELDS", "RawRecord", "RecordsFile", "open_records"]

RawRecord = tuple[float, float, int, int, str | None]  # start, end (perf_counter), status, ...
RECORD_FIELDS = ("start_s", "end_s", "latency_s", "status", "bytes", "error")
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_MIN_FREE = 1 << 20  # a location with less room than this is full before the run starts


class RecordsFile:
    """An open records file; :meth:`write` raises :class:`OSError` as the file system does."""

    def __init__(self, path: Path, stream: TextIO, kind: str) -> None:
        self.path = path
        self._stream = stream
        self._csv = csv.writer(stream, lineterminator="\n") if kind == "csv" else None
        self.written = 0

    def write(self, chunk: Sequence[RawRecord], t0: float) -> None:
        """Append ``chunk``, with times made relative to ``t0``."""
        rows = (
            (s - t0, e - t0, (e - t0) - (s - t0), status, nbytes, error)
            for s, e, status, nbytes, error in chunk
        )
        if self._csv is not None:
            self._csv.writerows((*row[:5], row[5] or "") for row in rows)
        else:
            self._stream.writelines(
                json.dumps(dict(zip(RECORD_FIELDS, row, strict=True)), separators=(",", ":")) + "\n"
                for row in rows
            )
        self.written += len(chunk)

    def close(self) -> None:
        """Flush and close; raises :class:`OSError` if the last bytes cannot be written."""
        self._stream.close()

    def abandon(self) -> None:
        """Close without reporting errors, keeping what was written (the file system failed)."""
        with contextlib.suppress(OSError):
            self._stream.close()

    def discard(self) -> None:
        """Close without reporting errors and delete the file: the run measured nothing."""
        self.abandon()
        with contextlib.suppress(OSError):
            self.path.unlink()


def open_records(path: Path) -> RecordsFile:
    """Open ``path`` for writing, or raise :class:`LoopsightError` saying why it cannot be."""
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise LoopsightError(
            f"--records file must end in .csv, .jsonl or .ndjson, got {str(path)!r}"
        )
    try:
        stream = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise LoopsightError(f"cannot write records to {path}: {exc.strerror or exc}") from None
    try:
        if kind == "csv":
            stream.write(",".join(RECORD_FIELDS) + "\n")
        stream.flush()
        room = os.statvfs(path)
        if room.f_bavail * room.f_frsize < _MIN_FREE and path.is_file():
            raise OSError(28, os.strerror(28))  # ENOSPC before the first write fails
    except OSError as exc:
        RecordsFile(path, stream, kind).discard()
        raise LoopsightError(f"cannot write records to {path}: {exc.strerror or exc}") from None
    return RecordsFile(path, stream, kind)
