from __future__ import annotations

import typer

app = typer.Typer(help="Buyer visit policies (core/policies/*.yaml).", no_args_is_help=True)
