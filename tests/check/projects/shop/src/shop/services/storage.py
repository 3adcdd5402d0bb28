import json
import time
from pathlib import Path

__all__ = ["audit", "load_catalogue", "ping_forever", "read_blob", "warm"]


def read_blob(item_id):
    return Path(f"/blobs/{item_id}").read_bytes()  # LS105


def load_catalogue():
    with open("catalogue.json") as handle:  # LS105
        return json.load(handle)


def audit(message):
    with open("audit.log", "a") as handle:  # LS105
        handle.write(message)


def warm():
    time.sleep(1)  # LS101


def ping_forever(n):
    # mutual recursion: the walk must terminate and still find the sleep
    return pong(n - 1) if n else time.sleep(0.1)  # LS101


def pong(n):
    return ping_forever(n)
