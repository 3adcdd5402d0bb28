from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from .services.auth import check_token

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


async def current_user(token: str = ""):
    return check_token(token)  # OK: reported at the blocking call


class Repository:
    def __init__(self):
        self.session = SessionLocal()

    def all_users(self):
        return self.session.execute("select * from users")  # LS106
