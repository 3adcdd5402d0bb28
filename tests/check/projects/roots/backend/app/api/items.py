from fastapi import APIRouter

from ...app import db
from ....billing import charges

router = APIRouter(prefix="/items")


@router.get("/")
async def items():
    charges.charge(2)  # LS102 [route: GET /items/]
    return db.query("select * from items")  # LS106 [route: GET /items/]
