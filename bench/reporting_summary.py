"""Bench: GET /v1/stats/summary requests per second on one reporting worker, against a raw baseline.

Runs `recruit service reporting` as its own process (one uvicorn worker, as in production) and, as
the baseline measured in the same run, a bare Starlette app in the same uvicorn returning the same
bytes as a constant. Both are driven by the same load generator over keep-alive connections on
loopback: `wrk` when installed (apt-get install wrk), else a small raw-socket asyncio client in
its own process. The reporting process holds counters (a seeded campaign) and keeps polling them,
as in production. Medians of several rounds, baseline and summary alternating.
Uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set, else embedded. Target: >= 5,000 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from shared import db
from shared.events import ApplicationSubmitted, ScreeningCompleted, new_event
from shared.geography import STATES
from shared.runtime.infra import free_port, start_infrastructure

TARGET = 5_000
CONNECTIONS = 32
PHONE_HASH_KEY = "bench-hash-key"  # the reporting process's, so seeded hashes are ones it can match


def serve_baseline(port: int, body: bytes) -> None:
    """The least any endpoint can do: a constant body from a bare Starlette route, same uvicorn."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def constant(_request):
        return Response(body, media_type="application/json")

    uvicorn.run(Starlette(routes=[Route("/v1/stats/summary", constant)]), host="127.0.0.1", port=port,
                log_level="warning", access_log=False)


def wait_ready(url: str, process: subprocess.Popen | multiprocessing.Process, log: Path | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = process.poll() is None if isinstance(process, subprocess.Popen) else process.is_alive()
        assert alive, log.read_text() if log else "baseline server exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer:\n{log.read_text() if log else ''}")


async def seed(dsn: str, applications: int) -> None:
    """A campaign's worth of counters, applied the way the consumer applies events (one at a time here)."""
    from services.reporting import usecases
    from services.reporting.store import Store
    from shared.unit_of_work import UnitOfWork

    await db.migrate(dsn, "reporting")
    pool = await db.create_pool(dsn, "reporting", max_size=4)
    codes = list(STATES)
    start = datetime.now(timezone.utc) - timedelta(days=10)
    try:
        for i in range(applications):
            state = codes[i % len(codes)] if i % 5 else "RJ"
            at = start + timedelta(minutes=7 * i)
            events = [new_event("bench", uuid.uuid4(), ApplicationSubmitted(
                full_name="Bench Applicant", phone=f"+9198{i:08d}", state=state,
                district=STATES[state].districts[0], age=30, submitted_at=at), occurred_at=at)]
            if i % 3 == 0:
                events.append(new_event("bench", events[0].application_id, ScreeningCompleted(
                    state=state, district=STATES[state].districts[0], outcome="selected" if i % 2 else "rejected",
                    score=70, submitted_at=at), occurred_at=at + timedelta(hours=1)))
            for envelope in events:
                await usecases.apply_events(UnitOfWork(pool, Store), [(envelope, envelope.payload())],
                                            PHONE_HASH_KEY.encode())
    finally:
        await pool.close()


def run_wrk(url: str, seconds: float) -> float:
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:.0f}s", url],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


async def _raw_load(host: str, port: int, path: str, seconds: float) -> int:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    done = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
                await reader.readexactly(length)
                assert head.startswith(b"HTTP/1.1 200"), head[:100]
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return done


def _raw_load_process(url: str, seconds: float, result) -> None:
    parsed = httpx.URL(url)
    result.value = asyncio.run(_raw_load(parsed.host, parsed.port, parsed.raw_path.decode(), seconds))


def run_python_load(url: str, seconds: float) -> float:
    result = multiprocessing.Value("q", 0)
    worker = multiprocessing.Process(target=_raw_load_process, args=(url, seconds, result))
    started = time.perf_counter()
    worker.start()
    worker.join()
    return result.value / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--applications", type=int, default=2_000, help="seeded applications")
    parser.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--check", action="store_true", help="exit 1 when the median is under the target")
    args = parser.parse_args()
    driver = args.driver if args.driver != "auto" else ("wrk" if shutil.which("wrk") else "python")
    load = run_wrk if driver == "wrk" else run_python_load

    with tempfile.TemporaryDirectory(prefix="bench-reporting-") as tmp:
        infra = start_infrastructure(Path(tmp))
        port, base_port = free_port(), free_port()
        log = Path(tmp) / "reporting.log"
        env = {**os.environ, **infra.env(), "PHONE_HASH_KEY": PHONE_HASH_KEY, "LOG_LEVEL": "WARNING"}
        env.pop("REPORTING_READ_TOKEN", None)
        reporting = baseline = None
        try:
            asyncio.run(seed(infra.database_url, args.applications))
            recruit = Path(sys.executable).parent / "recruit"
            with open(log, "ab") as out:
                reporting = subprocess.Popen([str(recruit), "service", "reporting", "--host", "127.0.0.1",
                                              "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}/v1/stats/summary"
            wait_ready(url, reporting, log)
            body = httpx.get(url).content
            assert b'"applications":' in body and httpx.get(url).json()["applications"] == args.applications
            baseline = multiprocessing.Process(target=serve_baseline, args=(base_port, body), daemon=True)
            baseline.start()
            base_url = f"http://127.0.0.1:{base_port}/v1/stats/summary"
            wait_ready(base_url, baseline, None)
            load(url, 1), load(base_url, 1)  # warm-up
            summary_rates, base_rates = [], []
            for n in range(args.rounds):
                base_rates.append(load(base_url, args.seconds))
                summary_rates.append(load(url, args.seconds))
                print(f"  round {n + 1}: summary {summary_rates[-1]:8,.0f} req/s   baseline {base_rates[-1]:8,.0f} req/s",
                      flush=True)
        except BaseException:
            print(log.read_text()[-3000:] if log.exists() else "")
            raise
        finally:
            if reporting is not None:
                reporting.terminate()
                reporting.wait(20)
            if baseline is not None:
                baseline.terminate()
                baseline.join(10)
            infra.stop()

    s, b = statistics.median(summary_rates), statistics.median(base_rates)
    # uvicorn's "auto" takes uvloop and httptools when installed (uvicorn[standard]).
    stack = f"loop={'uvloop' if _has('uvloop') else 'asyncio'}, http={'httptools' if _has('httptools') else 'h11'}"
    print(f"reporting summary, one uvicorn worker ({stack}), {CONNECTIONS} keep-alive connections, driver {driver},"
          f" median of {args.rounds} x {args.seconds:.0f} s")
    print(f"  GET /v1/stats/summary:               {s:9,.0f} req/s   target >= {TARGET:,}: "
          f"{'met' if s >= TARGET else 'NOT met'}")
    print(f"  raw baseline (bare Starlette const): {b:9,.0f} req/s")
    print(f"  summary / raw baseline = {s / b:.2f}")
    if args.check and s < TARGET:
        sys.exit(1)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
