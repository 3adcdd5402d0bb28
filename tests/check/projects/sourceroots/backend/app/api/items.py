from fastapi import APIRouter

from ...app import db
from ....billing import charges

router = APIRouter(prefix="/items")


@router.get("/")
async def items():
    charges.charge(2)  # OK: reported at the blocking call
    return db.query("select * from items")  # OK: reported at the blocking call
