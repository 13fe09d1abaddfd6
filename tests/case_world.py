"""Building cases, agents and users for the lifecycle, visit and case-route tests (not fixtures).

Rows are made with unique references: the test database persists between runs and the case history
and ledger are append-only, so nothing is deleted afterwards.
"""
from __future__ import annotations

from datetime import date

from geoalchemy2 import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.ledger import charge_compliance_fee, record_placement
from core.models import Address, Agent, Buyer, Case, Debtor, Subcontractor
from core.users import create_user
from tests.helpers import PASSWORD, bearer, unique  # noqa: F401 (bearer re-exported for the case tests)

# A point in Plymouth (England, TLK); the rules only read the region code.
LON, LAT = -4.1427, 50.3755
# The columns of a case in the enforcement stage, its notice given (what dispatch plans visits for).
ENFORCED = {"stage": "enforcement", "notice_issued_on": date(2026, 6, 1), "enforcement_stage_on": date(2026, 7, 1)}



def make_buyer(db: Session, policy: str = "ccs_default") -> Buyer:
    buyer = Buyer(reference=unique("buyer"), name="Test Council", kind="council", policy_name=policy)
    db.add(buyer)
    db.flush()
    return buyer


def make_case(db: Session, buyer: Buyer, *, debtor_name: str = "Alex Tester", postcode: str = "PL1 2AA",
              itl1_cd: str = "TLK", balance_pence: int = 500_00, address: Address | None = None,
              linked_group: int | None = None, is_leading: bool = True, received_on: date = date(2026, 1, 5),
              debtor: Debtor | None = None, **fields) -> Case:
    """An open compliance-stage case with its debt on the ledger; ``fields`` override columns."""
    if address is None:
        address = Address(line1="1 Test Street", town="Plymouth", postcode=postcode, itl1_cd=itl1_cd,
                          location=WKTElement(f"POINT({LON} {LAT})", srid=4326))
    debtor = debtor or Debtor(name=debtor_name)
    db.add_all([address, debtor])
    db.flush()
    case = Case(buyer_id=buyer.id, buyer_reference=unique("BR"), supplier_reference=unique("SR"),
                subcontractor_reference=unique("SUB"), debt_type="council_tax", original_balance_pence=balance_pence,
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



def make_cases(db: Session, debts: list[int], *, buyer: Buyer | None = None, stage: str = "enforcement",
               noticed: bool = True, **fields) -> list[Case]:
    """Warrants of one debtor at one address, linked when more than one; the first leads. Each gets
    its placed debt and, when ``noticed``, its compliance fee."""
    buyer = buyer or make_buyer(db)
    group = db.scalar(text("SELECT nextval('enforcement_case_id_seq')")) if len(debts) > 1 else None
    cases: list[Case] = []
    for i, debt in enumerate(debts):
        shared = {"address": cases[0].address, "debtor": cases[0].debtor} if cases else {}
        case = make_case(db, buyer, balance_pence=debt, linked_group=group, is_leading=i == 0,
                         received_on=date(2025, 1, 2 + i), stage=stage,
                         notice_issued_on=date(2025, 1, 3) if noticed else None, **shared, **fields)
        if noticed:
            charge_compliance_fee(db, case, "test")
        cases.append(case)
    return cases


def make_agent(db: Session, *, at: tuple[float, float] = (LON, LAT), region: str | None = None) -> Agent:
    """An agent of a new firm, based ``at`` (lon, lat), working ``region`` (ITL1) if given."""
    firm = Subcontractor(reference=unique("firm"), name="Test Enforcement Ltd")
    db.add(firm)
    db.flush()
    agent = Agent(reference=unique("agent"), name="Test Agent", subcontractor_id=firm.id, itl1_cd=region,
                  home_base=WKTElement(f"POINT({at[0]} {at[1]})", srid=4326))
    db.add(agent)
    db.flush()
    return agent


def make_user(db: Session, role: str, *, buyer: Buyer | None = None, agent: Agent | None = None) -> str:
    return create_user(db, username=unique(role), password=PASSWORD, role=role, actor="test",
                       buyer_reference=buyer.reference if buyer else None,
                       agent_reference=agent.reference if agent else None).username
