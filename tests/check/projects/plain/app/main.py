from fastapi import Depends, FastAPI
from starlette.background import BackgroundTask
from starlette.routing import Route, WebSocketRoute

import nsutil.files as nsfiles
from app import handlers
from app.service import Checker, Service

checker = Checker()


async def audit_dependency():
    nsfiles.wipe("/tmp/x")  # OK: reported at the blocking call


async def on_start():
    Service().run()  # OK: reported at the blocking call


def on_stop():
    Service().run()  # OK: reported at the blocking call


async def on_error(request, exc):
    svc = Service()
    svc.run()  # OK: reported at the blocking call


def sync_on_error(request, exc):
    Service().run()  # OK


async def homepage(request):
    task = BackgroundTask(cleanup, "x")  # OK
    return task


async def cleanup(name):
    nsfiles.wipe(name)  # OK: reported at the blocking call


def sync_endpoint(request):
    Service().run()  # OK


async def added(request):
    Service().run()  # OK: reported at the blocking call


app = FastAPI(
    dependencies=[Depends(audit_dependency), Depends(checker)],
    on_startup=[on_start],
    on_shutdown=[on_stop],
    exception_handlers={KeyError: on_error, ValueError: sync_on_error},
    routes=[
        Route("/", homepage),
        Route("/sync", sync_endpoint),
        WebSocketRoute("/ws", handlers.ws_endpoint),
    ],
)
app.add_api_route("/added", added, methods=["POST"])
