"""An app under backend/ that imports itself as ``app.*`` (run from backend/), with a second
source root (services/) imported by its top-level name."""

from fastapi import FastAPI

from app.api.items import router
from app.db import query
from billing.charges import charge

app = FastAPI()
app.include_router(router)


@app.get("/count")
async def count():
    charge(1)  # OK: reported at the blocking call
    return query("select count(*) from items")  # OK: reported at the blocking call
