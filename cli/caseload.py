from __future__ import annotations

from rich.console import Console
from rich.table import Table

from core import session_scope
from regions import CaseloadSummary, caseload_summary


def render(summary: CaseloadSummary) -> Table:
    table = Table(title="Cases and agents per region and buyer", show_footer=True)
    table.add_column("region", footer="total")
    totals = summary.buyer_totals()
    for buyer in summary.buyers:
        table.add_column(buyer, justify="right", footer=f"{totals[buyer]:,}")
    table.add_column("cases", justify="right", footer=f"{summary.cases:,}")
    table.add_column("agents", justify="right", footer=f"{summary.agents:,}")
    for r in summary.regions:
        table.add_row(f"{r.itl1_cd} {r.name}", *(f"{r.cases_by_buyer.get(b, 0):,}" for b in summary.buyers),
                      f"{r.cases:,}", f"{r.agents:,}")
    return table


def caseload() -> None:
    """Print cases per region and buyer, and active agents per region."""
    with session_scope() as db:
        Console().print(render(caseload_summary(db)))
