"""The external routes without an upstream: 503 that names the setting to fix."""

from __future__ import annotations

import httpx
import pytest

from loopsight.server import free_port

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "route",
    ["/external/requests-in-async", "/external/async-client", "/external/requests-sync-route"],
)
async def test_no_upstream_is_503_with_the_setting(
    lab_client: httpx.AsyncClient, route: str
) -> None:
    response = await lab_client.get(route)
    assert response.status_code == 503
    assert "LOOPSIGHT_LAB_UPSTREAM" in response.json()["detail"]


@pytest.mark.parametrize(
    "route",
    ["/external/requests-in-async", "/external/async-client", "/external/requests-sync-route"],
)
async def test_unreachable_upstream_is_502(lab_client: httpx.AsyncClient, route: str) -> None:
    from loopsight.lab.app import app

    configured = app.state.upstream
    # Nothing listens on a port that was free a moment ago: the connection is refused.
    app.state.upstream = f"http://127.0.0.1:{free_port()}"
    try:
        response = await lab_client.get(route)
    finally:
        app.state.upstream = configured
    assert response.status_code == 502
    assert response.json()["detail"].startswith("upstream failed:")
