"""`recruit up` gives each service its own additions to the common environment: placement and intake open CORS
to the staff console's origin (screening's), screening tells the console where placement and intake are,
intake links reporting's status page."""

from __future__ import annotations

from pathlib import Path

from shared.runtime.supervisor import Supervisor

CONSOLE_ORIGINS = "http://127.0.0.1:9002,http://localhost:9002"


def env_of(name: str, host: str = "127.0.0.1", **common: str) -> dict[str, str]:
    return Supervisor(data_dir=Path("/nonexistent"), host=host, port_base=9001).service_env(name, {"X": "1", **common})


def test_placement_and_intake_allow_the_consoles_origin_and_screening_knows_both() -> None:
    assert env_of("placement")["CORS_ORIGINS"] == CONSOLE_ORIGINS
    assert env_of("screening") == {"X": "1", "PLACEMENT_URL": "http://127.0.0.1:9003",
                                   "INTAKE_URL": "http://127.0.0.1:9001"}
    assert env_of("intake") == {"X": "1", "CORS_ORIGINS": CONSOLE_ORIGINS,
                                "REPORTING_URL": "http://127.0.0.1:9004"}, "the console's audit, the status link"
    assert env_of("reporting") == {"X": "1"}
    assert "CORS_ORIGINS" not in env_of("screening")


def test_an_operators_settings_are_kept() -> None:
    for service in ("placement", "intake"):
        assert env_of(service, CORS_ORIGINS="https://recruit.example")["CORS_ORIGINS"] == (
            f"https://recruit.example,{CONSOLE_ORIGINS}")
        assert env_of(service, host="10.0.0.5")["CORS_ORIGINS"] == "http://10.0.0.5:9002"
    assert env_of("screening", PLACEMENT_URL="https://api.example/placement")["PLACEMENT_URL"] == (
        "https://api.example/placement")
    assert env_of("screening", INTAKE_URL="https://api.example/intake")["INTAKE_URL"] == "https://api.example/intake"
    assert env_of("screening", host="0.0.0.0")["PLACEMENT_URL"] == "http://127.0.0.1:9003"
    assert env_of("screening", host="0.0.0.0")["INTAKE_URL"] == "http://127.0.0.1:9001"
    assert env_of("intake", REPORTING_URL="https://status.example")["REPORTING_URL"] == "https://status.example"


def test_a_credential_given_as_a_file_reaches_the_services_as_that_file() -> None:
    from shared.runtime.infra import Infrastructure

    supervisor = Supervisor(data_dir=Path("/nonexistent"), environ={"STAFF_TOKENS_FILE": "/run/secrets/staff"},
                            infra=Infrastructure("kafka:9092", "postgresql://db/recruit", None, None))
    env = supervisor.child_env({"STAFF_TOKENS": "t:admin", "PHONE_HASH_KEY": "k"})
    assert env["STAFF_TOKENS_FILE"] == "/run/secrets/staff" and "STAFF_TOKENS" not in env
    assert env["PHONE_HASH_KEY"] == "k"
