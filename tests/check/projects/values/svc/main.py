from fastapi import FastAPI

import httpx

from svc.clients import Api, Store, make_cache, make_client

app = FastAPI()


@app.get("/or")
async def with_or():
    client = None or httpx.Client()
    return client.get("https://example.com")  # LS102 [route: GET /or]


@app.get("/ifexp")
async def with_ifexp(flag: bool = False):
    client = httpx.Client() if flag else None
    other = None if flag else httpx.Client()
    client.get("https://example.com")  # LS102
    return other.post("https://example.com")  # LS102


@app.get("/attr")
async def with_attr():
    return Store().load("k")  # OK: reported at the blocking call


@app.get("/factory")
async def with_factory():
    make_cache().get("k")  # LS106
    return make_client().get("https://example.com")  # LS102


@app.get("/property")
async def with_property():
    return Api().fetch()  # OK: reported at the blocking call


@app.get("/clean")
async def clean():
    value = None or "text"
    return value.upper()  # OK
