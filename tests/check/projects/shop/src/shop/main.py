from contextlib import asynccontextmanager

from fastapi import FastAPI

from shop import load_catalogue
from shop.middleware import TimingMiddleware
from shop.routes import items, users
from shop.services import storage


@asynccontextmanager
async def lifespan(app):
    load_catalogue()  # OK: reported at the blocking call
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(items.router, prefix="/v1")
app.include_router(users.router)
app.add_middleware(TimingMiddleware)


@app.on_event("startup")
def warm_up():
    storage.warm()  # OK: reported at the blocking call


@app.exception_handler(ValueError)
async def on_value_error(request, exc):
    storage.audit(str(exc))  # OK: reported at the blocking call
    return None
