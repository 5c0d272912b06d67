"""Bench: how long a 100,000-row bulk import takes to reach the dashboard, through all four services.

Runs `recruit up` (its own processes, on infrastructure this script starts: DATABASE_URL /
KAFKA_BOOTSTRAP_SERVERS if set, else embedded), posts N fresh rows as one bulk request to intake,
and times: the response; every application counted by reporting; every application queued by
screening and that counted by reporting (reporting's `current.queued`). The baseline, measured in
the same run on the same infrastructure, is intake_bulk.py's: plain asyncpg COPY of the rows plus
plain aiokafka batched sends of as many messages. Medians of several runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from intake_bulk import (  # bench/ is on the path when run as a script
    API_KEY,
    baseline,
    csv_body,
    rows,
)

from shared.runtime.infra import free_port, start_infrastructure


def start_recruit_up(env: dict[str, str], data_dir: Path, port_base: int) -> subprocess.Popen:
    recruit = Path(sys.executable).parent / "recruit"
    log = data_dir / "recruit-up.out"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen([str(recruit), "up", "--data-dir", str(data_dir), "--port-base", str(port_base)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        if "recruit is running" in log.read_text():
            return process
        time.sleep(0.5)
    raise RuntimeError(f"recruit up did not start:\n{log.read_text()}")


def import_until_counted(port_base: int, body: bytes, expected_total: int) -> tuple[float, float, float]:
    """(response, all counted, all queued), seconds from the request's start."""
    summary_url = f"http://127.0.0.1:{port_base + 3}/v1/stats/summary"
    with httpx.Client(timeout=300) as client:
        started = time.perf_counter()
        response = client.post(f"http://127.0.0.1:{port_base}/v1/applications/bulk", content=body,
                               headers={"X-Api-Key": API_KEY, "Content-Type": "text/csv"})
        answered = time.perf_counter() - started
        assert response.status_code == 200, (response.status_code, response.text[:300])
        counted = queued = None
        while queued is None:
            summary = client.get(summary_url).json()
            now = time.perf_counter() - started
            if counted is None and summary["applications"] >= expected_total:
                counted = now
            if counted is not None and summary["current"]["queued"] >= expected_total:
                queued = now
            time.sleep(0.1)
    return answered, counted, queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    answered, counted, queued, raw = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        infra = start_infrastructure(Path(tmp) / "infra")
        port_base = free_port()
        env = {**os.environ, **infra.env(), "INTAKE_API_KEYS": f"bench:{API_KEY}", "LOG_LEVEL": "WARNING"}
        up = start_recruit_up(env, Path(tmp) / "recruit", port_base)
        try:
            for run in range(args.runs):
                table = rows(args.rows, run)
                a, c, q = import_until_counted(port_base, csv_body(table), args.rows * (run + 1))
                answered.append(a)
                counted.append(c)
                queued.append(q)
                raw.append(asyncio.run(baseline(infra.database_url, infra.kafka_bootstrap_servers, table,
                                                payload_size=620)))
                print(f"  run {run + 1}: response {a:5.1f} s, all counted {c:5.1f} s, all queued and counted"
                      f" {q:5.1f} s, raw baseline {raw[-1]:4.1f} s", flush=True)
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(60)
            infra.stop()
    a, c, q, r = (statistics.median(x) for x in (answered, counted, queued, raw))
    print(f"pipeline lag, {args.rows:,} rows in one bulk request, median of {args.runs} runs, {os.cpu_count()} CPUs,"
          f" load average {os.getloadavg()[0]:.1f}")
    print(f"  intake answered:                                       {a:6.1f} s")
    print(f"  every application counted by reporting:               {c:6.1f} s")
    print(f"  every application queued by screening, and counted:   {q:6.1f} s  {args.rows / q:8,.0f} applications/s")
    print(f"  raw baseline (asyncpg COPY of the rows + aiokafka batched send): {r:4.1f} s")
    print(f"  pipeline / raw baseline = {q / r:.1f}")


if __name__ == "__main__":
    main()
