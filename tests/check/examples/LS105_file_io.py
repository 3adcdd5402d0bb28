import io
import os
import shutil
from pathlib import Path

from PIL import Image

from fastapi import FastAPI

app = FastAPI()
BASE = Path("/srv/data")


def load(name):
    with open(name) as handle:  # LS105
        return handle.read()


@app.get("/read")
async def read(name: str):
    return load(name)  # OK: reported at the blocking call


@app.get("/write")
async def write(name: str):
    (BASE / name).write_text("x")  # LS105
    path = Path(name)
    if path.exists():  # OK: a metadata call is LS120, off by default
        os.remove(path)  # OK: one directory entry removed is LS120 too
    shutil.rmtree("/tmp/x")  # LS105


@app.get("/sync")
def sync_read(name: str):
    return load(name)  # OK


@app.get("/list")
async def listing():
    import io

    names = os.listdir("/srv")  # LS105
    with io.open("x.txt") as handle:  # LS105
        return names, handle.read()


@app.get("/thumbnail")
async def thumbnail(data: bytes, pid: int):
    image = Image.open(io.BytesIO(data))  # OK: an in-memory buffer, no disk
    with open(f"/proc/{pid}/statm") as handle:  # OK: a kernel file, no disk
        pages = handle.read()
    path = "/sys/fs/cgroup/memory.max" if pid else "/sys/fs/cgroup/memory/memory.limit_in_bytes"
    with open(path) as handle:  # OK
        limit = handle.read()
    image.save("thumb.png")  # LS105
    return pages, limit


@app.get("/boot")
async def boot(pid: int):
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text()  # OK: a kernel file
    stat = Path(f"/proc/{pid}/stat").read_text()  # OK
    with open(os.devnull, "w") as sink:  # OK: a device, no disk
        sink.write(stat)
    return boot_id
