import asyncio
import concurrent.futures

EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=4)


def cpu_intensive_task():
    return sum(i * i for i in range(10**6))


async def run_task():
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor() as pool:  # LS402 [async_function]
        result = await loop.run_in_executor(pool, cpu_intensive_task)  # OK
    return result


async def run_task_shared():
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(EXECUTOR, cpu_intensive_task)  # OK


class Service:
    def __init__(self):
        self._pool = None

    def pool(self):
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor()  # OK
        return self._pool

    async def run(self):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool(), cpu_intensive_task)  # OK
