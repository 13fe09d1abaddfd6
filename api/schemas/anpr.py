"""``POST /anpr/webhooks/platerecognizer`` and ``POST /anpr/webhooks/openalpr``: the vendors' own bodies
go in (described here for the spec, decoded by ``anpr_ingest``), a count of what was taken comes out."""
from __future__ import annotations

from pydantic import BaseModel, Field


class WebhookReceipt(BaseModel):
    reads: int = Field(ge=0, description="plate reads taken into the pipeline (each counted for the van's hour)")
    hits: int = Field(ge=0, description="new hotlist hits stored (a re-sent read adds none)")
    rejected: int = Field(ge=0, description="parts of the body refused and dead-lettered with their field and "
                                            "reason, never their plates")
