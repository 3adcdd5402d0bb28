import sqlite3
from typing import Annotated

import redis
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

app = FastAPI()
engine = create_engine("sqlite:///db.sqlite")
SessionLocal = sessionmaker(bind=engine)
cache = redis.Redis()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/users")
async def users(db: Session = Depends(get_db)):
    return db.query(dict).all()  # LS106


@app.get("/annotated")
async def annotated(db: Annotated[Session, Depends(get_db)]):
    return db.execute("select 1")  # LS106


@app.get("/untyped")
async def untyped(db=Depends(get_db)):
    db.commit()  # LS106


@app.get("/sqlite")
async def raw_sqlite():
    conn = sqlite3.connect("x.db")  # LS106
    cursor = conn.cursor()
    cursor.execute("select 1")  # LS106
    return cursor.fetchall()  # LS106


@app.get("/redis")
async def cached(key: str):
    return cache.get(key)  # LS106


@app.get("/sync")
def sync_users(db: Session = Depends(get_db)):
    return db.query(dict).all()  # OK


@app.get("/with-session")
async def with_session():
    with SessionLocal() as session:
        session.execute("select 1")  # LS106
    with engine.connect() as conn:  # LS106
        conn.execute("select 1")  # LS106


@app.get("/mongo")
async def mongo():
    from pymongo import MongoClient

    client = MongoClient("mongodb://localhost")
    user = client.shop.users.find_one({"id": 1})  # LS106
    return client["shop"]["orders"].count_documents({}), user  # LS106


@app.get("/psycopg2")
async def pg2():
    import psycopg2

    conn = psycopg2.connect("dbname=x")  # LS106
    with conn.cursor() as cursor:
        cursor.execute("select 1")  # LS106
        return cursor.fetchone()  # LS106


async def advisory_lock(db: Session):
    # annotated ``Session`` but awaited: the value is an ``AsyncSession`` at run time
    await db.execute("select pg_advisory_lock(1)")  # OK
