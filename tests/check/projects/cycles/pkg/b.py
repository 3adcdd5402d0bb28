import time

from pkg.a import *  # noqa: F403


class Right(Left):
    def helper_method(self):
        return open("x")


def helper():
    time.sleep(1)
