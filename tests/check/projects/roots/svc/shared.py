"""Helpers awaited from several places: reported only when a server-side function awaits them."""

import time


def slow():
    time.sleep(1)  # LS101 [route: GET /report]


async def build_report():
    slow()  # OK: reported at the sleep


async def export_only():
    time.sleep(2)  # OK: awaited only by CLI commands
