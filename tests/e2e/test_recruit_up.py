"""`recruit up` end to end: an application travels intake -> reporting; kill -9 of services and of the
broker mid-stream loses and double-counts nothing; SIGTERM stops it; a restart keeps every count."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import httpx
import psutil
import pytest

from tests.support import RecruitUp, wait_for

RUBRIC = {"communication": 8, "content_creation": 7, "social_media_reach": 6, "political_awareness": 9,
          "commitment": 8}


def application(i: int) -> dict:
    return {"full_name": f"Test Applicant {i}", "phone": f"9{i:09d}", "state": "RJ" if i % 3 else "UP",
            "district": "Jaipur" if i % 3 else "Lucknow", "age": 20 + i % 40, "consent": True}


def summary(up: RecruitUp) -> dict:
    return httpx.get(up.url("reporting") + "/v1/stats/summary", timeout=5).json()




async def post_many(up: RecruitUp, numbers: range) -> list[int]:
    async with httpx.AsyncClient(headers={"X-Api-Key": up.api_key()}, timeout=30) as client:
        limit = asyncio.Semaphore(16)

        async def post(i: int) -> int:
            async with limit:
                response = await client.post(up.url("intake") + "/v1/applications", json=application(i))
                return response.status_code

        return await asyncio.gather(*(post(i) for i in numbers))


def pid_of(up: RecruitUp, needle: str) -> int:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if needle in cmdline and (str(up.data_dir) in cmdline or str(up.port_base) in cmdline
                                  or any(str(up.port_base + i) in cmdline for i in range(4))):
            return proc.pid
    raise AssertionError(f"no process matching {needle!r}")


def broker_pid(up: RecruitUp) -> int:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and "tansu" in cmdline[0]:
            # The supervisor's broker is its child.
            if any(p.pid == up.process.pid for p in proc.parents()):
                return proc.pid
    raise AssertionError("no embedded broker under this recruit up")


async def screening_cases(up: RecruitUp) -> int:
    conn = await asyncpg.connect(f"postgresql://postgres@/recruit?host={up.data_dir / 'postgres'}")
    try:
        return await conn.fetchval("SELECT count(*) FROM screening.cases")
    finally:
        await conn.close()


@pytest.mark.slow  # over a minute: in the second pass (`make test-slow`), as the fault tests
def test_recruit_up_survives_kills_and_restarts(recruit_up, tmp_path) -> None:
    up = recruit_up()
    admin = {"Authorization": f"Bearer {up.admin_token()}"}

    # One application all the way through.
    created = httpx.post(up.url("intake") + "/v1/applications", json=application(0),
                         headers={"X-Api-Key": up.api_key()}).json()
    first_id = created["application_id"]
    wait_for(lambda: summary(up)["current"]["queued"] == 1, what="queued")
    result = httpx.post(f"{up.url('screening')}/v1/interviews/{first_id}/result", json={"scores": RUBRIC},
                        headers=admin)
    assert result.status_code == 200, result.text
    wait_for(lambda: summary(up)["current"]["placed"] == 1, what="placed")

    # 150 more while screening and reporting are killed with SIGKILL mid-stream.
    async def stream_with_kills() -> list[int]:
        posting = asyncio.create_task(post_many(up, range(1, 151)))
        await asyncio.sleep(0.5)
        os.kill(pid_of(up, "service screening"), signal.SIGKILL)
        await asyncio.sleep(0.5)
        os.kill(pid_of(up, "service reporting"), signal.SIGKILL)
        return await posting

    statuses = asyncio.run(stream_with_kills())
    assert statuses.count(201) == 150
    wait_for(lambda: "screening exited" in up.output.read_text(), what="the supervisor reports the crash")
    settled = wait_for(lambda: (s := summary(up))["applications"] == 151 and s["current"]["queued"] == 150 and s,
                       timeout=90, what="all 151 counted after the kills")
    assert settled["current"]["placed"] == 1 and settled["funnel"]["selected"] == 1
    assert asyncio.run(screening_cases(up)) == 151, "one case per application, none twice"
    before_stop = {k: settled[k] for k in ("applications", "funnel", "current", "placed_by_level")}

    # SIGTERM stops everything within 30 s; the same data dir starts with every count intact.
    started = time.monotonic()
    assert up.stop() == 0
    assert time.monotonic() - started < 30
    up = recruit_up(data_dir=up.data_dir, port_base=up.port_base)
    restarted = wait_for(lambda: (s := summary(up))["applications"] == 151 and s, what="counts after restart")
    # Every consumer had applied every event before the stop, so the fresh broker gets none again.
    # (The output file is appended to: the first start, on an empty database, said so too.)
    output = up.output.read_text()
    assert output.count("fresh embedded broker: 0 unapplied events queued again") == 2, "one unwrapped line"
    assert "XDG_RUNTIME_DIR" not in output and "Warning" not in output, output
    time.sleep(2)
    assert {k: summary(up)[k] for k in before_stop} == before_stop, restarted

    # A new application still flows, and so it does after the broker itself is killed.
    assert asyncio.run(post_many(up, range(151, 152))) == [201]
    wait_for(lambda: summary(up)["current"]["queued"] == 151, what="new application after restart")
    os.kill(broker_pid(up), signal.SIGKILL)
    wait_for(lambda: "embedded broker died" in up.output.read_text(), what="broker crash noticed")
    wait_for(lambda: all(up._ready(s) for s in ("intake", "screening", "placement", "reporting")), timeout=90,
             what="services back after broker restart")
    assert asyncio.run(post_many(up, range(152, 153))) == [201]
    final = wait_for(lambda: (s := summary(up))["applications"] == 153 and s["current"]["queued"] == 152 and s,
                     timeout=60, what="new application after broker restart")
    assert final["current"]["placed"] == 1 and final["funnel"]["selected"] == 1
    assert asyncio.run(screening_cases(up)) == 153
    assert up.stop() == 0

    # Nothing personal or secret reached a log file.
    logs = "".join(path.read_text(errors="replace") for path in (up.data_dir / "logs").glob("*.log"))
    assert "Test Applicant" not in logs
    assert not [i for i in range(153) if application(i)["phone"] in logs]
    for secret in (up.api_key(), up.admin_token(), up.credentials()["PHONE_HASH_KEY"]):
        assert secret not in logs
