"""Loading the facts the pure visit rules (``core.visit_rules``) need, in batches: one query for the
cases, one per distinct policy name, one for the visit history.

The case ids go to PostgreSQL as ONE array parameter (``= ANY(:ids)``, see ``id_in``): an ``IN`` list
binds one parameter per id, which fails beyond 65,535 ids (a national day has 200,000 open cases)
and is slow to build well before that."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, Integer, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.models import Address, Buyer, Case, Visit
from core.visit_policy import VisitPolicy, policy_in_force
from core.visit_rules import CaseFacts, VisitFact, nation_of_itl1


def id_in(column: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column = ANY(:ids)`` with the ids bound as one integer array, whatever their number."""
    return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))


def load_case_facts(db: Session, case_ids: Sequence[int], on: date) -> dict[int, CaseFacts]:
    """``CaseFacts`` of each existing case in ``case_ids``, with the buyer's policy in force on ``on``."""
    rows = db.execute(
        select(Case.id, Case.buyer_reference, Case.status, Case.stage, Case.on_hold, Case.vulnerable,
               Case.under_arrangement, Case.notice_issued_on, Case.enforcement_stage_on, Case.sale_stage_on,
               Address.itl1_cd, Address.sensitive, Address.sensitive_cleared_at, Buyer.policy_name)
        .join(Address, Address.id == Case.address_id).join(Buyer, Buyer.id == Case.buyer_id)
        .where(id_in(Case.id, case_ids))).all()
    policies: dict[str, VisitPolicy] = {}
    facts = {}
    for r in rows:
        if r.policy_name not in policies:
            policies[r.policy_name] = policy_in_force(db, r.policy_name, on)
        facts[r.id] = CaseFacts(
            case_id=r.id, buyer_reference=r.buyer_reference, policy=policies[r.policy_name],
            nation=nation_of_itl1(r.itl1_cd), status=r.status, stage=r.stage, on_hold=r.on_hold,
            vulnerable=r.vulnerable, under_arrangement=r.under_arrangement,
            # R-VISIT-SENSITIVE: the flag stops visits until a person clears it.
            sensitive=r.sensitive and r.sensitive_cleared_at is None,
            notice_issued_on=r.notice_issued_on, enforcement_stage_on=r.enforcement_stage_on,
            sale_stage_on=r.sale_stage_on)
    return facts


def visit_history(db: Session, case_ids: Sequence[int]) -> dict[int, list[VisitFact]]:
    """Each case's visits, oldest first (cases without visits map to an empty list)."""
    history: dict[int, list[VisitFact]] = {case_id: [] for case_id in case_ids}
    rows = db.execute(select(Visit.case_id, Visit.arrived_at, Visit.outcome, Visit.time_band)
                      .where(id_in(Visit.case_id, case_ids)).order_by(Visit.case_id, Visit.arrived_at))
    for r in rows:
        history[r.case_id].append(VisitFact(r.arrived_at, r.outcome, r.time_band))
    return history
