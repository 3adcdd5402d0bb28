"""HTML dashboard: loop lag and thread pool over time, and the top stalls with their stacks.

One self-contained page (no external assets): the data is embedded as JSON and drawn by a
small script, so the page works offline and behind the same token as the other endpoints.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from loopsight.runtime.exporters._registry import Render, endpoint
from loopsight.runtime.exporters.json import stalls_document
from loopsight.runtime.snapshot import Snapshot

if TYPE_CHECKING:
    from loopsight.runtime.core import Runtime

__all__ = ["render_dashboard"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>loopsight</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.num{text-align:right}
pre{margin:0;font-size:12px;white-space:pre-wrap}svg{background:#fafafa;border:1px solid #ddd}
.muted{color:#777}
</style></head><body>
<h1>loopsight &mdash; event-loop stalls</h1>
<p id="summary" class="muted"></p>
<h2>Loop lag (worst per second, ms)</h2><svg id="lag" width="900" height="140"></svg>
<h2>Thread pool (tokens borrowed / waiting)</h2><svg id="pool" width="900" height="140"></svg>
<h2>Top stalls</h2>
<table id="stalls"><thead><tr><th>route</th><th>culprit</th><th>call</th><th>count</th>
<th>total ms</th><th>max ms</th></tr></thead><tbody></tbody></table>
<h2>Recent stalls</h2>
<table id="recent"><thead><tr><th>when</th><th>ms</th><th>where</th><th>culprit</th>
<th>stack</th></tr></thead><tbody></tbody></table>
<script type="application/json" id="data">__DATA__</script>
<script>
(() => {
const data = JSON.parse(document.getElementById("data").textContent);
function cell(tr, text, cls) {
  const td = document.createElement("td"); td.textContent = text;
  if (cls) td.className = cls; tr.appendChild(td); return td;
}
function plot(id, series, keys, colors) {
  const svg = document.getElementById(id), W = 900, H = 140, ns = "http://www.w3.org/2000/svg";
  let max = 1; for (const p of series) for (const k of keys) max = Math.max(max, p[k]);
  keys.forEach((k, i) => {
    const pts = series.map((p, j) =>
      `${(j / Math.max(1, series.length - 1)) * (W - 10) + 5},${H - 5 - (p[k] / max) * (H - 20)}`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" ")); line.setAttribute("fill", "none");
    line.setAttribute("stroke", colors[i]); line.setAttribute("data-key", k);
    svg.appendChild(line);
  });
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", 8); label.setAttribute("y", 14);
  label.textContent = `max ${max.toFixed(1)}`; svg.appendChild(label);
}
document.getElementById("summary").textContent =
  `pid ${data.pid} · threshold ${data.threshold_ms} ms · ${data.stall_count} stalls · ` +
  `thread pool ${data.threadpool.borrowed}/${data.threadpool.total}, ` +
  `${data.threadpool.waiting} waiting, ${data.threadpool.saturations} saturations`;
plot("lag", data.series, ["lag_ms"], ["#c33"]);
plot("pool", data.series, ["borrowed", "waiting"], ["#36c", "#e80"]);
const topStalls = document.querySelector("#stalls tbody");
for (const g of data.groups) {
  const tr = document.createElement("tr");
  cell(tr, g.route); cell(tr, g.culprit); cell(tr, g.call); cell(tr, g.count, "num");
  cell(tr, g.total_ms.toFixed(1), "num"); cell(tr, g.max_ms.toFixed(1), "num");
  topStalls.appendChild(tr);
}
const recent = document.querySelector("#recent tbody");
for (const s of data.stalls) {
  const tr = document.createElement("tr");
  cell(tr, new Date(s.wall_start * 1000).toISOString());
  cell(tr, (s.duration * 1000).toFixed(1), "num");
  const a = s.activity;
  cell(tr, a.method ? `${a.kind} ${a.method} ${a.route || a.path}` : `${a.kind} ${a.name}`);
  cell(tr, s.culprit ? `${s.culprit.file}:${s.culprit.line} ${s.culprit.call}` : "not sampled");
  const stacks = Object.entries(s.stacks).sort((x, y) => y[1] - x[1]);
  const pre = document.createElement("pre");
  pre.textContent = stacks.length ? stacks[0][0].split(";").join("\\n") : "";
  const details = document.createElement("details"), sum = document.createElement("summary");
  sum.textContent = `${s.samples} samples`; details.append(sum, pre);
  cell(tr, "").appendChild(details); recent.appendChild(tr);
}
})();
</script></body></html>
"""


@endpoint("dashboard")
def _serve(runtime: Runtime) -> Render:
    return lambda: (render_dashboard(runtime.snapshot()).encode(), "text/html; charset=utf-8")


def render_dashboard(snap: Snapshot) -> str:
    """The dashboard page with the snapshot's data embedded."""
    payload = json.dumps(stalls_document(snap, limit=50))
    # "</" would end the script element early; JSON allows escaping it.
    return _PAGE.replace("__DATA__", payload.replace("</", "<\\/"))
