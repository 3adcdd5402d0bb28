"""A controller process started as ``python -m svc.controller``: its loop is its own."""

import asyncio
import sys
import time


async def main(job: str):
    time.sleep(1)  # OK: run by the module's `__main__` block below
    return job


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
