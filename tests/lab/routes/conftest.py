"""Fixtures for the lab routes: the in-process app, real lab servers, a fresh PostgreSQL database.

``LOOPSIGHT_LAB_SCALE`` is read when ``loopsight.lab.app`` is imported, so it is set here, before
any test module imports it; ``lab_client`` also pins ``_scale.SCALE`` in case something imported
the app earlier.
"""

from __future__ import annotations

import os

os.environ["LOOPSIGHT_LAB_SCALE"] = "0.02"  # before anything imports loopsight.lab.app

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest
from sqlalchemy import make_url

from _services import require
from loopsight.lab import _scale
from loopsight.server import UvicornServer

IN_PROCESS_SCALE = 0.02
LAB_APP = "loopsight.lab.app:app"
UPSTREAM_APP = "loopsight.lab.upstream:app"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """One loop for the session, so the in-process app starts once."""
    return "asyncio"


@pytest.fixture(scope="session")
async def lab_client(anyio_backend: str) -> AsyncIterator[httpx.AsyncClient]:
    """The lab app in this process, its lifespan running, with no upstream configured."""
    from loopsight.lab.app import app

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_scale, "SCALE", IN_PROCESS_SCALE)
        for name in ("LOOPSIGHT_LAB_DB", "LOOPSIGHT_LAB_UPSTREAM", "LOOPSIGHT_LAB_THREADS"):
            patch.delenv(name, raising=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
                yield client


@pytest.fixture(scope="module")
def upstream() -> Iterator[UvicornServer]:
    """The slow upstream on a real server: ``/slow`` takes 1 seed-second at scale 0.2."""
    with UvicornServer(UPSTREAM_APP, env={"LOOPSIGHT_LAB_SCALE": "0.2"}) as server:
        yield server


def lab_server(scale: float, **env: str) -> UvicornServer:
    """A lab server at ``scale`` with extra environment (not started)."""
    return UvicornServer(LAB_APP, env={"LOOPSIGHT_LAB_SCALE": repr(scale), **env})


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh database on the server at ``LOOPSIGHT_PG_URL``, dropped afterwards."""
    base = os.environ.get("LOOPSIGHT_PG_URL", "")
    require("postgres", bool(base), "LOOPSIGHT_PG_URL is not set")
    admin_dsn = make_url(base).set(drivername="postgresql").render_as_string(False)
    name = f"loopsight_lab_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        require("postgres", False, f"cannot create a database at {base}: {exc}")
    try:
        yield make_url(admin_dsn).set(database=name).render_as_string(False)
    finally:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
