"""Customer queries [000 §1.126–1.127]: raising one, its thread, status, allocation and attachments, and
each buyer's query types and escalation categories."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from api.schemas.common import Id, Text
from core.models import MAX_QUERY_TEXT, QueryStatus


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


QueryText = Annotated[Text, Field(min_length=1, max_length=MAX_QUERY_TEXT,
                                  description=f"up to {MAX_QUERY_TEXT:,} characters"),
                      AfterValidator(_not_blank)]
Code = Annotated[Text, Field(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$",
                             description="1-64 lower-case letters, digits or _, e.g. payment_not_recorded")]
Username = Annotated[Text, Field(min_length=1, max_length=100, description="a caseworker's username")]


class TermIn(BaseModel):
    code: Code
    label: Annotated[Text, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
    active: bool = True


class TermsIn(BaseModel):
    """The buyer's whole list, in the order it is shown; a term left out is retired, not deleted."""

    items: list[TermIn] = Field(min_length=1, max_length=200)


class TermOut(BaseModel):
    code: str
    label: str
    active: bool


class TermsOut(BaseModel):
    buyer: str = Field(description="the buyer's reference")
    items: list[TermOut]


class QueryIn(BaseModel):
    case_id: Id
    type: Code = Field(description="one of the buyer's active query type codes (GET /queries/types)")
    text: QueryText
    allocated_to: Username | None = Field(default=None, description="a caseworker of the same buyer "
                                                                     "(default: the one raising it)")


class MessageIn(BaseModel):
    text: QueryText


class StatusIn(BaseModel):
    status: QueryStatus
    escalation_category: Code | None = Field(default=None, description="one of the buyer's escalation "
                                                                       "categories: required to escalate, "
                                                                       "refused otherwise")
    note: QueryText | None = None


class AllocationIn(BaseModel):
    allocated_to: Username


class QueryOut(BaseModel):
    id: int
    case_id: int
    buyer: str = Field(description="the buyer's reference")
    type: str
    type_label: str
    status: QueryStatus
    allocated_to: str = Field(description="the allocated caseworker's username")
    escalation_category: str | None = Field(description="the escalation route, while escalated")
    escalation_category_label: str | None
    raised_by: str
    raised_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    preview: str = Field(description="the query's text, its first 200 characters")


class QueryPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[QueryOut]


class MessageOut(BaseModel):
    id: int
    author: str
    role: str
    text: str
    at: datetime


class AttachmentOut(BaseModel):
    id: int
    query_id: int
    filename: str = Field(description="the uploader's name for it, with the extension of its detected type")
    content_type: str = Field(description="detected from the content, never from the name")
    size_bytes: int
    sha256: str
    uploaded_by: str
    role: str
    at: datetime


class ChangeOut(BaseModel):
    at: datetime
    kind: str = Field(description="raised, message (a message moved the status), status (set by hand) or "
                                  "allocated")
    status: QueryStatus = Field(description="the status the change left")
    allocated_to: str
    escalation_category: str | None
    note: str | None
    by: str
    role: str


class QueryDetailOut(QueryOut):
    text: str
    messages: list[MessageOut]
    attachments: list[AttachmentOut]
    history: list[ChangeOut]
