from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from shop.deps import get_db, Repository

router = APIRouter()


@router.get("/users")
async def list_users(db: Annotated[Session, Depends(get_db)]):
    return db.scalars("select 1")  # LS106


@router.get("/repo")
async def repo_users(repo: Repository = Depends(Repository)):
    return repo.all_users()  # OK: reported at the blocking call


@router.get("/sync-users")
def sync_users(db: Session = Depends(get_db)):
    return db.scalars("select 1")  # OK
