import time

__all__ = ["ws_endpoint", "throttle"]


def throttle():
    time.sleep(0.5)


async def ws_endpoint(websocket):
    throttle()  # LS101
