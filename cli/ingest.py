"""``bailiwick ingest gps``: the GPS ingest workers (``tracking``), N processes in one shared
subscription."""
from __future__ import annotations

import multiprocessing
import signal
from typing import Annotated

import typer

app = typer.Typer(help="MQTT ingest workers.", no_args_is_help=True)


def _worker(index: int) -> None:
    import logging

    from tracking import IngestConfig, IngestWorker

    logging.basicConfig(level=logging.INFO, format=f"ingest[{index}] %(levelname)s %(message)s")
    worker = IngestWorker(IngestConfig(client_id=f"bailiwick-ingest-{index}"))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stopping.set())
    worker.run()


@app.command("gps")
def gps(workers: Annotated[int, typer.Option(help="worker processes (each one MQTT client in the shared "
                                                  "subscription $share/tracking/…)")] = 1) -> None:
    """Ingest agents' GPS fixes (agents/+/gps, owntracks/+/+, owntracks/+/+/event) into gps_ping and the
    live positions until stopped; bad messages go to gps_dead_letter with their reason."""
    if not 1 <= workers <= 64:
        typer.echo(f"--workers: {workers} is not between 1 and 64", err=True)
        raise typer.Exit(2)
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_worker, args=(i,), name=f"ingest-{i}") for i in range(workers)]
    for p in procs:
        p.start()

    def stop(*_args) -> None:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: the worker finishes its batch, then leaves

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.join()
    failed = [p.name for p in procs if p.exitcode not in (0, -signal.SIGTERM)]
    if failed:
        typer.echo(f"worker(s) failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
