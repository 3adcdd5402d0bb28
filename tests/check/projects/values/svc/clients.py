"""Clients reached through values the checker must type: ``or``, conditional expressions,
attributes set from ``x or Client()``, factories and properties."""

import httpx
import redis


def make_client():
    return httpx.Client(timeout=5)


def make_cache(url=None):
    return redis.Redis.from_url(url) if url else redis.Redis()


class Store:
    def __init__(self, cache=None):
        self.cache = cache or redis.Redis(host="localhost")

    def load(self, key):
        return self.cache.get(key)  # LS106


class Api:
    @property
    def client(self):
        return httpx.Client()

    def fetch(self):
        return self.client.get("https://example.com")  # LS102
