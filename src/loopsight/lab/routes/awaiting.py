"""Seed 002's "incorrect use of async and await": a project coroutine called without ``await``.

``GET /await/missing`` answers at once and the audit record is never written (Python only warns
``coroutine 'save_audit_record' was never awaited``); ``GET /await/fixed`` awaits it.
``GET /await/audit`` counts the records written.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from loopsight.lab._scale import scaled

__all__ = ["audit_log", "router", "save_audit_record"]

router = APIRouter(prefix="/await", tags=["await"])

audit_log: list[str] = []
"""Audit records written since start-up."""


async def save_audit_record(event: str) -> None:
    """Write one audit record (the ``sleep`` stands for the store's round trip)."""
    await asyncio.sleep(scaled(0.5))
    audit_log.append(event)


# Bad: the coroutine is created and dropped; the record is never written.
@router.get("/missing")
async def await_missing() -> dict[str, str]:
    save_audit_record("missing")  # type: ignore[unused-coroutine]  # the bug on show
    return {"message": "audited"}


# Good: the record is written before the answer.
@router.get("/fixed")
async def await_fixed() -> dict[str, str]:
    await save_audit_record("fixed")
    return {"message": "audited"}


@router.get("/audit")
async def await_audit() -> dict[str, int]:
    """How many audit records have been written."""
    return {"records": len(audit_log)}
