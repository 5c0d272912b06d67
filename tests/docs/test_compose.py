"""docker-compose.yml stays true to the code: services, commands, ports, env names, health and order.

No Docker engine runs here, so the file is checked against the code instead of being run."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.observability.prometheus import COMPOSE_CONFIG, compose_config_text
from shared.runtime.cli import app as cli
from shared.settings import SECRET_FILES, SERVICE_PORTS, Settings

ROOT = Path(__file__).parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS_ENV = {name.upper() for name in Settings.model_fields}
# Read by the OpenTelemetry SDK itself, not by Settings.
OTEL_ENV = {"OTEL_EXPORTER_OTLP_ENDPOINT"}
OBSERVABILITY = ("prometheus", "grafana", "otel-collector", "jaeger")


def test_infrastructure_is_apache_kafka_in_kraft_mode_and_postgres() -> None:
    kafka = SERVICES["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in kafka and "healthcheck" in SERVICES["postgres"]


def test_every_service_runs_its_own_cli_command_on_its_port() -> None:
    commands = {c.name or c.callback.__name__ for c in cli.registered_commands}
    assert {"service", "migrate", "up"} <= commands
    for name, port in SERVICE_PORTS.items():
        service = SERVICES[name]
        assert service["command"] == ["service", name]
        assert service["environment"]["PORT"] == str(port)
        assert service["build"] == "."
        assert "healthcheck" in service
    assert SERVICES["migrate"]["command"] == ["migrate"]


def test_environment_names_are_settings_fields() -> None:
    for name in [*SERVICE_PORTS, "migrate"]:
        env = SERVICES[name]["environment"]
        unknown = set(env) - SETTINGS_ENV - OTEL_ENV - {"PORT"}
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
        assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "PHONE_HASH_KEY_FILE"} <= set(env)
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert "@postgres:5432/" in env["DATABASE_URL"]


def test_services_start_after_healthy_infrastructure_and_migrations() -> None:
    for name in SERVICE_PORTS:
        depends = SERVICES[name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_scaled_services_publish_no_fixed_host_port() -> None:
    for name in ("screening", "placement"):
        for mapping in SERVICES[name].get("ports", []):
            assert ":" not in str(mapping), f"{name} maps a fixed host port; --scale {name}=3 would clash"
    assert SERVICES["intake"]["ports"] == ["8001:8001"]
    assert SERVICES["reporting"]["ports"] == ["8004:8004"]


def test_dockerfile_runs_the_recruit_entry_point() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["recruit"]' in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'recruit = "shared.runtime.cli:app"' in pyproject


def test_secrets_are_compose_secrets_not_environment_values() -> None:
    declared = COMPOSE["secrets"]
    for name in [*SERVICE_PORTS, "migrate"]:
        service, env = SERVICES[name], SERVICES[name]["environment"]
        for secret in SECRET_FILES:
            assert secret.upper() not in env, f"{name} gets {secret.upper()} as a plain environment value"
            assert env[f"{secret.upper()}_FILE"] == f"/run/secrets/{secret}"
            assert secret in service["secrets"] and declared[secret] == {"environment": secret.upper()}


def test_the_observability_profile_adds_prometheus_grafana_a_collector_and_jaeger_only_when_asked() -> None:
    for name in OBSERVABILITY:
        assert SERVICES[name]["profiles"] == ["observability"], f"{name} would start without the profile"
    for name in [*SERVICE_PORTS, "kafka", "postgres", "migrate"]:
        assert "profiles" not in SERVICES[name], f"{name} must start with a plain `docker compose up`"


def test_prometheus_scrapes_every_replica_of_every_service_from_the_generated_config() -> None:
    prometheus = SERVICES["prometheus"]
    assert "./shared/observability:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    # The committed file is what the generator writes (the same one recruit up's test config comes from).
    assert COMPOSE_CONFIG.read_text() == compose_config_text(), "run python -m shared.observability.prometheus"
    config = yaml.safe_load(COMPOSE_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == set(SERVICE_PORTS)
    for name, port in SERVICE_PORTS.items():
        # Docker's DNS answers a service's name with every replica's address: --scale is scraped too.
        assert jobs[name]["dns_sd_configs"] == [{"names": [name], "type": "A", "port": port,
                                                 "refresh_interval": "10s"}]
        assert SERVICES[name]["environment"]["PORT"] == str(port)
    assert (COMPOSE_CONFIG.parent / config["rule_files"][0]).exists()


def test_grafana_gets_its_datasource_and_dashboard_provisioned() -> None:
    grafana = SERVICES["grafana"]
    observability = ROOT / "shared" / "observability" / "grafana"
    mounts = {volume.split(":")[1]: ROOT / volume.split(":")[0] for volume in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == observability / "provisioning"
    assert mounts["/var/lib/grafana/dashboards"] == observability / "dashboards"
    datasource = yaml.safe_load((observability / "provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((observability / "provisioning/dashboards/recruit.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert (observability / "dashboards/recruit.json").exists()
    # The admin password is a compose secret; anyone may look at the dashboard.
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert COMPOSE["secrets"]["grafana_admin_password"] == {"environment": "GRAFANA_ADMIN_PASSWORD"}
    assert grafana["ports"] == ["3000:3000"]


def test_traces_go_from_the_services_through_the_collector_to_jaeger() -> None:
    collector = SERVICES["otel-collector"]
    config_path = ROOT / collector["volumes"][0].split(":")[0]
    config = yaml.safe_load(config_path.read_text())
    assert collector["command"] == [f"--config={collector['volumes'][0].split(':')[1]}"]
    receivers = config["receivers"]["otlp"]["protocols"]
    assert receivers["grpc"]["endpoint"].endswith(":4317") and receivers["http"]["endpoint"].endswith(":4318")
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert [config["exporters"][name]["endpoint"] for name in pipeline["exporters"]] == ["jaeger:4317"]
    assert SERVICES["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert SERVICES["jaeger"]["ports"] == ["16686:16686"]
    for name in SERVICE_PORTS:  # set by the operator for the profile (README "Observability")
        assert SERVICES[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "${OTEL_EXPORTER_OTLP_ENDPOINT:-}"
