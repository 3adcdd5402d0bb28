import shutil

remove = shutil.rmtree


def wipe(path):
    remove(path)  # LS105
