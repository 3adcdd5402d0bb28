"""The driver against a scripted server: counts, statuses, timings, connection handling."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
import time

import pytest

from loopsight.errors import LoopsightError
from loopsight.load import LoadConfig, LoadResult, percentile, run_load, run_load_sync

from ._server import ScriptedServer, free_port


def _ok(result: LoadResult) -> None:
    assert result.aborted is None
    assert [r.error for r in result.records if r.error is not None] == []


def test_counts_statuses_and_bytes(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/bytes/1234", n=40, c=4))
    _ok(result)
    assert len(result.records) == 40
    assert len(server.log.requests) == 40
    assert {(r.status, r.nbytes) for r in result.records} == {(200, 1234)}
    summary = result.summary()
    assert (summary.completed, summary.failed, summary.status) == (40, 0, {200: 40})
    assert summary.rps == pytest.approx(40 / result.total_s)


def test_status_codes_are_counted_not_failed(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/status/503", n=6, c=2))
    summary = result.summary()
    assert summary.status == {503: 6}
    assert (summary.completed, summary.failed, summary.errors) == (6, 0, {})
    assert result.to_json()["status"] == {"503": 6}


def test_percentiles_come_from_the_records(server: ScriptedServer) -> None:
    # one connection, 10 requests: each latency is the server's sleep plus a little
    result = run_load_sync(LoadConfig(server.url + "/sleep/20", n=10, c=1))
    _ok(result)
    latencies = sorted(r.end - r.start for r in result.records)
    lat = result.summary().latency
    assert (lat.min, lat.max) == (latencies[0], latencies[-1])
    assert (lat.p50, lat.p90, lat.p99) == (latencies[4], latencies[8], latencies[9])
    assert lat.p50 == percentile(latencies, 50)
    assert lat.mean == pytest.approx(sum(latencies) / 10)
    assert 0.019 < lat.min <= lat.max < 0.2
    # back to back on one connection: each request starts when the previous one ended
    records = result.records
    assert all(b.start == a.end for a, b in itertools.pairwise(records))
    assert result.total_s == pytest.approx(records[-1].end - records[0].start)


def test_keep_alive_reuses_c_connections(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/ok", n=60, c=3))
    _ok(result)
    assert len(server.log.opened) == 3
    per_conn = [sum(1 for s in server.log.requests if s.conn == i) for i in range(3)]
    assert sum(per_conn) == 60
    assert min(per_conn) > 0


def test_all_mode_opens_c_connections_at_once(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/sleep/150", n=16, c=8))
    _ok(result)
    log = server.log
    assert len(log.opened) == 8
    first_answer = min(s.answered for s in log.requests)
    # every connection was open, and had sent its first request, before any response
    assert max(log.opened) < first_answer
    assert sorted(s.arrived for s in log.requests)[7] < first_answer
    assert {r.start for r in result.records[:8]} == {0.0}


def test_ab_mode_sends_one_probe_alone(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/sleep/100", n=9, c=4, open_mode="ab"))
    _ok(result)
    log = server.log
    assert len(log.opened) == 4
    probe, *rest = sorted(log.requests, key=lambda s: s.arrived)
    # nothing else arrived, and no other connection opened, before the probe was answered
    assert all(s.arrived > probe.answered for s in rest)
    assert sorted(log.opened)[1] > probe.answered
    # the other 3 connections opened together and the 4 then shared the remaining 8 requests
    assert len({s.conn for s in rest}) == 4
    assert len(rest) == 8
    # with 100 ms per request: probe, then 8 over 4 connections = 3 rounds in all
    assert 0.3 <= result.total_s < 0.6


def test_all_mode_takes_fewer_rounds_than_ab(server: ScriptedServer) -> None:
    all_mode = run_load_sync(LoadConfig(server.url + "/sleep/100", n=8, c=4))
    # 8 over 4 connections: 2 rounds; ab needs a probe round, then 7 over 4: 3 rounds
    assert 0.2 <= all_mode.total_s < 0.3  # ab mode cannot beat 0.3: three 100 ms rounds


def test_closed_loop_duration_starts_nothing_after_the_deadline(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/sleep/30", n=None, duration=0.4, c=2))
    _ok(result)
    assert all(r.start < 0.4 for r in result.records)
    # in-flight requests at the deadline are completed and counted
    assert max(r.end for r in result.records) >= 0.4
    assert 2 * 8 <= len(result.records) <= 2 * 14
    assert len(server.log.requests) == len(result.records)


def test_open_loop_sends_on_schedule(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/ok", n=None, duration=0.5, rate=40, c=20))
    _ok(result)
    assert [r.start for r in result.records] == pytest.approx([i / 40 for i in range(20)])
    arrived = sorted(s.arrived for s in server.log.requests)
    gaps = [b - a for a, b in itertools.pairwise(arrived)]
    assert sum(gaps) / len(gaps) == pytest.approx(1 / 40, rel=0.2)
    # 25 ms apart and answered in far less: idle connections are reused, not one per request
    assert len(server.log.opened) <= 3


def test_open_loop_latency_counts_from_the_scheduled_time(server: ScriptedServer) -> None:
    # one connection, a request every 20 ms; the 5th request stalls the connection for 300 ms
    config = LoadConfig(server.url + "/stall-nth/5/300", n=25, c=1, rate=50)
    result = run_load_sync(config)
    _ok(result)
    records = result.records
    assert [r.start for r in records] == pytest.approx([i / 50 for i in range(25)])
    stalled = records[4]
    assert stalled.latency >= 0.3
    free_again = stalled.end
    waited = [r for r in records[5:] if r.start < free_again - 0.03]
    assert len(waited) >= 10
    for record in waited:
        # a coordinated-omission client would report ~1 ms here
        assert record.latency >= free_again - record.start - 0.001
    # they were sent only when the connection freed up, not at their scheduled time
    arrivals = sorted(s.arrived for s in server.log.requests)
    assert arrivals[5] >= server.log.requests[4].answered
    assert result.summary().latency.max == stalled.latency


def test_open_loop_uses_at_most_c_connections(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/sleep/100", n=20, c=3, rate=200))
    _ok(result)
    assert len(server.log.opened) == 3
    # 20 requests of 100 ms over 3 connections: 7 rounds, whatever the rate asked for
    assert result.total_s >= 0.7


def test_connection_close_responses_reconnect(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/noka", n=10, c=2))
    _ok(result)
    assert len(server.log.opened) == 10
    assert {r.status for r in result.records} == {200}


def test_reused_connection_closed_by_server_is_retried(server: ScriptedServer) -> None:
    # the server answers once per connection and closes on the next request without a byte
    result = run_load_sync(LoadConfig(server.url + "/one-per-conn", n=6, c=1))
    _ok(result)
    assert [r.status for r in result.records] == [200] * 6
    assert len(server.log.opened) == 6


def test_eof_delimited_and_chunked_bodies(server: ScriptedServer) -> None:
    eof = run_load_sync(LoadConfig(server.url + "/eof/300", n=3, c=1))
    _ok(eof)
    assert [(r.status, r.nbytes) for r in eof.records] == [(200, 300)] * 3
    chunked = run_load_sync(LoadConfig(server.url + "/chunked/700", n=4, c=2))
    _ok(chunked)
    assert [(r.status, r.nbytes) for r in chunked.records] == [(200, 701)] * 4
    assert len(server.log.opened) == 3 + 2


def test_head_requests_keep_the_connection(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/ok", n=5, c=1, method="HEAD"))
    _ok(result)
    assert [(r.status, r.nbytes) for r in result.records] == [(200, 0)] * 5
    assert len(server.log.opened) == 1


def test_method_headers_and_body_reach_the_server(server: ScriptedServer) -> None:
    config = LoadConfig(
        server.url + "/ok", n=2, c=1, method="POST", headers={"X-Run": "7"}, body=b"abc"
    )
    _ok(run_load_sync(config))
    seen = server.log.requests
    assert [(s.method, s.body, s.headers["x-run"]) for s in seen] == [("POST", b"abc", "7")] * 2


def test_server_closing_mid_response_is_closed(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/close-mid", n=4, c=2))
    assert result.aborted is None
    assert [(r.status, r.error, r.nbytes) for r in result.records] == [(0, "closed", 10)] * 4
    summary = result.summary()
    assert (summary.completed, summary.failed, summary.errors) == (0, 4, {"closed": 4})
    assert summary.latency.max == 0.0


def test_reset_is_reset(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/reset", n=3, c=1))
    assert result.summary().errors == {"reset": 3}


def test_timeout_is_recorded(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/hang", n=2, c=2, timeout=0.2))
    assert result.aborted is None
    assert [r.error for r in result.records] == ["timeout", "timeout"]
    assert all(0.2 <= r.latency < 0.2 + 0.05 + 0.1 for r in result.records)  # tick + slack


def test_open_loop_requests_waiting_too_long_time_out_unsent(server: ScriptedServer) -> None:
    # one connection serving 10 requests/s, asked for 50/s: the queue of due requests grows
    config = LoadConfig(server.url + "/sleep/100", n=20, c=1, rate=50, timeout=0.25)
    result = run_load_sync(config)
    assert result.aborted is None  # the server kept answering: not "stopped answering"
    assert len(result.records) == 20
    answered = [r for r in result.records if r.error is None]
    waited_out = [r for r in result.records if r.error is not None]
    assert {r.error for r in waited_out} == {"timeout"}
    assert len(waited_out) >= 5
    # only the answered requests were ever sent; none of them timed out once sent
    assert len(server.log.requests) == len(answered)
    for record in waited_out:
        assert 0.25 <= record.latency < 0.25 + 0.0625 + 0.1  # a sweep tick late, plus slack
    # latency counts from the due time: the later ones queued, then took 100 ms
    assert max(r.latency for r in answered) > 0.25


def test_requests_timing_out_in_a_row_abort(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/hang", n=50, c=2, timeout=0.1))
    assert result.aborted == (
        "target stopped answering: 3 requests in a row failed "
        "(timeout: no response within the timeout)"
    )
    assert result.summary().errors == {"timeout": 3}


def test_a_bug_in_the_driver_raises_instead_of_hanging(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopsight.load import _closed

    def broken(*args: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(_closed.ClosedLoop, "on_response", broken)
    with pytest.raises(RuntimeError, match="load driver failed") as info:
        run_load_sync(LoadConfig(server.url + "/ok", n=5, c=1, timeout=5))
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_target_that_stops_answering_aborts_with_partial_results(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/die-after/10", n=200, c=2))
    assert result.aborted is not None
    assert result.aborted.startswith("target stopped answering: 3 requests in a row failed")
    assert "connection refused" in result.aborted
    summary = result.summary()
    assert summary.status == {200: 10}
    assert summary.errors["connect"] == 3
    assert len(result.records) < 200


def test_unreachable_target_raises_before_measuring() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(LoopsightError) as info:
        run_load_sync(LoadConfig(url, n=10, c=5))
    assert str(info.value) == f"cannot connect to {url}: connection refused"


@pytest.mark.parametrize("url", ["http://nohost.invalid/", "http://a..b/"])
def test_unresolvable_host_raises(url: str) -> None:
    with pytest.raises(LoopsightError) as info:
        run_load_sync(LoadConfig(url, n=1, c=1))
    assert str(info.value).startswith(f"cannot connect to {url}: ")
    assert "\n" not in str(info.value)


def test_non_http_peer_raises_before_measuring() -> None:
    with ScriptedServer(garbage=True) as peer, pytest.raises(LoopsightError) as info:
        run_load_sync(LoadConfig(peer.url + "/", n=10, c=2))
    assert str(info.value).startswith(f"{peer.url}/ did not answer with HTTP: ")
    assert "SSH-2.0" in str(info.value)


def test_non_http_answer_after_good_ones_is_recorded(server: ScriptedServer) -> None:
    result = run_load_sync(LoadConfig(server.url + "/garbage-nth/3", n=6, c=1))
    assert result.aborted is None
    assert [r.error for r in result.records] == [None, None, "protocol", None, None, None]
    assert result.summary().status == {200: 5}
    assert len(server.log.opened) == 2  # the connection that spoke garbage was dropped


def test_bad_config_raises_before_connecting() -> None:
    with pytest.raises(LoopsightError, match="cannot exceed"):
        run_load_sync(LoadConfig("http://127.0.0.1:9/", n=1, c=2))


def test_progress_reports_the_final_count(server: ScriptedServer) -> None:
    seen: list[int] = []
    run_load_sync(LoadConfig(server.url + "/sleep/20", n=30, c=2), seen.append)
    assert seen[-1] == 30
    assert seen == sorted(seen)
    assert len(seen) >= 2  # ticks during the ~300 ms run, and the final count


def test_to_json_shape(server: ScriptedServer) -> None:
    data = run_load_sync(LoadConfig(server.url + "/ok", n=5, c=1)).to_json()
    assert set(data) >= {"url", "n", "c", "total_s", "rps", "latency_s", "status", "errors"}
    assert (data["url"], data["n"], data["c"], data["errors"]) == (server.url + "/ok", 5, 1, {})
    assert set(data["latency_s"]) == {"min", "mean", "p50", "p90", "p99", "max"}
    assert data["aborted"] is None


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_run_load_on_a_plain_asyncio_loop(server: ScriptedServer) -> None:
    assert "uvloop" not in type(asyncio.get_running_loop()).__module__
    result = await run_load(LoadConfig(server.url + "/status/201", n=12, c=3))
    _ok(result)
    assert result.summary().status == {201: 12}
    assert len(server.log.opened) == 3


def test_ctrl_c_after_a_load_still_interrupts(server: ScriptedServer) -> None:
    """The driver's Ctrl-C handler is gone once the run ends: a later Ctrl-C raises as usual
    (uvloop leaves its handler bound to the closed loop, which swallowed it)."""
    before = signal.getsignal(signal.SIGINT)
    _ok(run_load_sync(LoadConfig(server.url + "/ok", n=4, c=2)))
    assert signal.getsignal(signal.SIGINT) is before
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        time.sleep(5.0)
    timer.join()
