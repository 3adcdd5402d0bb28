"""Apps built by factories, annotated or not, and routes declared on them."""

import time

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/inner")
    async def inner():
        time.sleep(1)  # LS101 [route: GET /inner]

    app = CORSMiddleware(app)
    return app


def build():
    return FastAPI()


api = create_app()
other = build()


@api.get("/outer")
async def outer():
    time.sleep(1)  # LS101 [route: GET /outer]


@other.post("/built")
async def built():
    time.sleep(1)  # LS101 [route: POST /built]
