"""Building cases, agents and users for the lifecycle, visit and case-route tests (not fixtures).

Rows are made with unique references: the test database persists between runs and the case history
and ledger are append-only, so nothing is deleted afterwards.
"""
from __future__ import annotations

import uuid
from datetime import date

from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core.ledger import record_placement
from core.models import Address, Agent, Buyer, Case, Debtor, Subcontractor
from core.users import create_user
from tests.helpers import PASSWORD, bearer  # noqa: F401 (re-exported for the case tests)

# A point in Plymouth (England, TLK); the rules only read the region code.
LON, LAT = -4.1427, 50.3755


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_buyer(db: Session, policy: str = "ccs_default") -> Buyer:
    buyer = Buyer(reference=ref("buyer"), name="Test Council", kind="council", policy_name=policy)
    db.add(buyer)
    db.flush()
    return buyer


def make_case(db: Session, buyer: Buyer, *, debtor_name: str = "Alex Tester", postcode: str = "PL1 2AA",
              itl1_cd: str = "TLK", balance_pence: int = 500_00, address: Address | None = None,
              linked_group: int | None = None, is_leading: bool = True, received_on: date = date(2026, 1, 5),
              **fields) -> Case:
    """An open compliance-stage case with its debt on the ledger; ``fields`` override columns."""
    if address is None:
        address = Address(line1="1 Test Street", town="Plymouth", postcode=postcode, itl1_cd=itl1_cd,
                          location=WKTElement(f"POINT({LON} {LAT})", srid=4326))
    debtor = Debtor(name=debtor_name)
    db.add_all([address, debtor])
    db.flush()
    case = Case(buyer_id=buyer.id, buyer_reference=ref("BR"), supplier_reference=ref("SR"),
                subcontractor_reference=ref("SUB"), debt_type="council_tax", original_balance_pence=balance_pence,
                current_balance_pence=0, received_on=received_on, debtor_id=debtor.id, address_id=address.id,
                linked_group=linked_group, is_leading=is_leading, stage="compliance", status="open",
                on_hold=False, vulnerable=False)
    db.add(case)
    db.flush()
    record_placement(db, case, "test")
    for name, value in fields.items():
        setattr(case, name, value)
    db.flush()
    return case


def make_agent(db: Session) -> Agent:
    firm = Subcontractor(reference=ref("firm"), name="Test Enforcement Ltd")
    db.add(firm)
    db.flush()
    agent = Agent(reference=ref("agent"), name="Test Agent", subcontractor_id=firm.id,
                  home_base=WKTElement(f"POINT({LON} {LAT})", srid=4326))
    db.add(agent)
    db.flush()
    return agent


def make_user(db: Session, role: str, *, buyer: Buyer | None = None, agent: Agent | None = None) -> str:
    return create_user(db, username=ref(role), password=PASSWORD, role=role, actor="test",
                       buyer_reference=buyer.reference if buyer else None,
                       agent_reference=agent.reference if agent else None).username
