"""CLI: `recruit up`, `recruit service NAME`, `recruit migrate`, `recruit simulate`, `recruit status`, `recruit dlq`,
`recruit purge`."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError

from shared.settings import SERVICE_PORTS, SERVICES, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

# The young generation's size once a service has imported its code: see settle_collector.
YOUNG_GENERATION_THRESHOLD = 50_000

app = typer.Typer(help="Recruitment pipeline: intake, screening, placement, reporting over Kafka.",
                  no_args_is_help=True, add_completion=False)


@app.command()
def up(
    data_dir: Path = typer.Option(Path(".recruit"), "--data-dir", help="Where the embedded database, credentials and logs live."),
    host: str = typer.Option("127.0.0.1", help="Address the services listen on."),
    port_base: int = typer.Option(SERVICE_PORTS["intake"], help="intake's port; the others follow (8001-8004)."),
    replicas: str = typer.Option("", "--replicas", help="e.g. screening=3,placement=2,reporting=2,intake=2: "
                                 "extra consumer replicas take the ports after the four; intake=N is N worker "
                                 "processes on intake's one port."),
) -> None:
    """Run everything on this machine, in the foreground, until Ctrl-C or SIGTERM."""
    from shared.runtime.supervisor import Supervisor, parse_replicas

    try:
        counts = parse_replicas(replicas)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--replicas") from error
    raise typer.Exit(Supervisor(data_dir=data_dir, host=host, port_base=port_base, replicas=counts).run())


@app.command()
def service(
    name: str = typer.Argument(..., help="intake, screening, placement or reporting"),
    host: str = typer.Option("0.0.0.0", help="Address to listen on."),
    port: int = typer.Option(0, envvar="PORT", help="Port; 0 means the service's default (8001-8004)."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes sharing the port (uvicorn workers)."),
) -> None:
    """Run one service (what containers run). Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL."""
    import uvicorn

    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    try:
        settings = get_settings()
    except ValidationError as error:  # a setting is malformed, or a *_FILE unreadable
        # Without the input: it holds the other settings, secrets among them.
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        typer.echo("configuration: " + "; ".join(p["msg"] for p in problems), err=True)
        raise typer.Exit(2) from error
    try:
        settings.database_dsn(), settings.kafka_servers()
        if name in ("intake", "reporting") and not settings.phone_hash_key.get_secret_value():
            raise RuntimeError("PHONE_HASH_KEY is not set: intake and reporting must share one secret key "
                               "(`recruit up` generates it).")
    except RuntimeError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    logging.basicConfig(level=settings.log_level, format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    uvicorn.run(f"shared.runtime.cli:{name}_app", factory=True, host=host, port=port or SERVICE_PORTS[name],
                log_level=settings.log_level.lower(), timeout_graceful_shutdown=15, access_log=False,
                # X-Forwarded-For only from TRUSTED_PROXIES, in the app (shared.web); uvicorn's default would
                # believe it from 127.0.0.1, so any local client could claim any address.
                proxy_headers=False, workers=workers)


def settled_app(name: str) -> FastAPI:
    """The service's app, made once its code is imported and the collector settled (settle_collector)."""
    module = importlib.import_module(f"services.{name}.app")
    settle_collector()
    return module.create_app()


# The factories `recruit service` hands uvicorn by name: uvicorn calls one in every worker process it
# starts (intake=N runs N), so each process settles its own collector.
def intake_app() -> FastAPI:
    return settled_app("intake")


def screening_app() -> FastAPI:
    return settled_app("screening")


def placement_app() -> FastAPI:
    return settled_app("placement")


def reporting_app() -> FastAPI:
    return settled_app("reporting")


def settle_collector() -> None:
    """Tune Python's garbage collector for a service's life, once its code is imported.

    Most of a service's heap is its libraries' and its own modules' objects, kept until it exits.
    Every full collection walked all of them, and a consumer that allocates thousands of short-lived
    objects a second (a batch's decoded events, projections and rows) set one off every second or two:
    the profile showed a large share of reporting's and screening's CPU there (the README's issue-12
    section has the figures). Frozen, those objects are left out of every collection. A young
    generation of YOUNG_GENERATION_THRESHOLD objects, rather than the default 700, lets most of a
    batch's objects be freed by their reference counts before the collector walks them at all; one
    young collection of that size is a pause of about a millisecond.
    """
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


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


