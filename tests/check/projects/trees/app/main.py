"""Test and script trees are not checked by default: only this module's route is reported."""

import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    time.sleep(1)  # LS101 [route: GET /]
