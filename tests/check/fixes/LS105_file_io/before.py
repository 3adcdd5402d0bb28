"""LS105: file I/O in a coroutine runs in a thread (unsafe)."""

import shutil

from starlette.requests import Request


async def archive(request: Request):
    form = await request.form()
    shutil.copyfile(form["src"], "/tmp/archive")  # copy first
    return shutil.disk_usage("/tmp").free
