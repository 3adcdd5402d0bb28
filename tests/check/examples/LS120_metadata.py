# loopsight-config: select=LS,possible
import os
from pathlib import Path

from fastapi import FastAPI

app = FastAPI()
BASE = Path("/srv/data")


@app.get("/size")
async def size(name: str):
    path = BASE / name
    if path.exists():  # LS120
        return path.stat().st_size  # LS120
    if os.path.isfile(name):  # LS120
        return os.path.getsize(name)  # LS120
    BASE.mkdir(exist_ok=True)  # LS120
    return path.read_text()  # LS105


@app.get("/tree")
async def tree():
    return [name for _, _, names in os.walk("/srv") for name in names]  # LS105


@app.post("/check")
async def readable(directory: str, name: str):
    # opened and closed, nothing listed: a readability check
    with os.scandir(directory):  # LS120
        pass
    os.unlink(name)  # LS120
    with os.scandir(directory) as entries:  # LS105
        return [entry.name for entry in entries]
