"""Seed 002's external-service patterns: the same slow upstream call with ``requests`` on the
loop, with a shared ``httpx.AsyncClient``, and with ``requests`` in a ``def`` route.

Environment, read at start-up:

``LOOPSIGHT_LAB_UPSTREAM``
    Base URL of the slow upstream (``loopsight.lab.upstream:app``), e.g. ``http://127.0.0.1:8001``.
    Unset: these routes answer 503 and say so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import requests
from fastapi import APIRouter, FastAPI, HTTPException, Request, status

__all__ = ["ENV_VAR", "lifespan", "router"]

ENV_VAR = "LOOPSIGHT_LAB_UPSTREAM"
_CONNECTIONS = 200  # above the lab's c=100, so the client's pool never queues a request
_TIMEOUT_S = 60.0

router = APIRouter(prefix="/external", tags=["external"])


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Share one ``httpx.AsyncClient`` and one ``requests.Session`` for the app's life."""
    app.state.upstream = os.environ.get(ENV_VAR, "").rstrip("/")
    limits = httpx.Limits(max_connections=_CONNECTIONS, max_keepalive_connections=_CONNECTIONS)
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=_CONNECTIONS)
    session.mount("http://", adapter)
    async with httpx.AsyncClient(limits=limits, timeout=_TIMEOUT_S) as client:
        app.state.http_client = client
        app.state.http_session = session
        try:
            yield
        finally:
            session.close()


def upstream_url(request: Request, path: str) -> str:
    """``path`` on the configured upstream, or 503 when none is configured."""
    base: str = request.app.state.upstream
    if not base:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"no upstream: set {ENV_VAR} to the base URL of loopsight.lab.upstream:app",
        )
    return base + path


def _bad_gateway(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_502_BAD_GATEWAY, f"upstream failed: {exc}")


# A sync helper: requests waits for the upstream on whatever thread calls it.
def fetch_slow(url: str) -> Any:
    response = requests.get(url, timeout=_TIMEOUT_S)
    response.raise_for_status()
    return response.json()


# Bad: requests.get on the event loop; nothing else runs until the upstream answers.
@router.get("/requests-in-async")
async def requests_in_async(request: Request) -> Any:
    url = upstream_url(request, "/slow")
    try:
        return fetch_slow(url)
    except requests.RequestException as exc:
        raise _bad_gateway(exc) from exc


# Good: the shared async client awaits the upstream; the loop serves others meanwhile.
@router.get("/async-client")
async def async_client(request: Request) -> Any:
    url = upstream_url(request, "/slow")
    client: httpx.AsyncClient = request.app.state.http_client
    try:
        response = await client.get(url)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise _bad_gateway(exc) from exc
    return response.json()


# Good: a def route runs in the thread pool, so the blocking requests call costs a thread.
@router.get("/requests-sync-route")
def requests_sync_route(request: Request) -> Any:
    url = upstream_url(request, "/slow")
    session: requests.Session = request.app.state.http_session
    try:
        response = session.get(url, timeout=_TIMEOUT_S)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise _bad_gateway(exc) from exc
    return response.json()
