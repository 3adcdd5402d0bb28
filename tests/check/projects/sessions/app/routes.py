from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from app import deps
from app.deps import Repository, SessionDep, get_repository

router = APIRouter(prefix="/users")


@router.get("/{id}")
def read_user(id: int, session: SessionDep) -> dict[str, int]:  # LS601
    return {"id": id}


@router.get("/")
def list_users(repo: Annotated[Repository, Depends(get_repository)]) -> list[int]:  # LS601
    return []


@router.get("/count")
def count_users(connection=Depends(deps.get_connection)) -> int:  # LS601
    return 0


@router.get("/raw")
def raw(session: SessionDep) -> JSONResponse:  # OK
    return JSONResponse([])


@router.get("/async")
async def read_async(session: SessionDep) -> dict[str, int]:  # OK
    return {}
