from multiprocessing import Pool


def compute_task():
    return sum(i * i for i in range(10**6))


async def async_compute():
    with Pool() as pool:  # LS402
        result = pool.apply(compute_task)  # LS401
    return result
