"""Bench: the embedded broker's memory while `recruit up` takes the 5 lakh target end to end.

Runs `recruit up` (on infrastructure this script starts: DATABASE_URL if set, else embedded
PostgreSQL; the broker always embedded, since its memory is the point) and posts 500,000 fresh
applications to intake's bulk API as 10,000-row NDJSON requests one after another. Every 5 s it
reads the process list again and samples the resident memory (RSS) of the broker and of every other
process (services, intake's bulk workers, PostgreSQL with all its backends); every 60 s (and at each
recycle) it prints them.

Tansu keeps every record in memory, so `recruit up` recycles it when its RSS passes
BROKER_MAX_RSS_MB (1024 by default; set it in the environment to see a recycle sooner): each recycle
seen (the broker's pid changed) is printed. At the end: the peak RSS of each process, whether the
broker stayed under the limit plus one sampling interval's growth, and whether nothing was lost:
reporting counts every application once (summary `applications` == N) and screening queued each
(`current.queued + current.deferred` == N).
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx
from intake_bulk import API_KEY, rows  # bench/ is on the path when run as a script
from pipeline_lag import free_port_base, ndjson_chunks, processes, rss_mb, start_database, start_recruit_up

from shared.settings import Settings

SAMPLE_SECONDS = 5.0
PRINT_SECONDS = 60.0


class Memory:
    """RSS samples of every process, the broker's pids seen, and the peaks."""

    def __init__(self, up, infra) -> None:
        self.up, self.infra = up, infra
        self.peaks: dict[str, float] = {}
        self.broker_pids: list[int] = []
        self.started = time.monotonic()
        self.printed = 0.0
        self.stop = threading.Event()

    def sample(self) -> None:
        named = processes(self.up, self.infra)
        now = {name: rss_mb(process, name.startswith("postgres")) for name, process in named.items()}
        for name, megabytes in now.items():
            # Every bulk worker under one name: they come and go with the pool.
            key = "intake bulk workers (each)" if name.startswith("intake bulk worker") else name
            self.peaks[key] = max(self.peaks.get(key, 0.0), megabytes)
        elapsed = time.monotonic() - self.started
        recycled = bool("broker" in named and self.broker_pids and named["broker"].pid != self.broker_pids[-1])
        if "broker" in named and (not self.broker_pids or recycled):
            self.broker_pids.append(named["broker"].pid)
        if recycled:
            print(f"  {elapsed:6.0f} s  broker recycled (recycle {len(self.broker_pids) - 1}): new pid "
                  f"{self.broker_pids[-1]}", flush=True)
        if recycled or elapsed - self.printed >= PRINT_SECONDS:
            self.printed = elapsed
            print(f"  {elapsed:6.0f} s  RSS MB: " + ", ".join(f"{n} {m:.0f}" for n, m in now.items()), flush=True)

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_SECONDS):
            try:
                self.sample()
            except Exception as error:  # a process gone between listing and reading it: next sample
                print(f"  (sample skipped: {error!r})", flush=True)


def post_all(port_base: int, chunks: list[bytes], expected: int, timeout: float = 3600) -> tuple[float, dict]:
    """Post every chunk; then wait until reporting counts all and screening queued all, or the timeout.
    (seconds until then, reporting's last summary)."""
    summary_url = f"http://127.0.0.1:{port_base + 3}/v1/stats/summary"
    started = time.monotonic()
    with httpx.Client(timeout=300) as client:
        for number, chunk in enumerate(chunks, 1):
            for attempt in range(30):  # a recycle pauses intake for seconds: try the chunk again
                try:
                    response = client.post(f"http://127.0.0.1:{port_base}/v1/applications/bulk", content=chunk,
                                           headers={"X-Api-Key": API_KEY, "Content-Type": "application/x-ndjson"})
                    if response.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(2)
            else:
                raise RuntimeError(f"chunk {number} was refused 30 times")
            result = response.json()
            assert result["rejected"] == 0, str(result)[:300]
        print(f"  {time.monotonic() - started:6.0f} s  all {len(chunks)} requests answered", flush=True)
        summary: dict = {}
        while time.monotonic() - started < timeout:
            try:
                summary = client.get(summary_url).json()
            except (httpx.HTTPError, ValueError):
                time.sleep(1)
                continue
            current = summary["current"]
            if summary["applications"] >= expected and current["queued"] + current["deferred"] >= expected:
                break
            time.sleep(1)
    return time.monotonic() - started, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", type=int, default=500_000)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    args = parser.parse_args()
    limit = Settings().broker_max_rss_mb
    with tempfile.TemporaryDirectory(prefix="bench-broker-") as tmp:
        infra = start_database(Path(tmp) / "infra")
        port_base = free_port_base()
        # recruit up starts (and recycles) the broker itself: hand it only the database.
        env = {**{k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"},
               "DATABASE_URL": infra.database_url, "INTAKE_API_KEYS": f"bench:{API_KEY}", "LOG_LEVEL": "WARNING"}
        up = start_recruit_up(env, Path(tmp) / "recruit", port_base)
        memory = Memory(up, infra)
        sampler = threading.Thread(target=memory.run, daemon=True)
        try:
            print(f"broker memory: {args.applications:,} applications in {args.chunk_rows:,}-row NDJSON requests,"
                  f" BROKER_MAX_RSS_MB={limit}, {os.cpu_count()} CPUs", flush=True)
            memory.sample()
            chunks = ndjson_chunks(rows(args.applications, run=0), args.chunk_rows)
            sampler.start()
            took, summary = post_all(port_base, chunks, args.applications)
            memory.stop.set()
            sampler.join()
            memory.sample()
        finally:
            memory.stop.set()
            up.send_signal(signal.SIGTERM)
            up.wait(120)
            infra.stop()
    current = summary.get("current", {})
    queued = current.get("queued", 0) + current.get("deferred", 0)
    print(f"took {took:.0f} s; broker recycled {len(memory.broker_pids) - 1} time(s)")
    print("peak RSS MB: " + ", ".join(f"{name} {mb:.0f}" for name, mb in memory.peaks.items()))
    broker_peak = memory.peaks.get("broker", 0.0)
    print(f"broker peak {broker_peak:.0f} MB: {'under' if broker_peak < 1000 else 'NOT under'} 1 GB"
          f" (the limit {limit} MB is checked by recruit up every few seconds; a sample may catch it just past)")
    lost = summary.get("applications") != args.applications or queued != args.applications
    print(f"reporting: {summary.get('applications', 0):,} applications (want {args.applications:,}), queued +"
          f" deferred {queued:,} (want {args.applications:,}): {'SOMETHING LOST OR DOUBLED' if lost else 'nothing lost'}"
          f" (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
