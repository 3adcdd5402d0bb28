import hashlib

import bcrypt
from fastapi.concurrency import run_in_threadpool


async def login(password: bytes, hashed: bytes):
    return bcrypt.checkpw(password, hashed)  # LS202


async def derive(password: bytes):
    return hashlib.pbkdf2_hmac("sha256", password, b"salt", 600_000)  # LS202


async def derive_offloaded(password: bytes):
    return await run_in_threadpool(hashlib.pbkdf2_hmac, "sha256", password, b"s", 1)  # OK
