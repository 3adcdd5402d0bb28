"""A protocol satisfied structurally: its implementers are found by their methods."""

import subprocess
from typing import Protocol

from fastapi import FastAPI

app = FastAPI()


class Notifier(Protocol):
    def notify(self, text: str) -> None: ...

    def close(self) -> None: ...


class ShellNotifier:
    def notify(self, text: str) -> None:
        subprocess.run(["notify-send", text])  # LS104 [route: POST /notify]

    def close(self) -> None:
        pass


class Partial:
    def notify(self, text: str) -> None:
        open("never").read()


def pick() -> Notifier:
    return ShellNotifier()


@app.post("/notify")
async def notify(text: str):
    pick().notify(text)  # OK: reported at the blocking call
