"""`recruit status`, `recruit dlq list` and `recruit purge` against `recruit up`, as an operator types them: healthy
exits 0; a dead letter or a service that stops answering exits 1 and says why; a purge erases the long-ended. The
same run's logs, /metrics, audit rows and dead-letter headers are then scanned for every name, phone (any format)
and e-mail it submitted: none is there."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from aiokafka import AIOKafkaProducer

from tests.support import wait_for

RECRUIT = Path(sys.executable).parent / "recruit"


def recruit(up, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    return subprocess.run([str(RECRUIT), *args, "--data-dir", str(up.data_dir)], capture_output=True, text=True,
                          timeout=60, env=env)


def status(up) -> tuple[int, dict]:
    done = recruit(up, "status", "--json")
    return done.returncode, json.loads(done.stdout)


# Applicants with every kind of personal data; one will be rejected (then purged), one selected, one left queued.
PEOPLE = [
    {"full_name": "Ishaan Privacyscan", "phone": "9876512301", "email": "ishaan.privacyscan@example.org"},
    {"full_name": "सुनीता गोपनीयता", "phone": "+91 98765-12302", "email": "sunita.scan@example.org"},
    {"full_name": "Meher Logcheck", "phone": "098765 12303", "email": "meher.logcheck@example.org"},
]
LOW = {"communication": 2, "content_creation": 2, "social_media_reach": 2, "political_awareness": 2, "commitment": 2}
HIGH = {"communication": 9, "content_creation": 9, "social_media_reach": 9, "political_awareness": 9, "commitment": 9}


def applicants_through_the_pipeline(up) -> list[dict]:
    run = json.loads((up.data_dir / "run.json").read_text())
    intake, screening = run["services"]["intake"][0], run["services"]["screening"][0]
    admin = {"Authorization": f"Bearer {up.admin_token()}"}
    people = []
    for person in PEOPLE:
        body = {**person, "state": "RJ", "district": "Jaipur", "age": 31, "consent": True,
                "social": {"instagram": "@" + person["email"].split("@")[0].replace(".", "_")}}
        answer = httpx.post(f"{intake}/v1/applications", json=body, headers={"X-Api-Key": up.api_key()})
        assert answer.status_code == 201, answer.text
        people.append({**person, "id": answer.json()["application_id"]})
    queued = lambda: {i["application_id"] for i in httpx.get(  # noqa: E731
        f"{screening}/v1/queue?state=RJ&limit=50", headers=admin).json()["items"]} >= {p["id"] for p in people}
    wait_for(queued, 30, "applicants queued")
    for person, scores in zip(people, (LOW, HIGH)):
        booked = httpx.post(f"{screening}/v1/interviews", headers=admin,
                            json={"application_id": person["id"], "interview_at": "2026-12-01T10:00:00+05:30"})
        assert booked.status_code == 201, booked.text
        result = httpx.post(f"{screening}/v1/interviews/{person['id']}/result", json={"scores": scores}, headers=admin)
        assert result.status_code == 200, result.text
    wait_for(lambda: httpx.get(f"{run['services']['placement'][0]}/v1/placements/{people[1]['id']}",
                               headers=admin).status_code == 200, 30, "the selected applicant placed")
    wait_for(lambda: asyncio.run(_ended_cases(up)) == 2, 30, "intake heard how both cases ended")
    return people


def personal_values(people: list[dict]) -> list[str]:
    values = []
    for person in people:
        digits = "".join(c for c in person["phone"] if c.isdigit())[-10:]
        handle = person["email"].split("@")[0]
        values += [person["full_name"], person["full_name"].split()[-1], person["email"], handle,
                   handle.replace(".", "_"), digits]
    return values


def found_in(text: str, values: list[str]) -> list[str]:
    """The values `text` holds; phones in any format (+91, spaces, dashes between digits) count."""
    joined = re.sub(r"(?<=\d)[\s-]+(?=\d)", "", text)
    return [value for value in values if value in text or value in joined]


def assert_no_personal_data(up, run: dict, people: list[dict]) -> None:
    values = personal_values(people)
    logs = up.output.read_text(errors="replace") + "".join(
        path.read_text(errors="replace") for path in (up.data_dir / "logs").glob("*.log"))
    assert "applications.purged" in logs or "retention purge" in logs, "the logs are the ones of this run"
    assert found_in(logs, values) == [], "personal data in a log"
    for name, replicas in run["services"].items():
        metrics = httpx.get(f"{replicas[0]}/metrics").text
        assert "recruit" in metrics
        assert found_in(metrics, values) == [], f"personal data in {name}'s /metrics"
    audit = asyncio.run(_audit_rows(up))
    assert any("applications.purged" in row for row in audit) and any("interview.result" in row for row in audit)
    assert found_in("\n".join(audit), values) == [], "personal data in the audit"
    from shared.runtime.operations import _read

    records, _ = asyncio.run(_read(run["kafka_bootstrap_servers"], "applications.submitted.dlq", from_committed=False))
    headers = "\n".join(f"{k}={v.decode(errors='replace')}" for record in records for k, v in record.headers)
    assert "x-error" in headers
    assert found_in(headers, [*values, "9314159265"]) == [], "personal data in a dead letter's headers"


async def _ended_cases(up) -> int:
    conn = await asyncpg.connect(f"postgresql://postgres@/recruit?host={up.data_dir / 'postgres'}")
    try:
        return await conn.fetchval("SELECT count(*) FROM intake.case_outcomes")
    finally:
        await conn.close()


async def _audit_rows(up) -> list[str]:
    conn = await asyncpg.connect(f"postgresql://postgres@/recruit?host={up.data_dir / 'postgres'}")
    try:
        return [row[0] for schema in ("intake", "screening", "placement", "reporting")
                for row in await conn.fetch(f'SELECT a::text FROM "{schema}".audit a')]
    finally:
        await conn.close()


async def publish(servers: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


@pytest.mark.slow  # over a minute: in the second pass (`make test-slow`), as the fault tests
def test_status_and_dead_letters_as_an_operator_sees_them(recruit_up) -> None:
    up = recruit_up()
    run = json.loads((up.data_dir / "run.json").read_text())
    assert oct((up.data_dir / "run.json").stat().st_mode & 0o777) == "0o600"

    code, healthy = wait_for(lambda: (found := status(up))[0] == 0 and found, 60, "a healthy status")
    assert healthy["healthy"] is True and healthy["problems"] == []
    assert {name: [r["ready"] for r in replicas] for name, replicas in healthy["services"].items()} == {
        "intake": [True], "screening": [True], "placement": [True], "reporting": [True]}
    assert set(healthy["lag"]) == {"intake", "screening", "placement", "reporting"}
    assert set(healthy["outbox"]) == {"intake", "screening", "placement", "reporting"}
    table = recruit(up, "status")
    assert table.returncode == 0 and "healthy" in table.stdout and "consumer lag" in table.stdout
    assert healthy["broker"] == run["kafka_bootstrap_servers"] and f"broker: {healthy['broker']}" in table.stdout

    # A message that is no event: both consumers of the topic dead-letter it; status says so.
    asyncio.run(publish(run["kafka_bootstrap_servers"], "applications.submitted", b'{"phone": "+919314159265"'))
    code, found = wait_for(lambda: (s := status(up))[1]["dead_letters"]["applications.submitted"]["total"] == 2
                           and s, 60, "two dead letters")
    assert code == 1 and found["healthy"] is False
    assert found["dead_letters"]["applications.submitted"] == {"total": 2, "not_replayed": 2}
    assert any("dead letter" in problem for problem in found["problems"])
    listed = recruit(up, "dlq", "list", "applications.submitted")
    assert listed.returncode == 0, listed.stderr
    assert "2 dead letter(s)" in listed.stdout
    assert "consumer=screening" in listed.stdout and "consumer=reporting" in listed.stdout
    assert "9314159265" not in listed.stdout, "a dead letter's content is never printed"
    assert recruit(up, "dlq", "list", "applications.lost").returncode == 2

    people = applicants_through_the_pipeline(up)
    dry = recruit(up, "purge", "--older-than", "0d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1 application(s)" in dry.stdout and "would be erased" in dry.stdout
    done = recruit(up, "purge", "--older-than", "0d")
    assert done.returncode == 0 and "1 application(s)" in done.stdout and "erased" in done.stdout, done.stderr
    assert recruit(up, "purge", "--older-than", "soon").returncode == 2
    wait_for(lambda: httpx.get(f"{run['services']['reporting'][0]}/v1/applications/{people[0]['id']}/status",
                               params={"phone": people[0]["phone"]}).status_code == 404, 30, "the purge applied")
    assert_no_personal_data(up, run, people)

    # A service that stops answering (SIGSTOP: alive, but deaf) is not ready: exit 1, and it says which.
    screening = next(p for p in psutil.process_iter(["cmdline"])
                     if p.info["cmdline"] and "service" in p.info["cmdline"] and "screening" in p.info["cmdline"]
                     and f"{up.port_base + 1}" in " ".join(p.info["cmdline"]))
    screening.send_signal(signal.SIGSTOP)
    try:
        code, found = status(up)
        assert code == 1
        assert [r["ready"] for r in found["services"]["screening"]] == [False]
        assert any("screening" in problem and "not ready" in problem for problem in found["problems"])
    finally:
        screening.send_signal(signal.SIGCONT)
