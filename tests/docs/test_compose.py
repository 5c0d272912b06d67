"""docker-compose.yml stays true to the code: services, commands, ports, env names, health and order.

No Docker engine runs here, so the file is checked against the code instead of being run."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.runtime.cli import app as cli
from shared.settings import SECRET_FILES, SERVICE_PORTS, Settings

ROOT = Path(__file__).parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS_ENV = {name.upper() for name in Settings.model_fields}


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
        unknown = set(env) - SETTINGS_ENV - {"PORT"}
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
