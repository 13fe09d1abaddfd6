"""``bailiwick report capacity``: one buyer's monthly capacity report [000 §1.8, §2.94] with its
performance figures [000 §1.136], written as XLSX or HTML."""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core import PROJECT_ROOT, record_audit, session_scope

app = typer.Typer(help="Reports.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command()
def capacity(
    month: Annotated[str, typer.Option("--month", help="the month, YYYY-MM")],
    buyer: Annotated[str, typer.Option("--buyer", help="the buyer's reference")],
    fmt: Annotated[str, typer.Option("--format", help="xlsx or html")] = "xlsx",
    out: Annotated[Path | None, typer.Option("--out", help="the file to write (default out/capacity_<buyer>_<month>.<format>)")] = None,
) -> None:
    """Write the buyer's capacity report for the month: the table per region and subcontractor, the
    deprioritisation index with its interval and flags, the weekly trend, the chart and the
    self-serve performance figures."""
    from sqlalchemy import select

    from core.models import Buyer
    from regions import FORMATS, PeriodError, buyer_report, month_period, render

    if fmt not in FORMATS:
        raise _fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    try:
        period = month_period(month, "--month")
    except PeriodError as exc:
        raise _fail(str(exc)) from None
    console = Console(stderr=True)
    with session_scope() as db:
        row = db.execute(select(Buyer.id, Buyer.name).where(Buyer.reference == buyer)).one_or_none()
        if row is None:
            raise _fail(f"--buyer: no buyer with reference {buyer!r}")
        with console.status(f"computing the {period.label} capacity report for {buyer} …"):
            report = buyer_report(db, period, row.id, buyer, row.name)
            body = render(report, fmt)
        record_audit(db, actor=f"cli:{getpass.getuser()}", action="report.capacity", target=f"buyer:{row.id}",
                     data={"month": period.label, "format": fmt})
    path = out or PROJECT_ROOT / "out" / f"capacity_{buyer}_{period.label}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    flags = report.capacity.flags()
    typer.echo(f"{path} written: {len(report.capacity.table)} region lines, {len(flags)} flagged"
               + "".join(f"\n  flagged: {f.region} {f.subcontractor or 'all firms'} {f.priority_class or 'overall'} "
                         f"index {f.estimate.index:.2f} (interval {f.estimate.low:.2f}-{f.estimate.high:.2f})"
                         for f in flags))
