def cpu_work(n):
    return sum(i * i for i in range(n))  # LS203


def crunch(n):
    total = 0
    for i in range(1, n):  # LS203
        total += i * i - 1
    return total


async def inline(size):
    return cpu_work(size)  # OK: reported at the blocking call


async def loop(size):
    return crunch(size)  # OK: reported at the blocking call


async def fine(items, size):
    names = [item for item in range(len(items))]  # OK
    squares = [i * i for i in range(10)]  # OK
    calls = [str(i) for i in range(size)]  # OK
    return names, squares, calls
