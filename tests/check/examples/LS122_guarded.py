# loopsight-config: select=LS,possible
import asyncio
import os
import subprocess
import sys
import time

import requests
from fastapi import FastAPI

app = FastAPI()


class Settings:
    DEBUG = False


settings = Settings()


@app.get("/bundle.js")
async def bundle():
    if settings.DEBUG:
        return requests.get("http://127.0.0.1:5173/bundle.js").text  # LS122
    return ""


def can_block_current_thread() -> bool:
    return False


def refresh_token():
    if not can_block_current_thread():
        raise RuntimeError("refresh_token blocks: call it from a worker thread")
    time.sleep(1)  # LS122
    return "token"


@app.get("/token")
async def token():
    return refresh_token()


def emit(event: str):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("emit from sync code only")
    time.sleep(0.1)  # LS122
    return event


async def on_event(event: str):
    return emit(event)


def login():
    if not can_block_current_thread():
        raise RuntimeError("login needs a terminal")
    return poll()


def poll():
    # only ever called after login's check: never on the loop, not reported at all
    time.sleep(5)  # OK
    return "token"


@app.get("/login")
async def login_route():
    return login()


@app.post("/open")
async def open_in_editor(path: str):
    if sys.platform == "win32":
        subprocess.run(["notepad", path])  # LS122
    if os.name != "nt":
        return path
    else:
        subprocess.run(["start", path])  # LS122
    return path
