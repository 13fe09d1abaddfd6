"""README.md's route table (section "## API") and the app's routes are the same set, so that neither
can change without the other. A cell lists routes as `METHOD /path`; a bare `/path` continues the
route before it: same method, beside its last segment (`POST /cases/{id}/payments`, `/refunds` is
`POST /cases/{id}/refunds`). Parameter names and query strings do not count."""
from __future__ import annotations

import re
from pathlib import Path

from api import create_app

README = Path(__file__).resolve().parents[1] / "README.md"
ROUTE = re.compile(r"`(?:([A-Z]+) )?(/[^`\s?]*)[^`]*`")
METHODS = {"get", "post", "put", "patch", "delete"}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def api_section(text: str) -> str:
    start = text.index("\n## API\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def table_routes(section: str) -> set[tuple[str, str]]:
    """Every (METHOD, path shape) named in the first cell of the section's route table."""
    routes: set[tuple[str, str]] = set()
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    for row in rows:
        first_cell = row.split(" | ")[0]
        method = path = None
        for named_method, named_path in ROUTE.findall(first_cell):
            if named_method:
                method, path = named_method, named_path
            else:
                assert method, f"{named_path!r} continues no route in: {row}"
                path = path.rsplit("/", 1)[0] + named_path
            routes.add((method, _shape(path)))
    return routes


def app_routes() -> set[tuple[str, str]]:
    spec = create_app().openapi()
    return {(method.upper(), _shape(path)) for path, ops in spec["paths"].items() for method in ops
            if method in METHODS}


def test_the_readme_table_lists_exactly_the_apps_routes():
    listed = table_routes(api_section(README.read_text(encoding="utf-8")))
    served = app_routes()
    assert not served - listed, f"routes missing from README's table: {sorted(served - listed)}"
    assert not listed - served, f"README lists routes the app does not have: {sorted(listed - served)}"


def test_the_parser_reads_the_compact_form():
    section = ("\n## API\n| route | what |\n|---|---|\n"
               "| `GET /cases/{id}/ledger`, `POST /cases/{id}/payments`, `/refunds`, `/fees/cancel` | money |\n"
               "| `GET /plans/{day}?region=` | plan |\n")
    assert table_routes(section) == {("GET", "/cases/{}/ledger"), ("POST", "/cases/{}/payments"),
                                     ("POST", "/cases/{}/refunds"), ("POST", "/cases/{}/fees/cancel"),
                                     ("GET", "/plans/{}")}
