"""The lab report as Markdown."""

from __future__ import annotations

from loopsight.lab.results import LabRun
from loopsight.report._cells import cost_note, markdown_table

__all__ = ["render_markdown"]


def render_markdown(lab: LabRun, command: str) -> str:
    """A self-contained page: settings, the table, and how to read it."""
    lines = [
        "# loopsight lab report",
        "",
        f"`{command}`",
        "",
        f"n={lab.n} requests over c={lab.c} connections, connections opened `{lab.open_mode}`,"
        f" time scale {lab.scale:g}. Times are in the seed's units (measured seconds divided by"
        " the scale); routes without I/O are in real seconds.",
        "",
        *markdown_table(lab.runs),
        "",
        *(
            f"- `{run.scenario.name}`: `{run.scenario.route}`, {run.scenario.summary}"
            for run in lab.runs
        ),
        "",
        "- **seed**: the figure the article reports for `ab -n 200 -c 100`.",
        "- **model**: the queueing model's prediction (loop held serially, 40 thread-pool"
        " tokens, free waiting)"
        + (f", including {cost_note(lab)}." if lab.request_cost_s else "."),
        "- **loop blocked**: share of the run during which the server's event loop could not run,"
        " from a heartbeat inside the server.",
        "- **check**: what `loopsight check` reports on the route's code (code, file:line).",
        "- **stalls**: stalls the runtime watchdog attributed to the route or its background"
        " tasks: count, total blocked time (seed's units) and the line most of them blamed.",
        "",
        "![total time per scenario](lab.png)",
    ]
    if lab.aborted:
        lines += ["", f"**Run cut short:** {lab.aborted}"]
    return "\n".join(lines) + "\n"
