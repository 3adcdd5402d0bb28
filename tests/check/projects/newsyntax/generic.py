"""PEP 695 generics: read on every interpreter loopsight supports (blanked below 3.12)."""

import time
from fastapi import FastAPI

app = FastAPI()

type Pair[T] = tuple[T, T]


class Box[T]:
    def __init__(self, item: T) -> None:
        self.item = item


def first[T](items: list[T]) -> T:
    time.sleep(0.1)  # LS101 [route: GET /first]
    return items[0]


@app.get("/first")
async def route():
    return first([1, 2])  # OK: reported at the blocking call
