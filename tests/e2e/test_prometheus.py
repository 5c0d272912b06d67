"""A real Prometheus (Debian's server) against `recruit up`: its scrape config comes from the function that
writes compose's (static targets here, Docker's DNS there) and its rules are compose's alerts.yml with short
`for:`; every service target is up, every service's /metrics is promtool-clean, the dashboard's queries read
what the services export, and an alert fires when its fault is made and clears after: a stopped service,
a poison message."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from shared.events import APPLICATIONS_SUBMITTED, CONSUMED_TOPICS
from shared.observability.prometheus import ALERTS, prometheus_config
from shared.runtime.infra import free_port
from shared.settings import SERVICES
from tests.docs.test_observability import dashboard_expressions
from tests.support import (
    PROMETHEUS,
    PROMTOOL,
    RecruitUp,
    exported_metric_names,
    free_port_base,
    promql_metric_names,
    wait_for,
)

# About a minute with its own `recruit up`: in the second pass (`make test-slow`).
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (PROMETHEUS.exists() and PROMTOOL.exists()),
                                reason="Debian's prometheus (server and promtool) missing: apt-get install "
                                       "prometheus (.ci/run does)")]
INTERVAL = "1s"  # scrape and evaluation; the services measure their gauges every second too


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expression: str) -> list[dict]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expression}, timeout=5).json()
        assert answer["status"] == "success", (expression, answer)
        return answer["data"]["result"]

    def firing(self, alert: str) -> list[dict]:
        alerts = httpx.get(f"{self.url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        return [a["labels"] for a in alerts if a["labels"]["alertname"] == alert and a["state"] == "firing"]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    work = tmp_path_factory.mktemp("prometheus")
    up = RecruitUp(work / "data", free_port_base(), {"METRICS_POLL_SECONDS": "1"})
    prometheus = None
    try:
        up.start()
        run = json.loads((up.data_dir / "run.json").read_text())
        targets = {service: [url.removeprefix("http://") for url in urls] for service, urls in run["services"].items()}
        rules = yaml.safe_load(ALERTS.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = INTERVAL
        (work / "alerts.yml").write_text(yaml.safe_dump(rules))
        config = prometheus_config(targets, interval=INTERVAL, rule_files=[str(work / "alerts.yml")])
        (work / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        with open(work / "prometheus.log", "wb") as log:
            prometheus = subprocess.Popen(
                [str(PROMETHEUS), f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/-/ready", timeout=2).status_code == 200, 30, "prometheus ready")
        yield up, Prometheus(url), run
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(20)
        up.kill()


def test_every_service_is_scraped_and_the_rules_load(system) -> None:
    up, prometheus, run = system

    def targets_up():
        active = httpx.get(f"{prometheus.url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in active} == dict.fromkeys(SERVICES, "up")
    wait_for(targets_up, 30, "every service target up")
    rules = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]["groups"][0]["rules"]
    assert {(r["name"], r["health"]) for r in rules} == {
        (name, "ok") for name in ("ServiceNotReady", "ConsumerLagGrowing", "OutboxNotRelayed", "DeadLetters")}
    # The shared measuring job runs in every service: readiness and the outbox everywhere, lag in every consumer.
    def measured():
        ready = {r["metric"]["job"] for r in prometheus.query("recruit_ready == 1")}
        outbox = {r["metric"]["job"] for r in prometheus.query("recruit_outbox_unpublished")}
        lag = {r["metric"]["consumer"] for r in prometheus.query("recruit_consumer_lag")}
        return ready == outbox == set(SERVICES) and lag == set(CONSUMED_TOPICS)
    wait_for(measured, 30, "every service's gauges in Prometheus")
    assert prometheus.firing("ServiceNotReady") == []


def test_metrics_are_promtool_clean_and_the_dashboard_reads_what_the_services_export(system) -> None:
    up, prometheus, run = system
    created = httpx.post(up.url("intake") + "/v1/applications", headers={"X-Api-Key": up.api_key()}, json={
        "full_name": "Test Applicant", "phone": "9812345678", "state": "RJ", "district": "Jaipur", "age": 30,
        "consent": True})
    assert created.status_code == 201, created.text
    wait_for(lambda: httpx.get(up.url("reporting") + "/v1/stats/summary", timeout=5).json()["applications"] == 1,
             30, "the application counted")
    exported: set[str] = set()
    for service, (url,) in run["services"].items():
        text = httpx.get(url + "/metrics", timeout=5).text
        check = subprocess.run([str(PROMTOOL), "check", "metrics"], input=text, capture_output=True, text=True)
        assert check.returncode == 0 and not check.stdout.strip(), f"{service}: {check.stdout}{check.stderr}"
        exported |= exported_metric_names(text)
    read = set().union(*(promql_metric_names(expression) for expression in dashboard_expressions()))
    assert not read - exported - {"up"}, f"the dashboard reads what no service exports: {read - exported}"
    for expression in dashboard_expressions():
        prometheus.query(expression)  # each is a query the real server takes
    assert wait_for(lambda: prometheus.query("max(recruit_reporting_applications) / max(recruit_reporting_target)"),
                    15, "campaign progress")


def service_pid(up: RecruitUp, name: str) -> int:
    port = up.port_base + SERVICES.index(name)
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if f"service {name}" in cmdline and f"--port {port}" in cmdline:
            return proc.pid
    raise AssertionError(f"no {name} process on port {port}")


def test_a_stopped_service_fires_service_not_ready_until_it_runs_again(system) -> None:
    up, prometheus, _ = system
    pid = service_pid(up, "placement")
    os.kill(pid, signal.SIGSTOP)  # stopped: it holds its port but answers nothing, as a hung process
    try:
        firing = wait_for(lambda: prometheus.firing("ServiceNotReady"), 30, "ServiceNotReady firing")
        assert {labels["job"] for labels in firing} == {"placement"}
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: prometheus.firing("ServiceNotReady") == [], 30, "ServiceNotReady cleared")


def test_a_poison_message_fires_dead_letters_until_it_is_discarded(system) -> None:
    up, prometheus, run = system
    assert prometheus.firing("DeadLetters") == []

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=run["kafka_bootstrap_servers"])
        await producer.start()
        try:
            await producer.send_and_wait(APPLICATIONS_SUBMITTED, b"not an event", key=b"poison")
        finally:
            await producer.stop()

    asyncio.run(publish())
    firing = wait_for(lambda: prometheus.firing("DeadLetters"), 30, "DeadLetters firing")
    assert [labels["topic"] for labels in firing] == [APPLICATIONS_SUBMITTED]
    recruit = Path(sys.executable).parent / "recruit"
    done = subprocess.run([str(recruit), "dlq", "discard", APPLICATIONS_SUBMITTED, "--data-dir", str(up.data_dir)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    # screening and reporting both consume the topic: each dead-lettered its copy.
    assert "2 dead letter(s) discarded" in done.stdout, done.stdout
    wait_for(lambda: prometheus.firing("DeadLetters") == [], 30, "DeadLetters cleared")
