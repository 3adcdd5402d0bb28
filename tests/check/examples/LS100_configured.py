# loopsight-config: extra-blocking-calls=legacy.client.fetch
from legacy import client
from legacy.client import fetch


async def handler():
    client.fetch("x")  # LS100
    fetch("y")  # LS100
    client.other("z")  # OK
