"""Write the lab's report files: JSON, Markdown and PNG in one directory."""

from __future__ import annotations

import json
from pathlib import Path

from loopsight.errors import LoopsightError
from loopsight.lab.results import LabRun
from loopsight.report.markdown import render_markdown
from loopsight.report.png import render_png

__all__ = ["prepare_out_dir", "write_reports"]


def prepare_out_dir(out: Path) -> None:
    """Create ``out`` now, so an unusable directory fails before a long run, not after it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoopsightError(f"cannot create report directory {out}: {exc.strerror}") from exc


def write_reports(
    lab: LabRun, out: Path, command: str, json_path: Path | None = None
) -> list[Path]:
    """Write ``lab.json``, ``lab.md`` and ``lab.png`` under ``out`` (and ``json_path``)."""
    prepare_out_dir(out)
    data = json.dumps(lab.to_json(), indent=2) + "\n"
    written = [out / "lab.json", out / "lab.md", out / "lab.png"]
    try:
        written[0].write_text(data, encoding="utf-8")
        written[1].write_text(render_markdown(lab, command), encoding="utf-8")
        render_png(lab, written[2])
        if json_path is not None:
            json_path.write_text(data, encoding="utf-8")
            written.append(json_path)
    except OSError as exc:
        raise LoopsightError(f"cannot write report file {exc.filename}: {exc.strerror}") from exc
    return written
