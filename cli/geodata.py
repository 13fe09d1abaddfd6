from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Reference geography (ONS regions, local authorities, postcodes, sensitive premises).",
                  no_args_is_help=True)


@app.command()
def load(
    geodata_dir: Path = typer.Option(None, "--dir", help="default: BAILIWICK_GEODATA_DIR, else ../shared/geodata"),
    force: bool = typer.Option(False, help="reload datasets even when their files are unchanged"),
) -> None:
    """Load the reference datasets into PostGIS (idempotent: unchanged files are skipped)."""
    import geodata
    from core import get_settings

    settings = get_settings()
    for report in geodata.load_all(geodata_dir or settings.geodata_dir, settings.database_url, force=force,
                                   progress=True):
        typer.echo(report.describe())
