"""LS105: file I/O in a coroutine runs in a thread (unsafe)."""

import shutil

from starlette.requests import Request
from starlette.concurrency import run_in_threadpool


async def archive(request: Request):
    form = await request.form()
    await run_in_threadpool(shutil.copyfile, form["src"], "/tmp/archive")  # copy first
    return (await run_in_threadpool(shutil.disk_usage, "/tmp")).free
