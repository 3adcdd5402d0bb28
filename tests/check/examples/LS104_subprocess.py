import asyncio
import os
import subprocess


def run_git():
    return subprocess.check_output(["git", "status"])  # LS104


async def status():
    return run_git()  # OK: reported at the blocking call


async def shell():
    os.system("ls")  # LS104
    proc = subprocess.Popen(["ls"])  # LS104
    proc.wait()  # LS104


async def good():
    proc = await asyncio.create_subprocess_exec("ls")  # OK
    await proc.wait()  # OK


async def reap():
    os.waitpid(-1, os.WNOHANG)  # OK: returns at once
    os.waitpid(-1, 0)  # LS104
