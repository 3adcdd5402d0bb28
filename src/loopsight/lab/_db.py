"""The lab's database: one ``items`` table, a slow query of one seed-second, sync and async
engines, and the FastAPI dependencies that hand out sessions.

Environment, read at start-up:

``LOOPSIGHT_LAB_DB``
    SQLAlchemy-style URL of the database: ``sqlite:///path/to/lab.db`` or
    ``postgresql://user@host:port/db`` (any driver suffix is replaced by the lab's own).
    Default: a SQLite file in a temporary directory made at start-up and removed at shutdown.

The same database is reached three ways, one per route of ``loopsight.lab.routes.db``: the plain
sync driver (``sqlite3`` / ``psycopg``), SQLAlchemy's async engine (aiosqlite / asyncpg) and its
sync engine (pysqlite / psycopg). The slow query is real database work: on PostgreSQL
``pg_sleep(scaled(1.0))``; on SQLite a recursive CTE counting to ``n``, with ``n`` fitted once
at start-up so that it takes ``scaled(1.0)`` seconds on this machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from sqlalchemy import Engine, String, TextClause, create_engine, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from loopsight.lab._cpu import size_for
from loopsight.lab._scale import scaled

__all__ = [
    "ENV_VAR",
    "PG_SLOW_SQL",
    "SQLITE_SLOW_SQL",
    "Base",
    "Database",
    "Item",
    "get_async_session",
    "lifespan",
]

ENV_VAR = "LOOPSIGHT_LAB_DB"

SQLITE_SLOW_SQL = (
    "WITH RECURSIVE counter(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM counter WHERE x < :n) "
    "SELECT count(*) FROM counter"
)
"""Counts to ``:n`` inside SQLite: CPU work in the database engine, which releases the GIL."""

PG_SLOW_SQL = "SELECT count(*) FROM pg_sleep(:s)"
"""Waits ``:s`` seconds inside PostgreSQL and returns 1."""

# Sized for c=100: on PostgreSQL 80 async + 40 sync connections stay within the server's default
# max_connections=100 once idle overflow is closed; SQLite has no server limit.
_POOLS: dict[str, dict[str, dict[str, int]]] = {
    "postgresql": {
        "async": {"pool_size": 20, "max_overflow": 60},
        "sync": {"pool_size": 10, "max_overflow": 30},
    },
    "sqlite": {
        "async": {"pool_size": 20, "max_overflow": 80},
        "sync": {"pool_size": 10, "max_overflow": 90},
    },
}
_DRIVERS = {
    "postgresql": ("postgresql+psycopg", "postgresql+asyncpg"),
    "sqlite": ("sqlite+pysqlite", "sqlite+aiosqlite"),
}
_SQLITE_BUSY_TIMEOUT_S = 30.0  # concurrent writers wait for the lock instead of failing at once


class Base(DeclarativeBase):
    """Declarative base of the lab's ORM models."""


class Item(Base):
    """A row of ``items``: a named thing with a price; names are unique."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    price: Mapped[float]


@dataclass
class Database:
    """One database, its engines and session factories, and the size of its slow query.

    ``dialect`` is ``"sqlite"`` or ``"postgresql"``. ``sqlite_path`` and ``psycopg_dsn`` are
    what the plain sync drivers connect to; ``slow_size`` (SQLite) and ``slow_seconds``
    (PostgreSQL) parameterise the slow query.
    """

    dialect: str
    engine: Engine
    async_engine: AsyncEngine
    sessions: sessionmaker[Session]
    async_sessions: async_sessionmaker[AsyncSession]
    sqlite_path: str = ""
    psycopg_dsn: str = ""
    slow_size: int = 0
    slow_seconds: float = 0.0

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Engines for ``url`` (nothing is connected until first use)."""
        parsed = make_url(url)
        dialect = parsed.get_backend_name()
        if dialect not in _DRIVERS:
            raise SystemExit(f"{ENV_VAR}={url!r}: the lab runs on sqlite or postgresql URLs")
        sync_driver, async_driver = _DRIVERS[dialect]
        connect_args: dict[str, Any] = {}
        sqlite_path = psycopg_dsn = ""
        if dialect == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise SystemExit(f"{ENV_VAR}={url!r}: give SQLite a file, not memory")
            sqlite_path = str(parsed.database)
            connect_args = {"timeout": _SQLITE_BUSY_TIMEOUT_S}
        else:
            psycopg_dsn = parsed.set(drivername="postgresql").render_as_string(False)
        pools = _POOLS[dialect]
        engine = create_engine(
            parsed.set(drivername=sync_driver), connect_args=connect_args, **pools["sync"]
        )
        async_engine = create_async_engine(
            parsed.set(drivername=async_driver), connect_args=connect_args, **pools["async"]
        )
        return cls(
            dialect=dialect,
            engine=engine,
            async_engine=async_engine,
            sessions=sessionmaker(engine, expire_on_commit=False),
            async_sessions=async_sessionmaker(async_engine, expire_on_commit=False),
            sqlite_path=sqlite_path,
            psycopg_dsn=psycopg_dsn,
        )

    def slow_query(self) -> TextClause:
        """The slow query as a SQLAlchemy statement, its parameter bound."""
        if self.dialect == "postgresql":
            return text(PG_SLOW_SQL).bindparams(s=self.slow_seconds)
        return text(SQLITE_SLOW_SQL).bindparams(n=self.slow_size)

    def _sqlite_setup(self, target_s: float) -> int:
        with contextlib.closing(sqlite3.connect(self.sqlite_path)) as conn:
            # WAL lets readers run beside a writer; it is a property of the file, set once.
            conn.execute("PRAGMA journal_mode=WAL")
            return size_for(target_s, lambda n: conn.execute(SQLITE_SLOW_SQL, {"n": n}).fetchone())

    async def start(self) -> None:
        """Create the tables and size the slow query to ``scaled(1.0)`` seconds."""
        if self.dialect == "sqlite":
            self.slow_size = await anyio.to_thread.run_sync(self._sqlite_setup, scaled(1.0))
        else:
            self.slow_seconds = scaled(1.0)
        async with self.async_engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.async_engine.dispose()
        self.engine.dispose()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database named by ``LOOPSIGHT_LAB_DB`` as ``app.state.db`` for the app's life."""
    url = os.environ.get(ENV_VAR, "")
    scratch = ""
    if not url:
        scratch = tempfile.mkdtemp(prefix="loopsight-lab-")
        url = "sqlite:///" + os.path.join(scratch, "lab.db")
    database = Database.from_url(url)
    try:
        await database.start()
        app.state.db = database
        yield
    finally:
        await database.close()
        if scratch:
            await anyio.to_thread.run_sync(shutil.rmtree, scratch, True)  # off the loop


async def get_async_session(request: Request) -> AsyncIterator[AsyncSession]:
    """An ``AsyncSession`` for one request, closed after the response (dependency)."""
    database: Database = request.app.state.db
    async with database.async_sessions() as session:
        yield session
