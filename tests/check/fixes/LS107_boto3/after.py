"""LS107: a boto3 call in a coroutine runs in a thread (unsafe)."""

import asyncio

import boto3

s3 = boto3.client("s3")


async def upload(data, lock: asyncio.Lock):
    async with lock:
        await asyncio.to_thread(s3.put_object, Bucket="b", Key="k", Body=data)  # one object
