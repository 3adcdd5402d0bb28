import time

from pkg.a import *  # noqa: F403


class Right(Left):
    def helper_method(self):
        return open("x")  # LS105


def helper():
    time.sleep(1)  # LS101
