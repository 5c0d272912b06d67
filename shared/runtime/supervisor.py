"""Supervisor: `recruit up` — infrastructure, migrations, four service processes, restarts, clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table

from shared import db
from shared.events import CONSUMED_TOPICS
from shared.outbox import queue_unapplied
from shared.runtime.infra import Infrastructure, die_with_parent, start_infrastructure
from shared.runtime.operations import RUN_FILE
from shared.settings import SERVICE_PORTS, SERVICES, get_settings

console = Console(highlight=False)

STOP_GRACE_SECONDS = 20  # SIGTERM, then SIGKILL: the whole stop stays well under 30 s
MAX_RESTART_DELAY = 30.0
# Consumer services may run several replicas (one consumer group shares the topics' partitions);
# intake consumes nothing, so its replicas are worker processes on its one port.
# A recycled broker is given this long before the next recycle, so a limit below what an empty
# broker with the services' topics holds cannot turn into a restart loop.
BROKER_RECYCLE_MIN_SECONDS = 30.0
# The services whose replicas are processes of their own on ports after the four. intake's are workers
# of its one process on its one port (SPEC: intake takes HTTP; each worker also joins intake's consumer group).
REPLICATED = tuple(name for name in SERVICES if name in CONSUMED_TOPICS and name != "intake")


def parse_replicas(text: str) -> dict[str, int]:
    """`screening=3,placement=2` -> {"screening": 3, "placement": 2}; a service not named runs once."""
    counts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, number = item.partition("=")
        name = name.strip()
        if name not in SERVICES:
            raise ValueError(f"unknown service {name!r} in {item!r}; choose from {', '.join(SERVICES)}")
        if not number.strip().isdigit() or not 1 <= int(number) <= 16:
            raise ValueError(f"{item!r}: the number of replicas must be a whole number from 1 to 16")
        counts[name] = int(number)
    return counts


def prepare_data_dir(data_dir: Path) -> None:
    """The data dir, mode 700: it holds the credentials, the database and the logs."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its first byte: a new file created with mode 600
    (not chmod-ed after the write, which leaves a moment when any user could read it), renamed
    over the old one so a reader never sees half of it."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise


def load_credentials(data_dir: Path, environ: dict[str, str]) -> dict[str, str]:
    """Credentials from the environment, else generated once and kept in the data dir (mode 600),
    so a restart keeps the keys operators and forms already use."""
    prepare_data_dir(data_dir)
    path = data_dir / "credentials.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    generated = {
        "INTAKE_API_KEYS": f"web-form:{secrets.token_urlsafe(18)},simulator:{secrets.token_urlsafe(18)}",
        "STAFF_TOKENS": f"{secrets.token_urlsafe(24)}:admin,{secrets.token_urlsafe(24)}:interviewer",
        "PHONE_HASH_KEY": secrets.token_hex(32),
    }
    for name, value in generated.items():
        stored.setdefault(name, value)
    write_private(path, json.dumps(stored, indent=2))
    return {name: _given(environ, name) or stored[name] for name in generated}


def _given(environ: dict[str, str], name: str) -> str | None:
    """An operator's value for a credential: NAME, or the content of the file NAME_FILE names."""
    if environ.get(f"{name}_FILE"):
        return Path(environ[f"{name}_FILE"]).read_text(encoding="utf-8").rstrip("\r\n")
    return environ.get(name)


async def prepare_database(database_url: str, replay_outbox: bool, within: timedelta) -> int:
    """Migrate every service's schema; with a fresh broker, queue again every stored event of the
    last `within` (the inbox retention) that a consumer has not applied yet. Returns how many."""
    replayed = 0
    for service in SERVICES:
        await db.migrate(database_url, service)
    if replay_outbox:
        conn = await asyncpg.connect(database_url)
        try:
            for service in SERVICES:
                await conn.execute(f'SET search_path TO "{service}"')
                replayed += await queue_unapplied(conn, CONSUMED_TOPICS, within)
        finally:
            await conn.close()
    return replayed


@dataclass
class ServiceProcess:
    name: str
    port: int
    host: str
    log_path: Path
    replica: int = 1  # 1, 2, ...: the first replica is named after its service alone
    workers: int = 1  # uvicorn worker processes on this port (intake=N)
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0

    @property
    def label(self) -> str:
        return self.name if self.replica == 1 else f"{self.name}-{self.replica}"

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.runtime.cli", "service", self.name, "--host", self.host,
                 "--port", str(self.port), "--workers", str(self.workers)],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C goes to the supervisor, which stops services in order
                preexec_fn=die_with_parent,
            )
        self.started_at = time.monotonic()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            console.print(f"[yellow]{self.label} did not stop in time; killing it[/]")
            self.process.kill()
            self.process.wait()


