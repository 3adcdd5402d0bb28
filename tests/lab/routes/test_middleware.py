"""The middleware sub-apps: one hello route behind none, a pure-ASGI and a BaseHTTPMiddleware
timing middleware, mounted under ``/mw``."""

from __future__ import annotations

import httpx
import pytest
from starlette.middleware.base import BaseHTTPMiddleware

from loopsight.lab.routes.middleware import MOUNTS, ProcessTimeMiddleware

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mount", ["/mw/none", "/mw/asgi", "/mw/base"])
async def test_hello_answers_under_each_mount(lab_client: httpx.AsyncClient, mount: str) -> None:
    response = await lab_client.get(f"{mount}/hello")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello World"}
    header = response.headers.get("x-process-time")
    if mount == "/mw/none":
        assert header is None
    else:
        assert header is not None
        assert 0.0 <= float(header) < 5.0


async def test_unknown_paths_under_a_mount_are_404(lab_client: httpx.AsyncClient) -> None:
    assert (await lab_client.get("/mw/asgi/nope")).status_code == 404
    assert (await lab_client.get("/mw/none/docs")).status_code == 404  # no docs per sub-app


def test_each_sub_app_has_the_middleware_it_claims() -> None:
    kinds = {path: [m.cls for m in app.user_middleware] for path, app in MOUNTS.items()}
    assert kinds == {
        "/mw/none": [],
        "/mw/asgi": [ProcessTimeMiddleware],
        "/mw/base": [BaseHTTPMiddleware],
    }


async def test_pure_asgi_middleware_passes_other_scopes_through() -> None:
    seen: list[str] = []

    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    middleware = ProcessTimeMiddleware(inner)  # type: ignore[arg-type]
    await middleware({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
