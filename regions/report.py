"""The monthly capacity report one buyer is owed [000 §1.8, §2.94], with its self-serve performance
figures [000 §1.136], as HTML (one self-contained page) or XLSX (one sheet per table, the chart
embedded): the table per region and subcontractor, the index with its interval and flags per region,
subcontractor and priority class, the week-by-week trend, and a chart of the buyer's share of the
caseload against its share of agent time (PNG, matplotlib).

``buyer_report`` reads the figures (``capacity_report`` cut to the buyer, ``performance_report``);
the renderers are pure functions of what it returns."""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.drawing.image import Image as XlImage
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from regions.capacity import CapacityReport, capacity_report
from regions.performance import PerformanceReport, performance_report
from regions.period import Period

FORMATS = ("html", "xlsx")
MEDIA_TYPES = {"html": "text/html; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                         autoescape=select_autoescape(["html", "j2"]))

TABLE_HEAD = ["Region", "Subcontractor", "Cases placed", "Cases open", "Agents allocated",
              "Subcontractor caseload (all clients)", "Subcontractor agents (all clients)", "Share of its business",
              "Agent time (h)", "Share of agent time", "Share of caseload", "Index"]
INDEX_HEAD = ["Region", "Subcontractor", "Priority class", "Share of agent time", "Share of caseload", "Index",
              "Interval low", "Interval high", "Agent-days", "Case-days", "Flagged"]
PERFORMANCE_HEAD = ["Subcontractor", "Region", "Open cases", "Visits", "Visits per case", "Contact rate",
                    "GPS-verified visits", "Collected (£)", "Refunded (£)", "Returned", "Returns by reason"]


@dataclass(frozen=True)
class BuyerReport:
    buyer: str
    buyer_name: str
    capacity: CapacityReport  # cut to the buyer (``CapacityReport.for_buyer``)
    performance: PerformanceReport


def buyer_report(db: Session, period: Period, buyer_id: int, buyer: str, buyer_name: str) -> BuyerReport:
    return BuyerReport(buyer, buyer_name, capacity_report(db, period).for_buyer(buyer),
                       performance_report(db, buyer_id, period.first))


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1%}"


def _num(x: float | None, digits: int = 2) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def table_rows(r: BuyerReport) -> list[list[Any]]:
    c = r.capacity
    subs = {(s.region, s.subcontractor): s for s in c.subcontractors}
    rows = []
    for t in c.table:
        s = subs.get((t.region, t.subcontractor))
        i = c.index(t.region, t.buyer, subcontractor=t.subcontractor)
        rows.append([c.regions.get(t.region, t.region), t.subcontractor, t.cases_placed, t.cases_open,
                     t.agents_allocated, s.total_caseload if s else "", s.total_agents if s else "",
                     _pct(t.share_of_business), _num(t.agent_time_s / 3600, 1),
                     _pct(i.estimate.share_of_time if i else None), _pct(i.estimate.share_of_caseload if i else None),
                     _num(i.estimate.index if i else None)])
    return rows


def index_rows(r: BuyerReport) -> list[list[Any]]:
    c = r.capacity
    return [[c.regions.get(i.region, i.region), i.subcontractor or "all", i.priority_class or "overall",
             _pct(i.estimate.share_of_time), _pct(i.estimate.share_of_caseload), _num(i.estimate.index),
             _num(i.estimate.low), _num(i.estimate.high), i.estimate.agent_days, i.case_days,
             "yes" if i.flagged else "no"] for i in c.indices]


def weekly_rows(r: BuyerReport) -> tuple[list[str], list[tuple[str, list[str]]]]:
    c = r.capacity
    weeks = sorted({w.week_start for w in c.weekly})
    cells: dict[str, dict] = {}
    for w in c.weekly:
        cells.setdefault(w.region, {})[w.week_start] = w.index
    return ([w.isoformat() for w in weeks],
            [(c.regions.get(region, region), [_num(by_week.get(w)) for w in weeks])
             for region, by_week in sorted(cells.items())])


