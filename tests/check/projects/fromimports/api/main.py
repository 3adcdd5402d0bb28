"""Library classes imported by name, under another name, or from a package that re-exports
them: each is canonicalised as the attribute form is."""

from fastapi import FastAPI
from httpx._client import Client as HttpClient
from pathlib import PosixPath
from redis import StrictRedis
from redis.client import Redis as R
from requests.sessions import Session
from sqlmodel import Session as DbSession, create_engine

app = FastAPI()
cache = StrictRedis()
engine = create_engine("sqlite://")


@app.get("/a")
async def a():
    cache.get("k")  # LS106
    R().set("k", 1)  # LS106
    Session().get("https://example.com")  # LS102
    HttpClient().get("https://example.com")  # LS102
    return PosixPath("f").read_text()  # LS105


@app.get("/b")
async def b():
    with DbSession(engine) as session:
        return session.execute("select 1")  # LS106
