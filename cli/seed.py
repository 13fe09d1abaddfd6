from __future__ import annotations

import typer


def seed(
    scenario: str = typer.Option(..., "--scenario", help="tiny, demo or national"),
    seed: int = typer.Option(1, "--seed", help="random seed; the same seed gives identical rows"),
) -> None:
    """Replace the operational data with a generated scenario (buyers are kept, matched by reference)."""
    import sim

    try:
        report = sim.seed_scenario(scenario, seed=seed, progress=True)
    except sim.UnknownScenario as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from None
    except sim.EmptyPool as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(report.describe())
