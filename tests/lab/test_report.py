"""The lab's renderers on results built by hand: the console table at terminal widths."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from _labruns import lab_run
from loopsight.report import render_console
from loopsight.report._cells import row


def _render(width: int, *, wide: bool = False, names: tuple[str, ...] = ()) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False)
    render_console(lab_run(names), console, wide=wide)
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("names", [(), ("hello-sync", "case1", "case2", "case3", "case4")])
def test_console_table_fits_and_cuts_no_cell(width: int, names: tuple[str, ...]) -> None:
    text = _render(width, names=names)
    assert "…" not in text
    lines = text.splitlines()
    assert all(len(line.rstrip()) <= width for line in lines), max(map(len, lines))
    # Every figure of every row stands whole on the row's first line.
    for run in lab_run(names).runs:
        values = row(run)
        (first, *_) = [line for line in lines if line.startswith(values.scenario + " ")]
        figures = [values.seed, values.model, values.measured, values.ratio, values.blocked]
        position = len(values.scenario)
        for figure in figures:
            found = first.find(figure, position)
            assert found > 0, (width, values.scenario, figure, first)
            position = found + len(figure)
    # p50, p99, check and stalls are shown too (full table or details table).
    for header in ("p50", "p99", "check", "stalls", "verdict", "loop"):
        assert header in text


def test_wide_prints_every_column_in_one_table() -> None:
    text = _render(80, wide=True, names=("case1", "case2"))
    assert "…" not in text
    header = next(line for line in text.splitlines() if line.startswith("scenario"))
    for name in ("total s: seed / model / measured", "p99 s", "check", "stalls", "verdict"):
        assert name in header
    assert "LS101 cases.py:42 +1" in text


SEED_RUN = ("hello-sync", "hello-async", "case1", "case2", "case3", "case4", "sync-task")


def test_png_shows_totals_blocked_share_and_the_cases_timeline() -> None:
    import matplotlib.pyplot as plt

    from loopsight.report.png import build_figure

    lab = lab_run(SEED_RUN)
    figure = build_figure(lab)
    totals, blocked, close_up, whole = figure.axes
    # Totals: every timed scenario, its seed / model / measured figures written on the bars.
    names = [label.get_text() for label in totals.get_yticklabels()]
    assert names == ["case1", "case2", "case3", "case4", "sync-task"]
    written = {text.get_text() for text in totals.texts}
    assert {"36.0 s", "1200 s", "18.0 s", "24.0 s"} <= written
    # A log axis labelled in plain seconds, more than two ticks.
    ticks = [label.get_text() for label in totals.get_xticklabels()]
    assert {"10", "20", "50", "100", "1000"} <= set(ticks)
    # Loop blocked share, per scenario, case 2 at 99 %.
    assert "99%" in {text.get_text() for text in blocked.texts}
    # The staircase: requests completed over time for the four cases, each up to n.
    for axes in (close_up, whole):
        lines = {line.get_label().split(":")[0]: line for line in axes.get_lines()}
        assert {"case1", "case2", "case3", "case4"} <= set(lines)
        assert max(lines["case2"].get_ydata()) == 200
    # The close-up spans the fast cases; case 2 runs on to 1200 s in the whole view.
    assert close_up.get_xlim()[1] < 100 < 1200 < whole.get_xlim()[1]
    assert "n=" not in figure.get_suptitle()
    assert "100 connections" in figure.get_suptitle()
    plt.close(figure)


def test_png_without_the_cases_has_no_timeline() -> None:
    import matplotlib.pyplot as plt

    from loopsight.report.png import build_figure

    figure = build_figure(lab_run(("db-sync-driver", "db-async-session")))
    assert len(figure.axes) == 2
    plt.close(figure)