@app.command()
def simulate(
    applications: int = typer.Option(..., "--applications", "-n", min=1, help="How many applicants to send."),
    rate: float = typer.Option(None, "--rate", min=0.1, help="Applications per second (default: as fast as intake takes them)."),
    interview: bool = typer.Option(False, "--interview", help="Also interview a share of them, so the whole funnel moves."),
    interview_share: float = typer.Option(0.8, "--interview-share", min=0.0, max=1.0, help="Share of applicants interviewed."),
    data_dir: Path = typer.Option(Path(".recruit"), "--data-dir", help="`recruit up`'s data dir, for its credentials.json."),
    host: str = typer.Option("127.0.0.1", help="Where `recruit up` runs."),
    port_base: int = typer.Option(SERVICE_PORTS["intake"], help="intake's port, as given to `recruit up`; the others follow."),
    intake_url: str = typer.Option(None, help="intake's URL (default: from --host and --port-base)."),
    screening_url: str = typer.Option(None, help="screening's URL (default: from --host and --port-base)."),
    reporting_url: str = typer.Option(None, help="reporting's URL, to show what it counts at the end (default: from --port-base)."),
    api_key: str = typer.Option(None, envvar="RECRUIT_API_KEY", help="intake X-Api-Key (default: INTAKE_API_KEYS, then credentials.json)."),
    staff_token: str = typer.Option(None, envvar="RECRUIT_STAFF_TOKEN", help="admin Bearer token for interviews (default: STAFF_TOKENS, then credentials.json)."),
    mode: str = typer.Option("auto", help="auto (bulk import when intake has it), bulk or single posts."),
    batch_size: int = typer.Option(500, min=1, max=100_000, help="Rows per bulk request."),
    concurrency: int = typer.Option(16, min=1, max=256, help="Requests in flight at once."),
    seed: int = typer.Option(None, help="Random seed, to send the same campaign again (default: a new one)."),
    wait: float = typer.Option(60.0, help="Seconds to wait for screening to queue applicants and reporting to count them."),
    json_out: Path = typer.Option(None, "--json-out", help="Also write what was sent and answered as JSON here."),
) -> None:
    """Replay a campaign against a running system: realistic Indian applicants, with a progress bar."""
    from shared.runtime import simulate as simulation

    found_key, found_token = simulation.credentials(data_dir)
    base = f"http://{host}:"
    options = simulation.Options(
        applications=applications, rate=rate, interview=interview, interview_share=interview_share,
        intake_url=(intake_url or f"{base}{port_base}").rstrip("/"),
        screening_url=(screening_url or f"{base}{port_base + 1}").rstrip("/"),
        reporting_url=(reporting_url or f"{base}{port_base + 3}").rstrip("/"),
        api_key=api_key or found_key or "", staff_token=staff_token or found_token, mode=mode,
        batch_size=batch_size, concurrency=concurrency, seed=seed, wait_seconds=wait, json_out=json_out,
    )
    if not options.api_key:
        typer.echo(f"no intake API key: pass --api-key, set INTAKE_API_KEYS, or point --data-dir at `recruit up`'s "
                   f"data dir (no {data_dir / 'credentials.json'})", err=True)
        raise typer.Exit(2)
    if mode not in ("auto", "bulk", "single"):
        raise typer.BadParameter("--mode must be auto, bulk or single")
    import httpx

    try:
        asyncio.run(simulation.simulate(options))
    except (RuntimeError, OSError, httpx.HTTPError) as error:
        typer.echo(f"simulate: {error}", err=True)
        raise typer.Exit(1) from error


DATA_DIR_OPTION = typer.Option(Path(".recruit"), "--data-dir", help="`recruit up`'s data dir (its run.json says "
                               "where everything is); without one, KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL.")


def _target(data_dir: Path):
    import os

    from shared.runtime.operations import load_target

    try:
        return load_target(data_dir, os.environ)
    except FileNotFoundError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="One JSON document instead of tables."),
    data_dir: Path = DATA_DIR_OPTION,
    lag_interval: float = typer.Option(2.0, help="Seconds between the two lag readings that tell growing lag."),
) -> None:
    """Every service and replica: ready or not; consumer lag; outbox backlog; dead letters. Exit 1 unless healthy."""
    from shared.runtime import operations

    found = asyncio.run(operations.system_status(_target(data_dir), lag_interval))
    if as_json:
        typer.echo(found.to_json())
    else:
        _print_status(found)
    raise typer.Exit(0 if found.healthy else 1)


def _print_status(found) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"broker: {found.broker}")
    services = Table(title="services", title_justify="left")
    for column in ("service", "url", "ready", "database", "broker"):
        services.add_column(column)
    for name, replicas in found.services.items():
        for replica in replicas:
            services.add_row(name, replica["url"], "yes" if replica["ready"] else "[red]no[/]",
                             str(replica.get("database", "")), str(replica.get("broker", "")))
    console.print(services)
    lag = Table(title="consumer lag (messages behind)", title_justify="left")
    for column in ("group", "topic", "lag"):
        lag.add_column(column)
    for group, topics in found.lag.items():
        for topic, behind in topics.items():
            lag.add_row(group, topic, str(behind))
    console.print(lag)
    outbox = Table(title="outbox", title_justify="left")
    for column in ("service", "unpublished", "oldest (s)"):
        outbox.add_column(column)
    for service, backlog in found.outbox.items():
        oldest = backlog["oldest_seconds"]
        outbox.add_row(service, str(backlog["unpublished"]), "" if oldest is None else f"{oldest:.1f}")
    console.print(outbox)
    letters = Table(title="dead letters", title_justify="left")
    for column in ("topic", "total", "not replayed"):
        letters.add_column(column)
    for topic, count in found.dead_letters.items():
        letters.add_row(topic, str(count["total"]), str(count["not_replayed"]))
    console.print(letters)
    for problem in found.problems:
        console.print(f"[red]problem:[/] {problem}")
    console.print("[green]healthy[/]" if found.healthy else "[red]not healthy[/]")