def performance_rows(r: BuyerReport) -> list[list[Any]]:
    p = r.performance
    rows = []
    for line in p.by_subcontractor_region:
        m = line.measures
        rows.append([line.subcontractor or "(unassigned)", line.region_name or line.itl1_cd or "(no region)",
                     m.open_cases, m.visits, _num(m.visits_per_case), _pct(m.contact_rate), m.gps_verified_visits,
                     f"{m.collected_pence / 100:,.2f}", f"{m.refunded_pence / 100:,.2f}", m.returned,
                     "; ".join(f"{reason}: {n}" for reason, n in sorted(m.returns.items()))])
    t = p.total
    rows.append(["All", "All regions", t.open_cases, t.visits, _num(t.visits_per_case), _pct(t.contact_rate),
                 t.gps_verified_visits, f"{t.collected_pence / 100:,.2f}", f"{t.refunded_pence / 100:,.2f}",
                 t.returned, "; ".join(f"{reason}: {n}" for reason, n in sorted(t.returns.items()))])
    return rows


def chart_png(r: BuyerReport) -> bytes:
    """The buyer's share of the competing caseload (x) against its share of agent time (y) in each
    region, with the interval as an error bar; the diagonal is proportional, the dashed line the
    threshold."""
    c = r.capacity
    lines = [i for i in c.indices if i.subcontractor is None and i.priority_class is None]
    # The object API, not pyplot: no global figure state and no display backend on a server.
    fig = Figure(figsize=(7, 5), dpi=110)
    ax = fig.subplots()
    # Room for every point and the top of its interval (high × share of caseload: the error bar's end).
    top = min(1.0, max([0.05, *(max(i.estimate.share_of_caseload, i.estimate.share_of_time,
                                    i.estimate.high * i.estimate.share_of_caseload) for i in lines)]) * 1.1)
    ax.plot([0, top], [0, top], color="#505a5f", lw=1, label="proportional")
    ax.plot([0, top], [0, top * c.threshold], color="#505a5f", lw=1, ls="--", label=f"threshold {c.threshold:.2f}")
    for i in lines:
        e = i.estimate
        colour = "#d4351c" if i.flagged else "#1d70b8"
        ax.errorbar(e.share_of_caseload, e.share_of_time,
                    yerr=[[max(0.0, e.share_of_time - e.low * e.share_of_caseload)],
                          [max(0.0, e.high * e.share_of_caseload - e.share_of_time)]],
                    fmt="o", color=colour, capsize=3)
        ax.annotate(c.regions.get(i.region, i.region), (e.share_of_caseload, e.share_of_time), fontsize=8,
                    xytext=(4, 4), textcoords="offset points")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("share of the competing caseload")
    ax.set_ylabel("share of agent time")
    ax.set_title(f"{r.buyer_name}, {c.period.label}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def render_html(r: BuyerReport) -> str:
    weeks, weekly = weekly_rows(r)
    c = r.capacity
    return _TEMPLATES.get_template("capacity_report.html.j2").render(
        buyer=r.buyer, buyer_name=r.buyer_name, month=c.period.label, first=c.period.first, last=c.period.last,
        threshold=c.threshold, regions=c.regions, flags=c.flags(),
        chart=base64.b64encode(chart_png(r)).decode(), table_head=TABLE_HEAD, table_rows=table_rows(r),
        index_head=INDEX_HEAD, index_rows=index_rows(r), weeks=weeks, weekly_rows=weekly,
        performance_head=PERFORMANCE_HEAD, performance_rows=performance_rows(r))


def render_xlsx(r: BuyerReport) -> bytes:
    c = r.capacity
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    summary.append([f"Capacity and non-deprioritisation: {r.buyer_name}"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append(["Month", c.period.label])
    summary.append(["Threshold", c.threshold])
    summary.append(["Flagged", "; ".join(f"{c.regions.get(f.region, f.region)} {f.subcontractor or ''} "
                                         f"{f.priority_class or 'overall'} {f.estimate.index:.2f}"
                                         for f in c.flags()) or "none"])
    summary.add_image(XlImage(io.BytesIO(chart_png(r))), "A6")
    weeks, weekly = weekly_rows(r)
    for title, head, rows in (("Regions", TABLE_HEAD, table_rows(r)), ("Index", INDEX_HEAD, index_rows(r)),
                              ("Weekly", ["Region", *weeks], [[region, *cells] for region, cells in weekly]),
                              ("Performance", PERFORMANCE_HEAD, performance_rows(r))):
        sheet = wb.create_sheet(title)
        sheet.append(head)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(r: BuyerReport, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return render_html(r).encode() if fmt == "html" else render_xlsx(r)
