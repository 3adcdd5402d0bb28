"""Excluded by default (see DEFAULT_EXCLUDE in src/loopsight/check/_files.py)."""

import time


async def runs_under_its_own_loop():
    time.sleep(1)  # OK: excluded tree
