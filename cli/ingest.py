"""``bailiwick ingest gps`` and ``bailiwick ingest anpr``: the ingest workers (``tracking``,
``anpr_ingest``), N processes in one shared subscription each."""
from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Callable
from typing import Annotated

import typer

app = typer.Typer(help="MQTT ingest workers.", no_args_is_help=True)

Workers = Annotated[int, typer.Option(help="worker processes (each one MQTT client in the shared subscription)")]


def _worker(kind: str, index: int) -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format=f"{kind}[{index}] %(levelname)s %(message)s")
    if kind == "gps":
        from tracking import IngestConfig, IngestWorker

        worker = IngestWorker(IngestConfig(client_id=f"bailiwick-ingest-{index}"))
    else:
        from anpr_ingest import AnprIngestConfig, AnprIngestWorker

        worker = AnprIngestWorker(AnprIngestConfig(client_id=f"bailiwick-anpr-{index}"))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stopping.set())
    worker.run()


def _check_workers(workers: int) -> None:
    if not 1 <= workers <= 64:
        typer.echo(f"--workers: {workers} is not between 1 and 64", err=True)
        raise typer.Exit(2)


def _run(kind: str, workers: int, every: Callable[[], object] | None = None, every_s: float = 0.0) -> None:
    """Start ``workers`` processes of ``kind`` and wait for them; ``every`` runs here every ``every_s``
    seconds meanwhile."""
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_worker, args=(kind, i), name=f"{kind}-{i}") for i in range(workers)]
    for p in procs:
        p.start()
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: the worker finishes its batch, then leaves

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while every is not None and not stopping and all(p.is_alive() for p in procs):
        every()
        time.sleep(every_s)
    for p in procs:
        p.join()
    failed = [p.name for p in procs if p.exitcode not in (0, -signal.SIGTERM)]
    if failed:
        typer.echo(f"worker(s) failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)


@app.command("gps")
def gps(workers: Workers = 1) -> None:
    """Ingest agents' GPS fixes (agents/+/gps, owntracks/+/+, owntracks/+/+/event) into gps_ping and the
    live positions until stopped; bad messages go to gps_dead_letter with their reason."""
    _check_workers(workers)
    _run("gps", workers)


@app.command("anpr")
def anpr(workers: Workers = 1) -> None:
    """Ingest the vans' plate reads (vans/+/anpr) until stopped: the hotlist is rebuilt from PostGIS
    first; reads that match it are stored as hits and sightings, every other read is only counted
    (R-ANPR-PRIVACY); bad messages go to anpr_dead_letter with the field and reason, never the plates."""
    _check_workers(workers)
    from anpr_ingest import ADMIT_EVERY_S, admit_once, rebuild_hotlist
    from core import connect_redis, session_scope

    actor = "cli:ingest anpr"
    client = connect_redis()
    with session_scope() as db:
        report = rebuild_hotlist(db, client, actor)
    typer.echo(f"hotlist: {report.vehicles:,} vehicles")
    _run("anpr", workers, lambda: admit_once(client, actor), ADMIT_EVERY_S)
