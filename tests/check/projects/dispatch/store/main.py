from fastapi import Depends, FastAPI

from store.backends import LocalStorage, S3Storage, Storage

app = FastAPI()


def get_storage() -> Storage:
    return S3Storage() if app.debug else LocalStorage()


@app.put("/{key}")
async def put(key: str, storage: Storage = Depends(get_storage)):
    storage.save(key, b"x")  # LS101, LS105, LS107 [route: PUT /{key}]
    return storage.load(key)  # LS107
