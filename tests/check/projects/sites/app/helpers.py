"""Two blocking sites behind one call: both are reported, each once."""

import time


def first():
    time.sleep(1)  # LS101 [route: GET /a]


def second():
    time.sleep(2)  # LS101 [route: GET /a]


def both():
    first()
    second()


def silenced():
    time.sleep(3)  # noqa: LS101


def through_noqa():
    time.sleep(4)  # LS101 [route: GET /b]
