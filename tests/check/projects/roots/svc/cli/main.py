"""A typer app and a click command: their loop is their own ``asyncio.run``."""

import asyncio
import time

import click
import typer

from svc.shared import build_report, export_only

cli = typer.Typer()


@cli.command()
async def export():
    await export_only()
    await build_report()
    time.sleep(1)  # OK: a CLI command


async def amain():
    time.sleep(1)  # OK: run by `main` below


def main():
    asyncio.run(amain())


@click.command()
def sync_command():
    asyncio.run(helper_loop())


async def helper_loop():
    time.sleep(1)  # OK: run by a click command's asyncio.run
