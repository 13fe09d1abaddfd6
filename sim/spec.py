"""What each named scenario contains: sizes, buyers, subcontractors and the debt mix. Pure data; the
generator (``sim.generator`` and the modules it draws with) decides how rows are drawn from it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from core import POLICY_DIR, VisitPolicy, read_policy_file
from core.models import DebtType


class UnknownScenario(ValueError):
    """Raised for a scenario name that is not in ``SCENARIOS``."""


@dataclass(frozen=True)
class DebtSpec:
    """One debt type a buyer places: its share of the buyer's cases and its balance range in pence
    (drawn log-uniformly, so small debts are commoner than large ones)."""

    debt_type: DebtType
    weight: float
    low_pence: int
    high_pence: int


@dataclass(frozen=True)
class BuyerSpec:
    reference: str
    name: str
    kind: str
    lad_cd: str | None          # a council's own local authority; None places cases anywhere in GB
    case_prefix: str            # the buyer's own reference format, e.g. "PLY-0000042"
    debts: tuple[DebtSpec, ...]
    policy_name: str            # the visit policy (core/policies/<name>.yaml) the buyer's cases follow

    @property
    def policy(self) -> VisitPolicy:
        """The buyer's shipped policy: the one source of its notice deadline and compliance period."""
        return _shipped_policy(self.policy_name)


@lru_cache
def _shipped_policy(name: str) -> VisitPolicy:
    return read_policy_file(POLICY_DIR / f"{name}.yaml")


@dataclass(frozen=True)
class SubcontractorSpec:
    reference: str
    name: str
    case_prefix: str
    itl1_cds: tuple[str, ...]   # the regions whose cases this firm is given


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    cases: int
    agents: int
    vans: int
    # Share of cases per buyer reference (sums to 1).
    buyer_shares: dict[str, float]
    # Every ``national_pool_step``-th GB postcode (in postcode order) is a candidate address for the
    # national buyer: a systematic sample that covers all of GB, smaller for small scenarios.
    national_pool_step: int
    # A fixed reference date: the same seed gives the same rows whatever day it is run.
    as_of: date = date(2026, 11, 23)  # a Monday
    history_days: int = 240           # cases were received within this many days before as_of


_COUNCIL_DEBTS = (
    DebtSpec(DebtType.council_tax, 0.78, 300_00, 3_000_00),
    DebtSpec(DebtType.parking, 0.12, 100_00, 500_00),
    DebtSpec(DebtType.business_rates, 0.06, 1_500_00, 25_000_00),
    DebtSpec(DebtType.housing_benefit_overpayment, 0.02, 400_00, 6_000_00),
    DebtSpec(DebtType.sundry, 0.02, 150_00, 4_000_00),
)
_NATIONAL_DEBTS = (
    DebtSpec(DebtType.magistrates_fine, 0.55, 100_00, 2_500_00),
    DebtSpec(DebtType.parking, 0.25, 100_00, 500_00),
    DebtSpec(DebtType.sundry, 0.12, 150_00, 4_000_00),
    DebtSpec(DebtType.commercial_rent, 0.08, 2_000_00, 30_000_00),
)

BUYERS: tuple[BuyerSpec, ...] = (
    BuyerSpec("plymouth", "Plymouth City Council", "council", "E06000026", "PLY", _COUNCIL_DEBTS,
              "plymouth"),
    BuyerSpec("newcastle", "Newcastle City Council", "council", "E08000021", "NCL", _COUNCIL_DEBTS,
              "newcastle"),
    BuyerSpec("croydon", "London Borough of Croydon", "council", "E09000008", "CRO", _COUNCIL_DEBTS,
              "croydon"),
    BuyerSpec("national", "National Fines and Charges Service", "national", None, "NAT",
              _NATIONAL_DEBTS, "ccs_default"),
)

# Fictional firms. Together they cover every ITL1 region, so every case gets a subcontractor.
SUBCONTRACTORS: tuple[SubcontractorSpec, ...] = (
    SubcontractorSpec("tamar-tyne", "Tamar & Tyne Enforcement Ltd", "TTE", ("TLC", "TLD", "TLE", "TLM", "TLN")),
    SubcontractorSpec("meridian", "Meridian Civil Enforcement Ltd", "MCE", ("TLH", "TLI", "TLJ")),
    SubcontractorSpec("westward", "Westward Agency Services Ltd", "WAS", ("TLK", "TLL")),
    SubcontractorSpec("midshires", "Midshires Recovery Group Ltd", "MRG", ("TLF", "TLG")),
)

_COUNCIL_HEAVY = {"plymouth": 0.20, "newcastle": 0.25, "croydon": 0.20, "national": 0.35}

SCENARIOS: dict[str, ScenarioSpec] = {
    s.name: s
    for s in (
        ScenarioSpec("tiny", cases=300, agents=12, vans=2, buyer_shares=_COUNCIL_HEAVY, national_pool_step=200),
        ScenarioSpec("demo", cases=2_000, agents=60, vans=6, buyer_shares=_COUNCIL_HEAVY, national_pool_step=50),
        ScenarioSpec("national", cases=200_000, agents=2_000, vans=400,
                     buyer_shares={"plymouth": 0.05, "newcastle": 0.06, "croydon": 0.05, "national": 0.84},
                     national_pool_step=8),
    )
}


def get_spec(name: str) -> ScenarioSpec:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}") from None
