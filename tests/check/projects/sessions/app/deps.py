from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from .db import SessionLocal, engine


def get_session():
    with SessionLocal() as session:
        yield session


def get_connection():
    with engine.connect() as connection:
        yield connection


SessionDep = Annotated[Session, Depends(get_session)]


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


def get_repository(session: SessionDep) -> Repository:
    return Repository(session)
