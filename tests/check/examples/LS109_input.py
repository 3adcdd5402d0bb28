async def ask():
    return input("name? ")  # LS109


def cli_ask():
    return input("name? ")  # OK
