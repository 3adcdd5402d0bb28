from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

app = FastAPI()
engine = create_engine("postgresql+psycopg://localhost/lab")
SessionLocal = sessionmaker(engine)
async_engine = create_async_engine("postgresql+asyncpg://localhost/lab")
AsyncSessionLocal = async_sessionmaker(async_engine)


def get_session():
    with SessionLocal() as session:
        yield session


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def get_connection():
    with engine.begin() as connection:
        yield connection


def get_plain_session():
    return Session(engine)


def get_settings():
    with open("settings.toml") as settings:
        yield settings.read()


async def get_async_session():
    async with AsyncSessionLocal() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


def get_repository(session: SessionDep) -> Repository:
    return Repository(session)


@app.get("/users/{id}")
def read_user(id: int, session: Annotated[Session, Depends(get_session)]) -> dict[str, int]:  # LS601: 24 [route: GET /users/{id}]
    return {"id": id}


@app.get("/items")
def list_items(
    db: Session = Depends(get_db),  # LS601: 5
) -> list[int]:
    return []


@app.get("/orders")
def list_orders(session: SessionDep) -> list[int]:  # LS601: 17
    return []


@app.get("/rows", response_model=list[int])
def rows(connection=Depends(get_connection)):  # LS601: 10
    return []


@app.get("/repository")
def via_repository(repo: Annotated[Repository, Depends(get_repository)]) -> list[int]:  # LS601: 20 [route: GET /repository]
    return []


@app.get("/async")
async def async_route(session: SessionDep) -> dict[str, int]:  # OK
    return {}


@app.get("/async-session")
def async_dependency(session: Annotated[AsyncSession, Depends(get_async_session)]) -> list[int]:  # OK
    return []


@app.get("/json")
def as_json(session: SessionDep) -> JSONResponse:  # OK
    return JSONResponse({})


@app.get("/no-model", response_model=None)
def no_model(session: SessionDep) -> dict[str, int]:  # OK
    return {}


@app.get("/untyped")
def untyped(session: SessionDep):  # OK
    return {}


@app.get("/in-route")
def in_route() -> dict[str, int]:  # OK
    with SessionLocal() as session:
        session.commit()
    return {}


@app.get("/plain")
def plain(session: Annotated[Session, Depends(get_plain_session)]) -> dict[str, int]:  # OK
    return {}


@app.get("/settings")
def settings(text: Annotated[str, Depends(get_settings)]) -> dict[str, str]:  # OK
    return {"text": text}
