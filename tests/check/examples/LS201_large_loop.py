def crunch():
    total = 0
    for i in range(10**7):  # LS201
        total += i
    return total


async def report():
    return crunch()  # OK: reported at the blocking call


async def inline():
    return sum(i * i for i in range(1_000_000))  # LS201


async def small():
    return [i for i in range(100)]  # OK