@app.command()
def purge(
    older_than: str = typer.Option(..., "--older-than", help="e.g. 90d: cases that ended at least this long ago."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say how many applications would be erased."),
    data_dir: Path = typer.Option(Path(".recruit"), "--data-dir", help="`recruit up`'s data dir: its run.json "
                                  "says where intake is, its credentials.json holds an admin token."),
    intake_url: str = typer.Option(None, "--intake-url", help="intake's address (default: run.json, else :8001)."),
    staff_token: str = typer.Option(None, envvar="RECRUIT_STAFF_TOKEN", help="an admin Bearer token (default: "
                                    "STAFF_TOKENS, then credentials.json)."),
) -> None:
    """Erase the personal data of applications whose case ended rejected or no_show that long ago (the running
    intake does it: application.erased with reason retention; every count stays)."""
    from shared.runtime import operations
    from shared.runtime.simulate import credentials

    try:
        days = operations.days_of(older_than)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--older-than") from error
    token = staff_token or credentials(data_dir)[1]
    if not token:
        typer.echo(f"no admin token: set RECRUIT_STAFF_TOKEN or STAFF_TOKENS, or point --data-dir at `recruit up`'s "
                   f"data dir (no {data_dir / 'credentials.json'})", err=True)
        raise typer.Exit(2)
    url = intake_url or operations.intake_url_of(data_dir)
    try:
        done = asyncio.run(operations.purge(url, token, days, dry_run=dry_run))
    except (RuntimeError, OSError) as error:
        typer.echo(f"purge: {error}", err=True)
        raise typer.Exit(1) from error
    except Exception as error:  # httpx's connection errors: say where it looked
        typer.echo(f"purge: cannot reach intake at {url} ({type(error).__name__})", err=True)
        raise typer.Exit(1) from error
    verb = "would be erased (dry run)" if done["dry_run"] else "erased"
    typer.echo(f"{done['applications']} application(s) whose case ended rejected or no_show at least "
               f"{done['older_than_days']} days ago {verb}")


dlq = typer.Typer(help="Dead letters: list them, send them back once their cause is fixed, or discard them.",
                  no_args_is_help=True)
app.add_typer(dlq, name="dlq")


@dlq.command("list")
def dlq_list(
    topic: str = typer.Argument(None, help="A topic (or its .dlq); default: every topic."),
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """Every dead letter: where it came from, which consumer gave up, the event id and the error (no personal data)."""
    from shared.events import TOPICS
    from shared.runtime import operations

    try:
        found = asyncio.run(operations.list_dead_letters(_target(data_dir).kafka_bootstrap_servers,
                                                         [topic] if topic else list(TOPICS)))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    for name, letters in found.items():
        for letter in letters:
            typer.echo(f"{name}  {letter.original_topic}/{letter.original_partition}@{letter.original_offset}"
                       f"  consumer={letter.consumer}  event_id={letter.event_id}  type={letter.event_type}"
                       f"  error={letter.error[:300]}")
    typer.echo(f"{sum(len(letters) for letters in found.values())} dead letter(s)")


@dlq.command("replay")
def dlq_replay(
    topic: str = typer.Argument(..., help="The topic whose dead letters go back (or its .dlq)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be sent."),
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """Send the dead letters of TOPIC not replayed yet back to it; a second replay sends none again."""
    from shared.runtime import operations

    try:
        letters = asyncio.run(operations.replay_dead_letters(_target(data_dir).kafka_bootstrap_servers, topic,
                                                             dry_run=dry_run))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    for letter in letters:
        typer.echo(f"{'would send' if dry_run else 'sent'} {letter.event_id} back to {letter.original_topic}")
    typer.echo(f"{len(letters)} dead letter(s) {'would be' if dry_run else ''} replayed".replace("  ", " "))


@dlq.command("discard")
def dlq_discard(
    topic: str = typer.Argument(..., help="The topic whose waiting dead letters are dealt with (or its .dlq)."),
    data_dir: Path = DATA_DIR_OPTION,
) -> None:
    """Mark the dead letters of TOPIC not replayed yet as dealt with, sending nothing (a message that is not
    an event at all); they stay listed by `recruit dlq list`."""
    from shared.runtime import operations

    try:
        letters = asyncio.run(operations.discard_dead_letters(_target(data_dir).kafka_bootstrap_servers, topic))
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    for letter in letters:
        typer.echo(f"discarded {letter.original_topic}/{letter.original_partition}@{letter.original_offset}")
    typer.echo(f"{len(letters)} dead letter(s) discarded")


if __name__ == "__main__":
    app()
