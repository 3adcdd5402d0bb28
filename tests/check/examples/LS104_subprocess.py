import asyncio
import os
import subprocess


def run_git():
    return subprocess.check_output(["git", "status"])


async def status():
    return run_git()  # LS104


async def shell():
    os.system("ls")  # LS104
    proc = subprocess.Popen(["ls"])  # LS104
    proc.wait()  # LS104


async def good():
    proc = await asyncio.create_subprocess_exec("ls")  # OK
    await proc.wait()  # OK
