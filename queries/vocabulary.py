"""Each buyer's own query types and escalation categories [000 §1.127: at least 20 query types and 5
escalation routes, as the buyer specifies]. A buyer that has configured none gets the default set below
the first time either is read, whichever way the buyer was created (the CLI, a placement, a reseed);
from then on the list is the buyer's. Up to :data:`MAX_TERMS` of each are kept. A term is never
deleted, since queries name it: one left out of a new list is retired (inactive) and may come back."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core import record_audit
from core.models import EscalationCategory, QueryType
from queries.rules import Caller, QueryError

MAX_TERMS = 200
CODE = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
MAX_LABEL = 200

DEFAULT_TYPES = (
    ("payment_not_recorded", "Payment made but not recorded"),
    ("payment_arrangement", "Payment arrangement request"),
    ("balance_statement", "Balance or statement request"),
    ("fees_dispute", "Enforcement fees disputed"),
    ("refund_request", "Refund request"),
    ("agent_conduct", "Complaint about an agent's conduct"),
    ("vulnerability", "Vulnerability or welfare concern"),
    ("hold_request", "Request to put the case on hold"),
    ("return_request", "Request to return the case"),
    ("wrong_address", "Wrong address or gone away"),
    ("identity_dispute", "Wrong person or identity disputed"),
    ("deceased", "Customer deceased"),
    ("insolvency", "Bankruptcy, IVA or debt relief order"),
    ("breathing_space", "Breathing space (debt respite scheme)"),
    ("goods_taken", "Goods taken into control or removed"),
    ("vehicle_clamped", "Vehicle clamped or removed"),
    ("third_party_goods", "Third-party claim to goods"),
    ("visit_evidence", "Visit evidence requested (GPS, body-worn video)"),
    ("subject_access", "Data protection or subject access request"),
    ("councillor_mp", "Councillor or MP enquiry"),
    ("case_status", "Case status update"),
    ("other", "Other"),
)
DEFAULT_ESCALATION_CATEGORIES = (
    ("service_manager", "Supplier's service manager"),
    ("complaint_stage_1", "Formal complaint, stage 1"),
    ("complaint_stage_2", "Formal complaint, stage 2"),
    ("welfare_review", "Vulnerability or welfare review"),
    ("contract_manager", "Buyer's contract manager"),
    ("legal_data_protection", "Legal or data protection"),
)


@dataclass(frozen=True)
class Vocabulary:
    """One of a buyer's two lists: its table, the field that names a term of it (and its plural, which
    names the list in audit actions), and its defaults."""

    field: str
    plural: str
    noun: str
    model: type[QueryType | EscalationCategory]
    defaults: tuple[tuple[str, str], ...]


QUERY_TYPES = Vocabulary("type", "types", "query type", QueryType, DEFAULT_TYPES)
ESCALATION_CATEGORIES = Vocabulary("escalation_category", "escalation_categories", "escalation category",
                                   EscalationCategory, DEFAULT_ESCALATION_CATEGORIES)


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    active: bool = True


def _ensure_defaults(db: Session, vocab: Vocabulary, buyer_id: int) -> None:
    model = vocab.model
    if db.scalar(select(model.id).where(model.buyer_id == buyer_id).limit(1)) is not None:
        return
    # Two first readers at once both insert: the unique key keeps one set.
    db.execute(insert(model).values([{"buyer_id": buyer_id, "code": code, "label": label, "position": i}
                                     for i, (code, label) in enumerate(vocab.defaults)])
               .on_conflict_do_nothing(index_elements=["buyer_id", "code"]))


def terms(db: Session, vocab: Vocabulary, buyer_id: int) -> list[Term]:
    """The buyer's list, in its own order, retired terms included."""
    _ensure_defaults(db, vocab, buyer_id)
    model = vocab.model
    rows = db.execute(select(model.code, model.label, model.active).where(model.buyer_id == buyer_id)
                      .order_by(model.position, model.id))
    return [Term(code, label, active) for code, label, active in rows]


def _check(items: list[Term]) -> None:
    if not items:
        raise QueryError("items", "must list at least one term")
    if len(items) > MAX_TERMS:
        raise QueryError("items", f"lists {len(items)} terms; at most {MAX_TERMS}")
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not CODE.fullmatch(item.code):
            raise QueryError(f"items.{i}.code", "must be 1-64 lower-case letters, digits or _, "
                                                "starting with a letter or digit")
        if item.code in seen:
            raise QueryError(f"items.{i}.code", f"{item.code!r} is listed twice")
        seen.add(item.code)
        if not item.label.strip() or len(item.label) > MAX_LABEL or "\x00" in item.label:
            raise QueryError(f"items.{i}.label", f"must be 1-{MAX_LABEL} characters, not only spaces, no NUL")
    if not any(item.active for item in items):
        raise QueryError("items", "at least one term must be active")


def replace_terms(db: Session, vocab: Vocabulary, buyer_id: int, items: list[Term], caller: Caller,
                  buyer_reference: str) -> list[Term]:
    """Make ``items`` the buyer's list, in that order; terms left out are retired. Audited with the
    list before and after."""
    _check(items)
    before = terms(db, vocab, buyer_id)
    model = vocab.model
    rows = {row.code: row for row in db.scalars(select(model).where(model.buyer_id == buyer_id).with_for_update())}
    listed = {item.code for item in items}
    for i, item in enumerate(items):
        row = rows.get(item.code)
        if row is None:
            db.add(model(buyer_id=buyer_id, code=item.code, label=item.label, active=item.active, position=i))
        else:
            row.label, row.active, row.position = item.label, item.active, i
    # Retired terms keep their place after the listed ones, so they read in a stable order.
    for i, row in enumerate(sorted((r for code, r in rows.items() if code not in listed),
                                   key=lambda r: (r.position, r.id)), start=len(items)):
        row.active, row.position = False, i
    db.flush()
    after = terms(db, vocab, buyer_id)
    record_audit(db, actor=caller.actor, role=caller.role.value, buyer_id=caller.buyer_id,
                 action=f"query.{vocab.plural}_update", target=f"buyer:{buyer_reference}",
                 data={"before": [asdict(t) for t in before], "after": [asdict(t) for t in after]})
    return after


def term_id(db: Session, vocab: Vocabulary, buyer_id: int, code: str) -> int:
    """The id of the buyer's active term ``code``, or a ``QueryError`` naming the vocabulary's field."""
    _ensure_defaults(db, vocab, buyer_id)
    model = vocab.model
    found = db.scalar(select(model.id).where(model.buyer_id == buyer_id, model.code == code, model.active))
    if found is None:
        raise QueryError(vocab.field, f"{code!r} is not one of this buyer's active {vocab.noun} codes")
    return found
