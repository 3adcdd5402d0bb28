"""The engine and session factory; the yield dependencies live elsewhere."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql+psycopg://localhost/app")
SessionLocal = sessionmaker(engine, expire_on_commit=False)
