from fastapi import Depends, FastAPI

from store.backends import LocalStorage, S3Storage, Storage

app = FastAPI()


def get_storage() -> Storage:
    return S3Storage() if app.debug else LocalStorage()


@app.put("/{key}")
async def put(key: str, storage: Storage = Depends(get_storage)):
    storage.save(key, b"x")  # OK: reported at the blocking call
    return storage.load(key)  # OK: reported at the blocking call
