"""The observability configuration holds together without a running system: promtool accepts the
Prometheus config and the alert rules and passes the rules' unit tests, the Grafana dashboard's queries
parse and read only metrics the services define, and the README's tables name every metric and alert.
(tests/e2e/test_prometheus.py runs all of it in a real Prometheus against `recruit up`.)"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from shared.observability.prometheus import ALERTS, COMPOSE_CONFIG
from tests.support import PROMTOOL, exported_metric_names, promql_metric_names

ROOT = Path(__file__).parents[2]
OBSERVABILITY = ROOT / "shared" / "observability"
DASHBOARD = json.loads((OBSERVABILITY / "grafana" / "dashboards" / "recruit.json").read_text())
README = (ROOT / "README.md").read_text()
needs_promtool = pytest.mark.skipif(not PROMTOOL.exists(), reason="promtool missing: apt-get install prometheus "
                                    "(.ci/run does)")


def promtool(*args: str) -> str:
    done = subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, cwd=OBSERVABILITY, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]


def defined_metric_names() -> set[str]:
    """Every series name the four services' code registers (their modules imported, as /metrics sees them)."""
    from prometheus_client import generate_latest

    from services.intake import app as _intake  # noqa: F401
    from services.placement import app as _placement  # noqa: F401
    from services.reporting import app as _reporting  # noqa: F401
    from services.screening import app as _screening  # noqa: F401

    return exported_metric_names(generate_latest(REGISTRY).decode())


@needs_promtool
def test_promtool_accepts_the_prometheus_config_and_its_rules() -> None:
    assert "SUCCESS" in promtool("check", "config", COMPOSE_CONFIG.name)
    assert "SUCCESS: 4 rules found" in promtool("check", "rules", ALERTS.name)


@needs_promtool
def test_every_alert_fires_on_its_fault_and_only_then() -> None:
    tested = {case["alertname"] for test in yaml.safe_load((OBSERVABILITY / "alerts_test.yml").read_text())["tests"]
              for case in test["alert_rule_test"]}
    alerts = {rule["alert"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]}
    assert tested == alerts == {"ServiceNotReady", "ConsumerLagGrowing", "OutboxNotRelayed", "DeadLetters"}
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")


def test_the_dashboard_reads_only_metrics_the_services_define() -> None:
    read = set().union(*(promql_metric_names(expression) for expression in dashboard_expressions()))
    unknown = read - defined_metric_names() - {"up"}  # `up` is Prometheus's own, per target
    assert not unknown, f"the dashboard reads metrics no service exports: {unknown}"
    # What the issue asks the dashboard to show.
    for wanted in ("recruit_reporting_target", "recruit_reporting_funnel", "recruit_consumer_lag",
                   "recruit_outbox_unpublished", "recruit_dead_letters_waiting",
                   "recruit_http_request_duration_seconds_bucket", "recruit_events_consumed_total"):
        assert wanted in read, wanted
    assert any("histogram_quantile(0.99" in expression for expression in dashboard_expressions())
    datasources = {target["datasource"]["uid"] for panel in DASHBOARD["panels"] for target in panel["targets"]}
    provisioned = yaml.safe_load((OBSERVABILITY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasources == {source["uid"] for source in provisioned["datasources"]}


def test_alert_rules_read_only_metrics_the_services_define() -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]
    read = set().union(*(promql_metric_names(rule["expr"]) for rule in rules))
    assert not read - defined_metric_names() - {"up"}, read - defined_metric_names()


def test_the_readme_tables_name_every_metric_and_every_alert() -> None:
    section = README.split("## Observability", 1)[1].split("\n## ", 1)[0]
    from shared import metrics

    defined = {collector._name + ("_total" if collector._type == "counter" else "")
               for collector in vars(metrics).values() if hasattr(collector, "_name")}
    listed = set(re.findall(r"^\| `(recruit_[a-z_]+)`", section, re.M))
    assert defined <= listed, f"metrics missing from the README: {defined - listed}"
    alerts = {rule["alert"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]}
    assert alerts <= set(re.findall(r"^\| `?(\w+)`? \|", section, re.M)), "an alert missing from the README"
    assert "docker compose --profile observability up" in section
