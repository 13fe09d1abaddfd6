from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    workers: int = typer.Option(1, help="worker processes"),
) -> None:
    """Run the HTTP API."""
    import uvicorn

    uvicorn.run("api:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=True)
