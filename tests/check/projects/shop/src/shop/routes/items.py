import functools

from fastapi import APIRouter, BackgroundTasks, Depends
from fastapi.concurrency import run_in_threadpool

from ..deps import current_user, get_db
from ..services.storage import *  # noqa: F403
from ..services import storage as store

router = APIRouter(prefix="/items", dependencies=[Depends(current_user)])


async def notify(item_id):
    store.audit(item_id)  # OK: reported at the blocking call


def notify_sync(item_id):
    store.audit(item_id)  # OK


@router.get("/{item_id}")
async def read_item(item_id: int, db=Depends(get_db)):
    row = db.execute("select 1")  # LS106
    return read_blob(item_id)  # OK: reported at the blocking call


@router.post("/")
async def create_item(tasks: BackgroundTasks):
    tasks.add_task(notify, 1)  # OK
    tasks.add_task(notify_sync, 2)  # OK
    loader = functools.partial(read_blob, 3)
    loader()  # OK: reported at the blocking call
    await run_in_threadpool(functools.partial(read_blob, 4))  # OK
    return {}


@router.get("/ping")
async def ping():
    return store.ping_forever(3)  # OK: reported at the blocking call
