"""CLI: `recruit up`, `recruit service NAME`, `recruit migrate`, `recruit simulate`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from shared.settings import SERVICE_PORTS, SERVICES, get_settings

app = typer.Typer(help="Recruitment pipeline: intake, screening, placement, reporting over Kafka.",
                  no_args_is_help=True, add_completion=False)


@app.command()
def up(
    data_dir: Path = typer.Option(Path(".recruit"), "--data-dir", help="Where the embedded database, credentials and logs live."),
    host: str = typer.Option("127.0.0.1", help="Address the services listen on."),
    port_base: int = typer.Option(SERVICE_PORTS["intake"], help="intake's port; the others follow (8001-8004)."),
) -> None:
    """Run everything on this machine, in the foreground, until Ctrl-C or SIGTERM."""
    from shared.supervisor import Supervisor

    raise typer.Exit(Supervisor(data_dir=data_dir, host=host, port_base=port_base).run())


@app.command()
def service(
    name: str = typer.Argument(..., help="intake, screening, placement or reporting"),
    host: str = typer.Option("0.0.0.0", help="Address to listen on."),
    port: int = typer.Option(0, envvar="PORT", help="Port; 0 means the service's default (8001-8004)."),
) -> None:
    """Run one service (what containers run). Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL."""
    import uvicorn

    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    settings = get_settings()
    try:
        settings.database_dsn(), settings.kafka_servers()
        if name in ("intake", "reporting") and not settings.phone_hash_key.get_secret_value():
            raise RuntimeError("PHONE_HASH_KEY is not set: intake and reporting must share one secret key "
                               "(`recruit up` generates it).")
    except RuntimeError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    logging.basicConfig(level=settings.log_level, format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    uvicorn.run(f"services.{name}.app:create_app", factory=True, host=host, port=port or SERVICE_PORTS[name],
                log_level=settings.log_level.lower(), timeout_graceful_shutdown=15, access_log=False)


@app.command()
def migrate() -> None:
    """Apply every service's migrations to DATABASE_URL (safe to run twice)."""
    from shared import db

    dsn = get_settings().database_dsn()

    async def run() -> None:
        await db.ensure_database(dsn)
        for name in SERVICES:
            applied = await db.migrate(dsn, name)
            typer.echo(f"{name}: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ""))

    asyncio.run(run())


if __name__ == "__main__":
    app()
