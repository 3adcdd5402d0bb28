from concurrent.futures import ThreadPoolExecutor

EXECUTOR = ThreadPoolExecutor()


def work():
    return 1


async def handler():
    future = EXECUTOR.submit(work)  # OK
    return future.result()  # LS403
