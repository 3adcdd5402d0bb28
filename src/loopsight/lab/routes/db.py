"""Seed 002's database patterns: the same slow query through a sync driver on the loop, an
``AsyncSession``, and a sync ``Session`` in a ``def`` route; plus a validated write.

The database comes from ``LOOPSIGHT_LAB_DB`` (see ``loopsight.lab._db``); the slow query takes
one seed-second, ``scaled(1.0)``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from loopsight.lab._db import (
    SQLITE_SLOW_SQL,
    Database,
    Item,
    get_async_session,
)

router = APIRouter(prefix="/db", tags=["db"])


class ItemIn(BaseModel):
    """A new item: validated before anything is written."""

    name: str = Field(min_length=1, max_length=50)
    price: float = Field(gt=0)


class ItemOut(BaseModel):
    """An item as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    price: float


# A sync helper: whoever calls it waits for the database, thread or event loop alike.
def count_slowly(database: Database) -> int:
    if database.dialect == "postgresql":
        with psycopg.connect(database.psycopg_dsn) as conn:
            sql = "SELECT count(*) FROM pg_sleep(%(s)s)"  # psycopg's placeholder for PG_SLOW_SQL
            row = conn.execute(sql, {"s": database.slow_seconds}).fetchone()
    else:
        with contextlib.closing(sqlite3.connect(database.sqlite_path)) as conn:
            row = conn.execute(SQLITE_SLOW_SQL, {"n": database.slow_size}).fetchone()
    assert row is not None
    return int(row[0])


# Bad: the sync driver runs on the event loop; every other request waits for the query.
@router.get("/sync-driver")
async def db_sync_driver(request: Request) -> dict[str, int]:
    database: Database = request.app.state.db
    return {"count": count_slowly(database)}


# Good: the async driver awaits the database; the loop serves others meanwhile.
@router.get("/async-session")
async def db_async_session(
    request: Request, session: Annotated[AsyncSession, Depends(get_async_session)]
) -> dict[str, int]:
    database: Database = request.app.state.db
    result = await session.execute(database.slow_query())
    return {"count": int(result.scalar_one())}


# Good: a def route with a sync Session runs in the thread pool. The Session is opened here,
# not by a yield dependency: FastAPI validates a def route's return value in the thread pool
# before such a dependency closes its session, so with more requests than threads every thread
# can wait for a connection held by a request that waits for a thread (fastapi/fastapi#3205,
# #12066; on PostgreSQL at c=100 the lab deadlocked until the pool's 30 s timeout).
@router.get("/sync-route")
def db_sync_route(request: Request) -> dict[str, int]:
    database: Database = request.app.state.db
    with database.sessions() as session:
        result = session.execute(database.slow_query())
        return {"count": int(result.scalar_one())}


@router.post("/items", status_code=status.HTTP_201_CREATED)
async def create_item(
    item: ItemIn, session: Annotated[AsyncSession, Depends(get_async_session)]
) -> ItemOut:
    """Store a new item; a name already taken is 409 and nothing is written."""
    row = Item(name=item.name, price=item.price)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"an item named {item.name!r} already exists"
        ) from None
    return ItemOut.model_validate(row)


@router.get("/items")
async def list_items(session: Annotated[AsyncSession, Depends(get_async_session)]) -> list[ItemOut]:
    """Every item, oldest first."""
    rows = await session.scalars(select(Item).order_by(Item.id))
    return [ItemOut.model_validate(row) for row in rows]
