import urllib.request

import httpx
import requests
from fastapi import APIRouter

router = APIRouter()
session = requests.Session()


class Client:
    def __init__(self):
        self.http = httpx.Client()

    def fetch(self, url):
        return self.http.get(url)  # LS102


def get_json(url):
    return requests.get(url).json()  # LS102


@router.get("/a")
async def a():
    return get_json("https://example.com")  # OK: reported at the blocking call


@router.get("/b")
async def b():
    return session.post("https://example.com")  # LS102


@router.get("/c")
async def c():
    client = Client()
    return client.fetch("https://example.com")  # OK: reported at the blocking call


@router.get("/d")
async def d():
    with urllib.request.urlopen("https://example.com") as response:  # LS102: 10
        return response.read()


@router.get("/e")
async def e():
    async with httpx.AsyncClient() as client:
        return (await client.get("https://example.com")).json()  # OK


@router.get("/f")
def f():
    return get_json("https://example.com")  # OK


@router.get("/g")
async def g():
    import http.client

    import urllib3

    pool = urllib3.PoolManager()
    pool.request("GET", "https://example.com")  # LS102
    conn = http.client.HTTPSConnection("example.com")
    conn.request("GET", "/")  # LS102
    return conn.getresponse()  # LS102