@dataclass
class Supervisor:
    data_dir: Path
    host: str = "127.0.0.1"
    port_base: int = SERVICE_PORTS["intake"]
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    replicas: dict[str, int] = field(default_factory=dict)  # service -> replicas (parse_replicas); 1 if absent
    infra: Infrastructure | None = None
    services: list[ServiceProcess] = field(default_factory=list)
    stopping: bool = False

    def child_env(self, credentials: dict[str, str]) -> dict[str, str]:
        assert self.infra is not None
        # A credential the operator gave as NAME_FILE reaches the services as that file, not as NAME.
        passed = {name: value for name, value in credentials.items() if not self.environ.get(f"{name}_FILE")}
        return {**self.environ, **self.infra.env(), **passed, "PYTHONUNBUFFERED": "1"}

    def service_env(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """One service's environment: the common one plus what only it needs. The staff console is
        screening's page and calls placement (units, capacities, audit) and intake (its audit: erasures)
        from the browser, so both allow the console's origin (CORS_ORIGINS, added to any the operator set)
        and screening tells the page where they are (PLACEMENT_URL and INTAKE_URL, unless the operator set
        them, e.g. behind a proxy); intake links reporting's status page (REPORTING_URL, likewise)."""
        def url(service: str) -> str:
            # A browser cannot call a wildcard address; on this machine it reaches the services on loopback.
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
            return f"http://{host}:{self.port_base + SERVICES.index(service)}"

        def console_origins() -> str:
            page = url("screening")
            origins = [page]
            if page.startswith("http://127.0.0.1:"):  # the same page opened as localhost is another origin
                origins.append(page.replace("127.0.0.1", "localhost", 1))
            given = [o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()]
            return ",".join(dict.fromkeys(given + origins))

        if name == "placement":
            return {**env, "CORS_ORIGINS": console_origins()}
        if name == "screening":
            return {**env, "PLACEMENT_URL": env.get("PLACEMENT_URL") or url("placement"),
                    "INTAKE_URL": env.get("INTAKE_URL") or url("intake")}
        if name == "intake":  # its confirmation links the applicant's status page
            return {**env, "CORS_ORIGINS": console_origins(),
                    "REPORTING_URL": env.get("REPORTING_URL") or url("reporting")}
        return env

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        prepare_data_dir(self.data_dir)
        console.print(f"[bold]recruit[/] starting; data in {self.data_dir.resolve()}")
        self.infra = start_infrastructure(self.data_dir, self.environ)
        try:
            credentials = load_credentials(self.data_dir, self.environ)
            replayed = asyncio.run(prepare_database(self.infra.database_url, self.infra.broker_is_embedded,
                                                    self.replay_window()))
            if self.infra.broker_is_embedded:
                # One short line: an 80-column terminal must not wrap it mid-phrase.
                console.print(f"fresh embedded broker: {replayed} unapplied events queued again")
            env = self.child_env(credentials)
            self.services = self.service_processes()
            for service in self.services:
                service.start(self.service_env(service.name, env))
            self._write_run_file()
            self._wait_ready()
            self._print_banner(credentials)
            self._watch(env)
        finally:
            self._stop_all()
        console.print("recruit stopped")
        return 0

    def service_processes(self) -> list[ServiceProcess]:
        """One process per service on the four base ports; a consumer service's further replicas on
        the ports after them (port_base + 4, + 5, ...: screening's, then placement's, then reporting's);
        intake=N as N workers of its one process."""
        logs = self.data_dir / "logs"
        processes = [ServiceProcess(name, self.port_base + i, self.host, logs / f"{name}.log",
                                    workers=self.replicas.get(name, 1) if name not in REPLICATED else 1)
                     for i, name in enumerate(SERVICES)]
        port = self.port_base + len(SERVICES)
        for name in REPLICATED:
            for replica in range(2, self.replicas.get(name, 1) + 1):
                processes.append(ServiceProcess(name, port, self.host, logs / f"{name}-{replica}.log", replica))
                port += 1
        return processes

    def replay_window(self) -> timedelta:
        """How far back a fresh broker's replay looks: the inbox retention (shared.inbox.prune)."""
        return timedelta(days=get_settings().inbox_retention_days)

    def _request_stop(self, signum, _frame) -> None:
        if not self.stopping:
            console.print(f"\n{signal.Signals(signum).name} received: stopping")
        self.stopping = True

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = {s.label: f"http://{self.host}:{s.port}/readyz" for s in self.services}
        while pending and time.monotonic() < deadline and not self.stopping:
            for name, url in list(pending.items()):
                try:
                    if httpx.get(url, timeout=1.0).status_code == 200:
                        pending.pop(name)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        for name in pending:
            console.print(f"[yellow]{name} is not ready yet; see {self.data_dir / 'logs' / (name + '.log')}[/]")

    def _print_banner(self, credentials: dict[str, str]) -> None:
        table = Table(title="recruit is running", show_lines=False)
        table.add_column("service")
        table.add_column("URL")
        table.add_column("docs")
        for service in self.services:
            base = f"http://{self.host}:{service.port}"
            name = service.label + (f" ({service.workers} workers)" if service.workers > 1 else "")
            table.add_row(name, base + "/", base + "/docs")
        console.print(table)
        creds = Table(title="credentials (kept in credentials.json in the data dir)")
        creds.add_column("use")
        creds.add_column("value")
        for item in credentials["INTAKE_API_KEYS"].split(","):
            source, _, key = item.partition(":")
            creds.add_row(f"X-Api-Key ({source})", key)
        for item in credentials["STAFF_TOKENS"].split(","):
            token, _, role = item.partition(":")
            creds.add_row(f"Bearer ({role})", token)
        console.print(creds)
        assert self.infra is not None
        console.print(f"broker {self.infra.kafka_bootstrap_servers}"
                      f"{' (embedded)' if self.infra.broker_is_embedded else ''}; logs in "
                      f"{self.data_dir / 'logs'}. Ctrl-C stops everything.")

    def _watch(self, env: dict[str, str]) -> None:
        broker_limit = get_settings().broker_max_rss_mb
        while not self.stopping:
            time.sleep(0.5)
            assert self.infra is not None
            if self.infra.postgres is not None and not self.infra.postgres.alive():
                self._restart_postgres()
                continue
            if self.infra.kafka is not None and not self.infra.kafka.alive():
                console.print("[red]embedded broker died[/]: restarting it and the services")
                self._restart_broker(env)
                continue
            if (self.infra.kafka is not None and broker_limit and self.infra.kafka.rss_mb() > broker_limit
                    and time.monotonic() - self.infra.kafka.started_at > BROKER_RECYCLE_MIN_SECONDS):
                # One short line: an 80-column terminal must not wrap it.
                console.print(f"embedded broker at {self.infra.kafka.rss_mb():.0f} MB > BROKER_MAX_RSS_MB="
                              f"{broker_limit}: recycling it")
                self._restart_broker(env, recycle=True)
                continue
            now = time.monotonic()
            for service in self.services:
                code = service.exited()
                if code is None or self.stopping:
                    continue
                if service.next_start == 0.0:
                    # Back off on repeated crashes; a service that ran a minute starts over at 1 s.
                    if now - service.started_at > 60:
                        service.restarts = 0
                    delay = min(MAX_RESTART_DELAY, 2.0 ** service.restarts)
                    service.restarts += 1
                    service.next_start = now + delay
                    console.print(f"[red]{service.label} exited with code {code}[/]; restarting in {delay:.0f}s "
                                  f"(see {service.log_path})")
                elif now >= service.next_start:
                    service.next_start = 0.0
                    service.start(self.service_env(service.name, env))
                    console.print(f"{service.label} restarted (pid {service.process.pid})")

    def _restart_broker(self, env: dict[str, str], recycle: bool = False) -> None:
        """A memory-only broker that died (or is recycled) comes back empty: consumers would keep
        fetch positions past its new, empty logs and miss messages. So stop every service (a recycle
        lets them finish and commit first, then stops the broker), start the broker, queue again
        every stored event a consumer has not applied, and start the services fresh."""
        assert self.infra is not None and self.infra.kafka is not None
        started = time.monotonic()
        self._stop_services()
        if recycle:
            self.infra.kafka.stop()
        self.infra.kafka.start()
        replayed = asyncio.run(prepare_database(self.infra.database_url, True, self.replay_window()))
        console.print(f"broker back on {self.infra.kafka.bootstrap_servers}; {replayed} unapplied events queued again")
        for service in self.services:
            service.next_start = 0.0
            service.start(self.service_env(service.name, env))
        console.print(f"services starting again, {time.monotonic() - started:.1f} s after the broker went")

    def _restart_postgres(self) -> None:
        """The embedded PostgreSQL died: start it again on the same data and socket. The services keep
        running; they answer /readyz 503 meanwhile, and their pools reconnect once it is back."""
        assert self.infra is not None and self.infra.postgres is not None
        console.print("[red]embedded PostgreSQL died[/]: restarting it (the services wait for it)")
        started = time.monotonic()
        self.infra.postgres.restart(should_stop=lambda: self.stopping)
        console.print(f"PostgreSQL back after {time.monotonic() - started:.1f} s")

    def _stop_services(self) -> None:
        for service in self.services:
            service.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for service in self.services:
            service.wait_or_kill(deadline)

    def _write_run_file(self) -> None:
        """<data-dir>/run.json: where this run's services, broker and database are, for `recruit status`
        and `recruit dlq` (mode 600: the database URL may carry a password)."""
        assert self.infra is not None
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        write_private(self.data_dir / RUN_FILE, json.dumps({
            "services": {name: [f"http://{host}:{s.port}" for s in self.services if s.name == name]
                         for name in SERVICES},
            "kafka_bootstrap_servers": self.infra.kafka_bootstrap_servers,
            "database_url": self.infra.database_url,
        }, indent=2))

    def _stop_all(self) -> None:
        (self.data_dir / RUN_FILE).unlink(missing_ok=True)
        self._stop_services()
        if self.infra is not None:
            self.infra.stop()
