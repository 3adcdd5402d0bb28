"""HTML dashboard: loop lag and thread pool over time, and the top stalls with their stacks.

One self-contained page (no external assets): the data is embedded as JSON and drawn by a
small script (time and value axes, a legend), so the page works offline and behind the same
token as the other endpoints. Every few seconds, unless paused, the page fetches itself again
(the session cookie goes along) and redraws from the new copy's data. Its own requests are
answered before the request metrics count anything, and rendered under a thread limiter of
their own, so the dashboard does not chart itself.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from loopsight.runtime.exporters._registry import Render, endpoint
from loopsight.runtime.exporters.json import stalls_document
from loopsight.runtime.snapshot import Snapshot

if TYPE_CHECKING:
    from loopsight.runtime.core import Runtime

__all__ = ["REFRESH_SECONDS", "render_dashboard"]

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>loopsight</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.num{text-align:right}
pre{margin:0;font-size:12px;white-space:pre-wrap}svg{background:#fafafa;border:1px solid #ddd}
svg text{font:11px system-ui,sans-serif;fill:#444}svg line{shape-rendering:crispEdges}
.muted{color:#777}
#controls{display:flex;gap:1em;align-items:center}td.when{white-space:nowrap}
</style></head><body>
<h1>loopsight &mdash; event-loop stalls</h1>
<p id="summary" class="muted"></p>
<p id="controls"><button id="pause" type="button">Pause refresh</button>
<span id="status" class="muted"></span></p>
<h2>Loop lag (worst per second)</h2><svg id="lag" width="900" height="180"></svg>
<h2>Thread pool (anyio's default limiter)</h2><svg id="pool" width="900" height="180"></svg>
<h2>Top stalls</h2>
<table id="stalls"><thead><tr><th>route</th><th>culprit</th><th>call</th><th>count</th>
<th>total ms</th><th>max ms</th></tr></thead><tbody></tbody></table>
<h2>Recent stalls</h2>
<table id="recent"><thead><tr><th>when</th><th>ms</th><th>where</th><th>culprit</th>
<th>stack</th></tr></thead><tbody></tbody></table>
<script type="application/json" id="data">__DATA__</script>
<script>
(() => {
const REFRESH_MS = __REFRESH_MS__, NS = "http://www.w3.org/2000/svg";
const W = 900, H = 180, M = {left: 56, right: 14, top: 30, bottom: 28};
function cell(tr, text, cls) {
  const td = document.createElement("td"); td.textContent = text;
  if (cls) td.className = cls; tr.appendChild(td); return td;
}
function svgEl(parent, tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  parent.appendChild(el); return el;
}
function niceStep(span, count, whole) {
  const raw = span / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  if (whole && raw <= 1) return 1;
  for (const f of [1, 2, 2.5, 5, 10]) if (f * mag >= raw) return f * mag;
  return 10 * mag;
}
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
function clock(t) { return new Date(t * 1000).toTimeString().slice(0, 8); }
// One chart: y axis in `unit`, time axis from each point's `at` (Unix s), legend on top.
function plot(id, series, lines, unit, extra, whole) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const x0 = M.left, x1 = W - M.right, y0 = H - M.bottom, y1 = M.top;
  let max = extra && extra.value ? extra.value * 1.2 : 1;
  for (const p of series) for (const l of lines) max = Math.max(max, p[l.key]);
  const step = niceStep(max, 4, whole), top = Math.ceil(max / step) * step;
  const y = v => y0 - (v / top) * (y0 - y1);
  // At least the last minute, the newest point at the right edge, as the page fills in.
  const t1 = series.length ? series[series.length - 1].at : Date.now() / 1000;
  const t0 = Math.min(series.length ? series[0].at : t1, t1 - 60);
  const x = t => x0 + ((t - t0) / Math.max(1e-9, t1 - t0)) * (x1 - x0);
  const yAxis = svgEl(svg, "g", {class: "axis y"});
  for (let v = 0; v <= top + step / 2; v += step) {
    svgEl(yAxis, "line", {x1: x0, x2: x1, y1: y(v), y2: y(v), stroke: "#e2e2e2"});
    svgEl(yAxis, "text", {x: x0 - 6, y: y(v) + 4, "text-anchor": "end"},
      `${+v.toFixed(2)}`);
  }
  svgEl(yAxis, "text", {x: 6, y: y1 - 12}, unit);
  const xAxis = svgEl(svg, "g", {class: "axis x"});
  const span = t1 - t0, tStep = TIME_STEPS.find(s => span / s <= 7) || 14400;
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1 + 1e-6; t += tStep) {
    svgEl(xAxis, "line", {x1: x(t), x2: x(t), y1: y0, y2: y0 + 4, stroke: "#555"});
    svgEl(xAxis, "text", {x: x(t), y: y0 + 17, "text-anchor": "middle"}, clock(t));
  }
  if (extra && extra.value) {
    svgEl(svg, "line", {x1: x0, x2: x1, y1: y(extra.value), y2: y(extra.value),
      stroke: extra.color, "stroke-dasharray": "5 4", "data-key": "threshold"});
  }
  for (const l of lines) {
    const pts = series.map(p => `${x(p.at).toFixed(1)},${y(p[l.key]).toFixed(1)}`);
    svgEl(svg, "polyline", {points: pts.join(" "), fill: "none", stroke: l.color,
      "stroke-width": 1.5, "data-key": l.key});
    const last = series[series.length - 1];  // a dot on the newest value, seen from the start
    if (last) svgEl(svg, "circle", {cx: x(last.at), cy: y(last[l.key]), r: 2.5, fill: l.color});
  }
  // The axis lines last, over a series that sits at zero.
  svgEl(svg, "line", {x1: x0, x2: x0, y1: y0, y2: y1, stroke: "#555", class: "baseline"});
  svgEl(svg, "line", {x1: x0, x2: x1, y1: y0, y2: y0, stroke: "#555", class: "baseline"});
  if (!series.length) {
    svgEl(svg, "text", {x: (x0 + x1) / 2, y: (y0 + y1) / 2, "text-anchor": "middle"},
      "no data yet: one point per second");
  }
  const legend = svgEl(svg, "g", {class: "legend"});
  let lx = x0;
  for (const l of [...lines, ...(extra && extra.value ? [extra] : [])]) {
    svgEl(legend, "rect", {x: lx, y: 8, width: 12, height: 12, fill: l.color});
    const text = svgEl(legend, "text", {x: lx + 17, y: 18}, l.label);
    lx = Math.round(lx + 17 + text.getComputedTextLength() + 18);  // whole pixels: crisp swatches
  }
}
const openStacks = new Set();
function render(data) {
  document.getElementById("summary").textContent =
    `pid ${data.pid} · threshold ${data.threshold_ms} ms · ${data.stall_count} stalls · ` +
    `thread pool ${data.threadpool.borrowed}/${data.threadpool.total}, ` +
    `${data.threadpool.waiting} waiting, ${data.threadpool.saturations} saturations`;
  plot("lag", data.series, [{key: "lag_ms", label: "worst loop lag", color: "#c33"}], "ms",
    {value: data.threshold_ms, label: "stall threshold", color: "#999"});
  plot("pool", data.series, [
    {key: "borrowed", label: "threads borrowed", color: "#36c"},
    {key: "waiting", label: "calls waiting for a thread", color: "#e80"},
  ], "threads", null, true);
  const topStalls = document.querySelector("#stalls tbody");
  topStalls.replaceChildren();
  for (const g of data.groups) {
    const tr = document.createElement("tr");
    cell(tr, g.route); cell(tr, g.culprit); cell(tr, g.call); cell(tr, g.count, "num");
    cell(tr, g.total_ms.toFixed(1), "num"); cell(tr, g.max_ms.toFixed(1), "num");
    topStalls.appendChild(tr);
  }
  const recent = document.querySelector("#recent tbody");
  recent.replaceChildren();
  for (const s of data.stalls) {
    const tr = document.createElement("tr");
    cell(tr, new Date(s.wall_start * 1000).toISOString().replace("T", " ").slice(0, 23), "when");
    cell(tr, (s.duration * 1000).toFixed(1), "num");
    const a = s.activity;
    cell(tr, a.method ? `${a.kind} ${a.method} ${a.route || a.path}` : `${a.kind} ${a.name}`);
    cell(tr, s.culprit ? `${s.culprit.file}:${s.culprit.line} ${s.culprit.call}` : "not sampled");
    const stacks = Object.entries(s.stacks).sort((p, q) => q[1] - p[1]);
    const pre = document.createElement("pre");
    pre.textContent = stacks.length ? stacks[0][0].split(";").join("\\n") : "";
    const details = document.createElement("details"), sum = document.createElement("summary");
    sum.textContent = `${s.samples} samples`; details.append(sum, pre);
    // A refresh keeps the stacks the reader opened.
    details.open = openStacks.has(s.wall_start);
    details.addEventListener("toggle", () => details.open ?
      openStacks.add(s.wall_start) : openStacks.delete(s.wall_start));
    cell(tr, "").appendChild(details); recent.appendChild(tr);
  }
}
// The page re-reads itself: same URL, same cookie, and the data block of the new copy.
let paused = false;
const status = document.getElementById("status"), button = document.getElementById("pause");
function stamp(text) { status.textContent = text; }
async function refresh() {
  if (paused) return;
  try {
    const r = await fetch(location.pathname + location.search,
      {cache: "no-store", credentials: "same-origin"});
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    render(JSON.parse(doc.getElementById("data").textContent));
    stamp(`refreshed ${clock(Date.now() / 1000)}, every ${REFRESH_MS / 1000} s`);
  } catch (e) {
    stamp(`refresh failed (${e.message}); reload the page`);
  }
}
button.addEventListener("click", () => {
  paused = !paused;
  button.textContent = paused ? "Resume refresh" : "Pause refresh";
  stamp(paused ? "paused" : "resumed");
  if (!paused) refresh();
});
render(JSON.parse(document.getElementById("data").textContent));
stamp(`refreshes every ${REFRESH_MS / 1000} s`);
setInterval(refresh, REFRESH_MS);
})();
</script></body></html>
"""

REFRESH_SECONDS = 5.0  # a new point per second; a few seconds keeps the page quiet


@endpoint("dashboard")
def _serve(runtime: Runtime) -> Render:
    return lambda: (render_dashboard(runtime.snapshot()).encode(), "text/html; charset=utf-8")


def render_dashboard(snap: Snapshot) -> str:
    """The dashboard page with the snapshot's data embedded."""
    payload = json.dumps(stalls_document(snap, limit=50))
    page = _PAGE.replace("__REFRESH_MS__", str(int(REFRESH_SECONDS * 1000)))
    # "</" would end the script element early; JSON allows escaping it.
    return page.replace("__DATA__", payload.replace("</", "<\\/"))
