"""`recruit status` and `recruit dlq list` against `recruit up`, as an operator types them: healthy
exits 0; a dead letter or a service that stops answering exits 1 and says why."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
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


async def publish(servers: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


def test_status_and_dead_letters_as_an_operator_sees_them(recruit_up) -> None:
    up = recruit_up()
    run = json.loads((up.data_dir / "run.json").read_text())
    assert oct((up.data_dir / "run.json").stat().st_mode & 0o777) == "0o600"

    code, healthy = wait_for(lambda: (found := status(up))[0] == 0 and found, 60, "a healthy status")
    assert healthy["healthy"] is True and healthy["problems"] == []
    assert {name: [r["ready"] for r in replicas] for name, replicas in healthy["services"].items()} == {
        "intake": [True], "screening": [True], "placement": [True], "reporting": [True]}
    assert set(healthy["lag"]) == {"screening", "placement", "reporting"}
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
