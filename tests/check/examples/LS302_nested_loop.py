import asyncio


async def fetch():
    await asyncio.sleep(0)


def legacy_sync_api():
    return asyncio.run(fetch())  # LS302


async def handler():
    return legacy_sync_api()  # OK: reported at the blocking call


async def handler2():
    loop = asyncio.get_event_loop()
    return loop.run_until_complete(fetch())  # LS302
