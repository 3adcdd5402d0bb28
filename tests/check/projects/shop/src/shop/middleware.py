from .services import metrics


class TimingMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        metrics.push(scope)  # OK: reported at the blocking call
        await self.app(scope, receive, send)
