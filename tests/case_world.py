"""Building cases, agents and users for the lifecycle, visit and case-route tests (not fixtures).

Rows are made with unique references: the test database persists between runs and the case history
and ledger are append-only, so nothing is deleted afterwards.
"""
from __future__ import annotations

from datetime import date

from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ledger import charge_compliance_fee
from core.models import Address, Agent, Buyer, Case, Debtor, Subcontractor
from core.placement import AddressIn, DebtorIn, PlacementIn, place_batch
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
              at: tuple[float, float] = (LON, LAT), itl1_cd: str | None = None, balance_pence: int = 500_00,
              address: Address | None = None, debtor: Debtor | None = None, received_on: date = date(2026, 1, 5),
              **fields) -> Case:
    """An open compliance-stage case placed the way ``POST /cases`` places it (``place_batch``): its
    debt on the ledger, its ``placed`` event, its address located and checked for sensitive premises.

    A new case gets an address of its own at ``at`` (lon, lat). Given the stored ``address`` (and
    ``debtor``) of an earlier case of the same buyer, the warrant is placed there and placement links
    the two ("total debt approach"). ``itl1_cd`` puts the address in another region than its point's;
    ``fields`` then set case columns as later events would (stage, notice date, hold, ...).
    """
    if address is None:
        line1, town = unique("1 Test Street"), "Plymouth"
        lon, lat = at
    else:
        line1, town, postcode = address.line1, address.town, address.postcode
        lon, lat = db.execute(select(func.ST_X(Address.location), func.ST_Y(Address.location))
                              .where(Address.id == address.id)).one()
    placement = PlacementIn(
        buyer_reference=unique("BR"), debt_type="council_tax", original_balance_pence=balance_pence,
        received_on=received_on, debtor=DebtorIn(name=debtor.name if debtor else debtor_name),
        address=AddressIn(line1=line1, town=town, postcode=postcode, lon=lon, lat=lat))
    db.flush()  # place_batch writes on the session's connection, behind the ORM
    result = place_batch(db, buyer.id, [(1, placement)], actor="test", source="test")
    assert not result.errors, result.errors
    # Placement may have linked earlier cases in SQL: reload what the session holds.
    db.expire_all()
    case = db.get(Case, result.case_ids[1])
    if itl1_cd is not None:
        case.address.itl1_cd = itl1_cd
    # The firm's own reference arrives with the case's assignment, which placement does not do.
    fields.setdefault("subcontractor_reference", unique("SUB"))
    for name, value in fields.items():
        setattr(case, name, value)
    db.flush()
    return case


def make_cases(db: Session, debts: list[int], *, buyer: Buyer | None = None, stage: str = "enforcement",
               noticed: bool = True, **fields) -> list[Case]:
    """Warrants of one debtor at one address, placed in turn (so linked when more than one; the first,
    received earliest, leads). Each gets its placed debt and, when ``noticed``, its compliance fee."""
    buyer = buyer or make_buyer(db)
    cases: list[Case] = []
    for i, debt in enumerate(debts):
        shared = {"address": cases[0].address, "debtor": cases[0].debtor} if cases else {}
        case = make_case(db, buyer, balance_pence=debt, received_on=date(2025, 1, 2 + i), stage=stage,
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
