import time

__all__ = ["ws_endpoint", "throttle"]


def throttle():
    time.sleep(0.5)  # LS101


async def ws_endpoint(websocket):
    throttle()  # OK: reported at the blocking call
