"""Many entry points reach the same sites: one finding per site lists them all.

A ``# noqa`` on a call in an entry function drops that entry point from the sites it reaches
through that call only; a site every path to which is silenced is not reported.
"""

from fastapi import FastAPI

from app.helpers import both, silenced, through_noqa

app = FastAPI()


@app.get("/a")
async def route_a():
    both()  # OK: reported at the two sleeps


@app.get("/b")
async def route_b():
    both()  # OK: reported at the two sleeps
    through_noqa()


@app.post("/c")
async def route_c():
    both()
    silenced()
    through_noqa()  # noqa: LS101


@app.get("/d")
async def route_d():
    both()  # noqa: LS101
