"""The await routes: a coroutine called without ``await`` never runs, and Python says so."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from loopsight.lab._scale import scaled

pytestmark = pytest.mark.anyio


async def _records(client: httpx.AsyncClient) -> int:
    response = await client.get("/await/audit")
    assert response.status_code == 200
    records: int = response.json()["records"]
    return records


async def test_missing_await_skips_the_work_and_warns(lab_client: httpx.AsyncClient) -> None:
    before = await _records(lab_client)
    # CPython warns as soon as the dropped coroutine is freed, inside the request.
    with pytest.warns(RuntimeWarning, match="coroutine 'save_audit_record' was never awaited"):
        response = await lab_client.get("/await/missing")
    assert response.status_code == 200
    await asyncio.sleep(3 * scaled(0.5))  # longer than the record would have taken
    assert await _records(lab_client) == before


async def test_fixed_await_does_the_work(lab_client: httpx.AsyncClient) -> None:
    before = await _records(lab_client)
    response = await lab_client.get("/await/fixed")
    assert response.status_code == 200
    assert await _records(lab_client) == before + 1
