"""Request checks that need more than the request models: a region that must exist, an instant that
must fall on the route's day. Each failure is a 422 naming the field, like a model's own."""
from __future__ import annotations

from datetime import date, datetime

from fastapi.exceptions import RequestValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import LONDON
from core.models import Itl1Region


def invalid(loc: tuple[str, ...], msg: str, value: object) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": "value_error", "input": str(value)}])


def check_region(db: Session, region: str | None, loc: tuple[str, ...]) -> None:
    if region is None or db.get(Itl1Region, region) is not None:
        return
    known = ", ".join(db.scalars(select(Itl1Region.code).order_by(Itl1Region.code)))
    raise RequestValidationError([{"loc": loc, "msg": f"unknown ITL1 region {region!r}; one of {known}",
                                   "type": "value_error", "input": region}])


def check_on_day(at: datetime, day: date, loc: tuple[str, ...]) -> None:
    if at.astimezone(LONDON).date() != day:
        raise invalid(loc, f"{at.isoformat()} is not on {day} (UK time)", at)
