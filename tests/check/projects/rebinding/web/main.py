"""An app wrapped after its routes are declared: the routes stay routes."""

import time

import loopsight
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from web.asgi import TimingMiddleware

app = FastAPI()


@app.get("/slow")
async def slow():
    time.sleep(1)  # LS101 [route: GET /slow]


app = loopsight.instrument(app)
app = CORSMiddleware(app, allow_origins=["*"])
app = TimingMiddleware(app)
application = app


@application.get("/later")
async def later():
    time.sleep(1)  # LS101 [route: GET /later]
