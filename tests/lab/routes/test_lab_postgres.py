"""`loopsight lab --db postgresql://...`: the database group against the real server."""

from __future__ import annotations

import pytest

from loopsight.lab.runner import LabOptions, run_lab
from loopsight.lab.scenarios import select

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_db_group_on_postgresql(pg_url: str) -> None:
    options = LabOptions(scale=0.1, open_mode="all", n=20, c=10, database_url=pg_url)
    lab = run_lab(select(groups=["db"]), options)
    assert lab.aborted is None
    assert lab.database == "postgresql"
    runs = {run.scenario.name: run for run in lab.runs}
    assert set(runs) == {"db-sync-driver", "db-async-session", "db-sync-route"}
    for name, run in runs.items():
        assert run.load.summary().status == {200: 20}, name
    bad = runs["db-sync-driver"]
    assert bad.findings
    assert bad.stalls is not None
    assert bad.stalls.count >= 1
    assert (bad.loop_blocked_share or 0.0) > 0.5
    for name in ("db-async-session", "db-sync-route"):
        good = runs[name]
        assert not good.findings, name
        assert good.stalls is not None
        assert good.stalls.count == 0, (name, good.stalls)
    # pg_sleep waits on the server: 20 requests over 10 connections are two rounds of 1 s,
    # serial (20 s) only when the sync driver holds the loop.
    session = runs["db-async-session"]
    assert session.model is not None
    assert session.model.total_s < 3.0
    assert bad.total_s > 3 * session.total_s


def test_sync_route_survives_more_requests_than_threads(pg_url: str) -> None:
    # c=100 against 40 thread tokens and 40 pooled connections: with its Session from a yield
    # dependency this route deadlocked until the pool's 30 s timeout (fastapi/fastapi#3205).
    lab = run_lab(
        select(["db-async-session", "db-sync-route"]),
        LabOptions(scale=0.03, open_mode="all", n=300, c=100, database_url=pg_url),
    )
    assert lab.aborted is None
    for run in lab.runs:
        assert run.load.summary().status == {200: 300}, run.scenario.name
