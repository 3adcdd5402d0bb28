import asyncio
import queue
import threading

lock = threading.Lock()
ready = threading.Event()
jobs = queue.Queue()
alock = asyncio.Lock()


async def critical():
    with lock:  # LS110
        pass


async def wait_ready():
    ready.wait()  # LS110
    return jobs.get()  # LS110


async def good():
    async with alock:  # OK
        pass
