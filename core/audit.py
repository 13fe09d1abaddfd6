"""Writing the general audit trail (changes and buyer views outside a case's own history)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.models import AuditEvent


def record_audit(db: Session, *, actor: str, action: str, role: str | None = None,
                 buyer_id: int | None = None, target: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
    """Add an audit row to the caller's unit of work, so it commits (or rolls back) with the change
    it describes."""
    db.add(AuditEvent(actor=actor, role=role, buyer_id=buyer_id, action=action, target=target, data=data or {}))
