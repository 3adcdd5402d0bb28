"""A subprocess entry point: ``main`` runs an async hook on a loop of its own (anyio.run)."""

import time

import anyio


async def run_hook(name: str):
    time.sleep(1)  # OK: run by `main` below, on anyio's own loop


def main():
    anyio.run(run_hook, "crashed")


if __name__ == "__main__":
    main()
