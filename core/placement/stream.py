"""Placing a whole upload: records are validated one by one, checked against the rest of the upload
(one buyer, no repeated ``buyer_reference``) and stored in batches of :data:`BATCH_ROWS`, so memory
stays bounded whatever the size of the file. Placement is idempotent on (buyer, buyer reference): a
row whose case already exists changes nothing and is counted in ``accepted`` *and* in
``already_present`` (it is a good row and its case exists), so ``received == accepted + rejected``
always holds.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core.placement.rows import FieldNamer, PlacementIn, Record, RowError, validate
from core.placement.store import place_batch

BATCH_ROWS = 5_000


@dataclass
class Receipt:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    already_present: int = 0
    errors: list[RowError] = field(default_factory=list)


class TooManyRows(ValueError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"more than {limit} data rows: nothing was stored; split the file")


def place_stream(db: Session, buyer_id: int, buyer_reference: str, records: Iterable[Record], *,
                 actor: str, source: str, namer: FieldNamer, limit: int) -> Receipt:
    """Validate and store an upload in batches; memory is bounded by :data:`BATCH_ROWS` (plus the
    upload's buyer references, kept to reject duplicates, and the error list). Raises
    :class:`TooManyRows` on the ``limit + 1``-th record, before storing it."""
    receipt = Receipt()
    first_row_of: dict[str, int] = {}
    batch: list[tuple[int, PlacementIn]] = []

    def flush() -> None:
        result = place_batch(db, buyer_id, batch, actor=actor, source=source, namer=namer)
        receipt.errors.extend(result.errors)
        receipt.rejected += len({e.row for e in result.errors})
        receipt.accepted += len(result.case_ids)
        receipt.already_present += len(result.already_present)
        batch.clear()

    for row, record in records:
        receipt.received += 1
        if receipt.received > limit:
            raise TooManyRows(limit)
        errors = [record] if isinstance(record, RowError) else None
        if errors is None:
            placement = validate(row, record, namer)
            if isinstance(placement, list):
                errors = placement
            elif placement.buyer is not None and placement.buyer != buyer_reference:
                errors = [RowError(row, "buyer", f"rows of this upload are placed for buyer {buyer_reference!r}")]
            elif placement.buyer_reference in first_row_of:
                errors = [RowError(row, namer(("buyer_reference",)), "duplicate buyer_reference in this upload "
                                   f"(first at row {first_row_of[placement.buyer_reference]})")]
            else:
                first_row_of[placement.buyer_reference] = row
                batch.append((row, placement))
        if errors:
            receipt.rejected += 1
            receipt.errors.extend(errors)
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()
    receipt.errors.sort(key=lambda e: e.row)
    return receipt
