"""The dashboard renders in headless Chromium and its stalls table shows the stall; the
Chrome trace export is well-formed."""

from __future__ import annotations

import re
import subprocess
import urllib.request
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from _services import require
from loopsight.runtime import Runtime
from loopsight.runtime.exporters.chrome_trace import chrome_trace
from loopsight.runtime.exporters.dashboard import render_dashboard
from loopsight.runtime.records import Activity, Culprit, Stall
from loopsight.runtime.threadpool import PoolSample
from loopsight.server import UvicornServer

from ._helpers import TOKEN, chromium_path, line_of, wait_for_stalls, write_module

APP = """
import time

from fastapi import FastAPI

import loopsight

app = FastAPI()


@app.get("/slow/{n}")
async def slow(n: int):
    time.sleep(0.08)  # DASH-STALL
    return {"n": n}


app = loopsight.instrument(
    app, threshold_ms=30, endpoints=["dashboard", "stalls"], token="test-token"
)
"""


class _Tables(HTMLParser):
    """Collects the text of every cell of every table, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.slow
def test_dashboard_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = chromium_path()
    require("chromium", browser is not None, "no chromium binary on PATH")
    assert browser is not None
    path = write_module(tmp_path, "dash_app", APP)
    with UvicornServer("dash_app:app", env={"PYTHONPATH": str(tmp_path)}) as srv:
        with urllib.request.urlopen(f"{srv.url}/slow/1", timeout=10) as response:
            assert response.status == 200
        wait_for_stalls(srv.url, 1)
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{srv.url}/_loopsight/dashboard", timeout=10)
        assert denied.value.code == 401
        denied.value.close()
        url = f"{srv.url}/_loopsight/dashboard?token={TOKEN}"
        profile = f"--user-data-dir={tmp_path / 'profile'}"
        chromium = [browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", profile]  # fmt: skip
        # Virtual time past the first refresh (5 s): the page fetches and redraws itself.
        dom = subprocess.run(
            [*chromium, "--virtual-time-budget=8000", "--dump-dom", url],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        shot = tmp_path / "dashboard.png"
        subprocess.run(
            [*chromium, "--virtual-time-budget=3000", "--hide-scrollbars", "--window-size=1000,700",
             "--force-device-scale-factor=1", f"--screenshot={shot}", url],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
    parser = _Tables()
    parser.feed(dom)
    # The script builds one row per (route, culprit) group; start-up may add others.
    top = [row for row in parser.tables["stalls"] if row[0] == "/slow/{n}"]
    assert len(top) == 1, parser.tables["stalls"]
    _, culprit, call, count = top[0][:4]
    assert culprit.endswith(f"dash_app.py:{line_of(path, 'DASH-STALL')}")
    assert call == "time.sleep(0.08)"
    assert count == "1"
    recent = [row for row in parser.tables["recent"] if "GET /slow/{n}" in row[2]]
    assert len(recent) == 1, parser.tables["recent"]
    assert "dash_app.py" in recent[0][3]
    assert "lag_ms" in dom  # the lag chart's polyline was drawn (data-key attribute)
    assert re.search(r'id="status"[^>]*>refreshed \d\d:\d\d:\d\d', dom), dom
    _assert_axes_and_legends(dom)
    _assert_drawn(shot)


def _assert_axes_and_legends(dom: str) -> None:
    """Both charts have a time axis, a value axis with its unit, and a legend."""
    charts = dict(re.findall(r'<svg id="(\w+)"[^>]*>(.*?)</svg>', dom, re.S))
    assert set(charts) == {"lag", "pool"}
    legends = {"lag": ["worst loop lag", "stall threshold"],
               "pool": ["threads borrowed", "calls waiting for a thread"]}  # fmt: skip
    for name, svg in charts.items():
        groups = dict(re.findall(r'<g class="(axis x|axis y|legend)">(.*?)</g>', svg, re.S))
        texts = {k: re.findall(r"<text[^>]*>([^<]*)</text>", body) for k, body in groups.items()}
        assert len([t for t in texts["axis x"] if re.fullmatch(r"\d\d:\d\d:\d\d", t)]) >= 2
        assert texts["axis y"][0] == "0"
        assert len(texts["axis y"]) >= 3
        assert texts["legend"] == legends[name]
    assert '<text x="6" y="18">ms</text>' in charts["lag"]


def _assert_drawn(shot: Path) -> None:
    """The screenshot shows the axes and each legend's colour swatch (12 x 12 pixels)."""
    from PIL import Image

    with Image.open(shot) as image:
        counts = {rgb: n for n, rgb in image.convert("RGB").getcolors(1 << 20) or []}
    axis, lag, threshold, borrowed, waiting = (
        (0x55, 0x55, 0x55), (0xCC, 0x33, 0x33), (0x99, 0x99, 0x99), (0x33, 0x66, 0xCC),
        (0xEE, 0x88, 0x00),
    )  # fmt: skip
    # Two time axes of 830 px and two value axes of 120 px, drawn crisp.
    assert counts.get(axis, 0) >= 1800, "axes"
    for swatch in (lag, threshold, borrowed, waiting):
        assert counts.get(swatch, 0) >= 144, swatch


def _filled_runtime() -> Runtime:
    rt = Runtime(threshold=0.05)
    t0 = rt.clock()
    rt.requests.recent.append((t0, t0 + 0.3, "GET", "/a", 200))
    rt.stalls.append(
        Stall(
            start=t0 + 0.05,
            end=t0 + 0.25,
            wall_start=rt.watchdog.wall(t0 + 0.05),
            activity=Activity("request", "GET", "/a", "/a"),
            culprit=Culprit("app.py", 3, "a", "time.sleep(0.2)", "time.sleep"),
            stacks={"a (app.py:3)": 30},
            samples=30,
        )
    )
    rt.pool.record(PoolSample(rt.watchdog.wall(t0), 40, 40, 3))
    return rt


def test_chrome_trace_has_requests_stalls_and_pool_counter() -> None:
    rt = _filled_runtime()
    events = chrome_trace(rt.snapshot(recent_requests=True))["traceEvents"]
    begin = [e for e in events if e["ph"] == "b"]
    end = [e for e in events if e["ph"] == "e"]
    stall = [e for e in events if e["ph"] == "X"]
    counter = [e for e in events if e["ph"] == "C"]
    assert [e["name"] for e in begin] == ["GET /a"]
    assert end[0]["ts"] - begin[0]["ts"] == pytest.approx(300_000, abs=1)
    assert begin[0]["id"] == end[0]["id"]
    assert stall[0]["dur"] == pytest.approx(200_000, abs=1)
    assert stall[0]["tid"] == begin[0]["tid"]  # on the loop track
    assert stall[0]["args"]["culprit"] == "app.py:3"
    assert begin[0]["ts"] < stall[0]["ts"] < end[0]["ts"]
    assert counter[0]["args"] == {"borrowed": 40, "waiting": 3}


def test_dashboard_escapes_embedded_data() -> None:
    rt = _filled_runtime()
    rt.stalls[0] = replace(
        rt.stalls[0], activity=Activity("request", "GET", "/</script><b>x", "/x")
    )
    page = render_dashboard(rt.snapshot())
    assert "</script><b>" not in page
    assert page.count("</script>") == 2
