# loopsight-config: select=LS,possible
import functools
import sqlite3
import subprocess
import threading

import requests

from fastapi import FastAPI

app = FastAPI()
_lock = threading.Lock()
_config = None
_counts: dict[str, int] = {}


@functools.lru_cache(maxsize=1)
def ssh_version():
    return subprocess.check_output(["ssh", "-V"])  # LS121


@app.get("/version")
async def version():
    return ssh_version()


async def config():
    global _config
    if _config is None:
        with _lock:  # LS121
            if _config is None:
                _config = open("/etc/app.toml").read()  # LS121
    return _config


async def count(name: str):
    # a lock held only around dict updates: not reported
    with _lock:  # OK
        _counts[name] = _counts.get(name, 0) + 1
        return _counts[name]


async def save(name: str):
    # a lock held around file I/O: others wait on it for as long as the write takes
    with _lock:  # LS110
        with open("/srv/counts", "a") as handle:  # LS105
            handle.write(name)


async def fetch(url: str):
    # ``get`` is a dict method name too: a catalogued blocking call is still no memory touch
    with _lock:  # LS110
        return requests.get(url).text  # LS102


class Registry:
    def __init__(self):
        self.lock = threading.Lock()
        self.items: dict[str, object] = {}
        self.db = sqlite3.connect("registry.db")

    def _remember(self, key, value):
        self.items[key] = Entry(value)

    def _persist(self, key):
        with open("/srv/registry", "a") as handle:  # LS105
            handle.write(key)

    async def add(self, key, value):
        # a lock around a helper of this module that only touches memory: not reported
        with self.lock:  # OK
            self._remember(key, value)

    async def save(self, key):
        # a lock around a helper of this module that writes a file: others wait on it
        with self.lock:  # LS110
            self._persist(key)

    async def record(self, key):
        # a lock around a query on a connection the instance holds
        with self.lock:  # LS110
            self.db.execute("insert into keys values (?)", (key,))  # LS106


class Entry:
    def __init__(self, value):
        self.value = value
