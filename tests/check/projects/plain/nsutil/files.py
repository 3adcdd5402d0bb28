import os

remove = os.remove


def wipe(path):
    remove(path)  # LS105
