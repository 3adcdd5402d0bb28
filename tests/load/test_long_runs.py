"""Runs past ``exact_limit``: counters, a histogram, a timeline and a records file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from loopsight.errors import LoopsightError
from loopsight.load import (
    RELATIVE_ERROR,
    LoadConfig,
    LoadResult,
    Second,
    latency_of,
    open_records,
    percentile,
    run_load_sync,
)
from loopsight.load._result import summarize

from ._server import ScriptedServer

DEV_FULL = Path("/dev/full")


def _recorded(server: ScriptedServer, path: Path, **options: object) -> LoadResult:
    config = LoadConfig(server.url + "/ok", **options)  # type: ignore[arg-type]
    return run_load_sync(config, records=open_records(path))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_histogram_percentiles_are_within_their_error_of_the_recorded_ones(
    server: ScriptedServer, tmp_path: Path
) -> None:
    path = tmp_path / "run.csv"
    result = _recorded(server, path, n=3000, c=4, exact_limit=100)
    summary = result.summary()
    assert (summary.exact, result.records) == (False, [])
    rows = _csv_rows(path)
    assert len(rows) == summary.requests == 3000
    latencies = sorted(float(row["latency_s"]) for row in rows if not row["error"])
    exact = latency_of(latencies)
    lat = summary.latency
    for name, p in (("p50", 50), ("p90", 90), ("p99", 99)):
        want = percentile(latencies, p)
        assert abs(getattr(lat, name) - want) <= want * RELATIVE_ERROR + 1e-9, name
    assert (lat.min, lat.max) == (exact.min, exact.max)
    assert lat.mean == pytest.approx(exact.mean, rel=1e-9)
    assert summary.status == {200: 3000}
    ends = [float(row["end_s"]) for row in rows]
    starts = [float(row["start_s"]) for row in rows]
    assert result.total_s == max(ends) - min(starts)


def test_small_runs_keep_every_record_and_exact_figures(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/sleep/5", n=200, c=20))
    assert len(result.records) == 200
    assert result.summary() == summarize(result.records, result.total_s)
    assert result.summary().exact
    assert result.total_s == max(r.end for r in result.records) - result.records[0].start


def test_timeline_counts_sum_to_the_totals(server: ScriptedServer) -> None:
    config = LoadConfig(server.url + "/ok", n=None, duration=2.2, c=3, exact_limit=1000)
    result = run_load_sync(config)
    summary = result.summary()
    seconds = result.timeline
    assert [s.t for s in seconds] == list(range(len(seconds)))
    assert len(seconds) == 3  # 0, 1 and the partial third
    assert sum(s.requests for s in seconds) == summary.requests
    assert sum(s.answered for s in seconds) == summary.completed
    assert all(s.span_s == 1.0 for s in seconds[:-1])
    assert 0 < seconds[-1].span_s < 1
    data = result.to_json()
    assert sum(s["requests"] for s in data["timeline"]) == data["n"]
    assert data["latency_exact"] is False


def test_timeline_counts_errors_by_kind(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/garbage-nth/3", n=6, c=1))
    (second,) = result.timeline
    assert (second.requests, second.answered, second.errors) == (6, 5, {"protocol": 1})


def test_seconds_are_reported_as_they_end(server: ScriptedServer) -> None:
    seen: list[Second] = []
    config = LoadConfig(server.url + "/sleep/50", n=None, duration=1.5, c=2)
    result = run_load_sync(config, on_second=seen.append)
    assert seen == list(result.timeline)
    assert len(seen) == 2


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_records_stream_every_finished_request(
    server: ScriptedServer, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"run{suffix}"
    result = _recorded(server, path, n=None, duration=0.5, c=3, exact_limit=50)
    if suffix == ".csv":
        rows: list[dict[str, object]] = [dict(row) for row in _csv_rows(path)]
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == result.summary().requests > 50
    assert list(rows[0]) == ["start_s", "end_s", "latency_s", "status", "bytes", "error"]
    assert {str(row["status"]) for row in rows} == {"200"}


def test_records_of_a_small_run_are_its_records(server: ScriptedServer, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    result = _recorded(server, path, n=30, c=2)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    by_start = sorted(rows, key=lambda row: row["start_s"])
    assert [(r["start_s"], r["end_s"]) for r in by_start] == [
        (r.start, r.end) for r in result.records
    ]


def test_records_that_cannot_be_written_stop_the_run(
    server: ScriptedServer, tmp_path: Path
) -> None:
    if not DEV_FULL.exists():
        pytest.skip("needs /dev/full")
    full = tmp_path / "full.jsonl"
    full.symlink_to(DEV_FULL)  # every write fails with ENOSPC, as on a full disk
    result = _recorded(server, full, n=50_000, c=2)
    assert result.aborted == f"cannot write records to {full}: No space left on device"
    assert 0 < result.summary().requests < 50_000


def test_records_file_is_deleted_when_the_target_is_unusable(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    with ScriptedServer(garbage=True) as peer, pytest.raises(LoopsightError):
        run_load_sync(LoadConfig(peer.url + "/", n=5, c=1), records=open_records(path))
    assert not path.exists()


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("run.txt", "--records file must end in .csv, .jsonl or .ndjson, got '{path}'"),
        ("missing/run.csv", "cannot write records to {path}: No such file or directory"),
    ],
)
def test_records_file_that_cannot_be_opened(tmp_path: Path, name: str, line: str) -> None:
    path = tmp_path / name
    with pytest.raises(LoopsightError) as info:
        open_records(path)
    assert str(info.value) == line.format(path=path)


def test_open_loop_histogram_counts_latency_from_the_due_time(
    server: ScriptedServer, tmp_path: Path
) -> None:
    # one connection, a request every 20 ms; the 5th stalls it for 300 ms
    config = LoadConfig(server.url + "/stall-nth/5/300", n=25, c=1, rate=50, exact_limit=0)
    path = tmp_path / "open.csv"
    result = run_load_sync(config, records=open_records(path))
    rows = _csv_rows(path)
    starts = sorted(float(row["start_s"]) for row in rows)
    assert starts == pytest.approx([i / 50 for i in range(25)])  # due times, not send times
    latencies = sorted(float(row["latency_s"]) for row in rows)
    lat = result.summary().latency
    assert lat.max == latencies[-1] >= 0.3
    # the requests due during the stall waited for it: a coordinated-omission client has ~1 ms
    assert latencies[-8] > 0.1
    for name, p in (("p50", 50), ("p90", 90), ("p99", 99)):
        want = percentile(latencies, p)
        assert abs(getattr(lat, name) - want) <= want * RELATIVE_ERROR + 1e-9, name
