"""The db routes: the slow query three ways, and a write that is all or nothing (SQLite
in-process; PostgreSQL on a real server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from loopsight.lab.app import app
from loopsight.server import UvicornServer

from ._probe import blocking_probe
from .conftest import lab_server

pytestmark = pytest.mark.anyio

PG_SCALE = 0.4  # one seed-second of pg_sleep is 0.4 s: far above a probe under load
SLOW_ROUTES = ["/db/sync-driver", "/db/async-session", "/db/sync-route"]


@pytest.mark.parametrize("route", SLOW_ROUTES)
async def test_slow_query_counts_to_the_calibrated_size(
    lab_client: httpx.AsyncClient, route: str
) -> None:
    size = app.state.db.slow_size
    assert size > 1  # fitted at start-up, not a default
    response = await lab_client.get(route)
    assert response.status_code == 200
    assert response.json() == {"count": size}


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def _names(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/db/items")
    assert response.status_code == 200
    return [item["name"] for item in response.json()]


async def check_writes(client: httpx.AsyncClient) -> None:
    """201 with the row, 422 and 409 with nothing written, as seen through GET /db/items."""
    name = _unique("lamp")
    created = await client.post("/db/items", json={"name": name, "price": 12.5})
    assert created.status_code == 201
    row = created.json()
    assert row["name"] == name
    assert row["price"] == 12.5
    assert isinstance(row["id"], int)
    before = await _names(client)
    assert before.count(name) == 1

    bad_bodies = [
        {"name": "", "price": 1.0},
        {"name": "x" * 51, "price": 1.0},
        {"name": _unique("free"), "price": 0},
        {"name": _unique("negative"), "price": -3},
        {"name": _unique("no-price")},
        {"price": 2.0},
    ]
    for body in bad_bodies:
        response = await client.post("/db/items", json=body)
        assert response.status_code == 422, body
    assert await _names(client) == before

    duplicate = await client.post("/db/items", json={"name": name, "price": 99.0})
    assert duplicate.status_code == 409
    assert name in duplicate.json()["detail"]
    listed = (await client.get("/db/items")).json()
    assert [item for item in listed if item["name"] == name] == [row]  # the first price stands

    # The session rolled back: the next write goes through.
    again = await client.post("/db/items", json={"name": _unique("chair"), "price": 3.0})
    assert again.status_code == 201
    assert again.json()["id"] > row["id"]


async def test_writes_sqlite(lab_client: httpx.AsyncClient) -> None:
    await check_writes(lab_client)


async def test_the_database_is_sqlite_by_default() -> None:
    assert app.state.db.dialect == "sqlite"
    assert app.state.db.sqlite_path.endswith("lab.db")


@pytest.fixture(scope="module")
def pg_server(pg_url: str) -> Iterator[UvicornServer]:
    with lab_server(PG_SCALE, LOOPSIGHT_LAB_DB=pg_url) as server:
        yield server


@pytest.mark.postgres
@pytest.mark.slow
async def test_postgres_routes_and_writes(pg_server: UvicornServer) -> None:
    async with httpx.AsyncClient(base_url=pg_server.url, timeout=30) as client:
        for route in SLOW_ROUTES:
            response = await client.get(route)
            assert response.status_code == 200, route
            assert response.json() == {"count": 1}, route  # one pg_sleep row
        await check_writes(client)


@pytest.mark.postgres
@pytest.mark.slow
async def test_postgres_sync_driver_blocks_and_async_session_does_not(
    pg_server: UvicornServer,
) -> None:
    bad = await blocking_probe(pg_server, "/db/sync-driver")
    good = await blocking_probe(pg_server, "/db/async-session")
    assert bad.worked, bad
    assert good.worked, good
    assert bad.blocks, bad
    assert good.clean, good
