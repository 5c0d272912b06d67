"""`recruit up` gives each service its own additions to the common environment: placement opens CORS to the
staff console's origin (screening's), screening tells the console where placement is,
intake links reporting's status page."""

from __future__ import annotations

from pathlib import Path

from shared.runtime.supervisor import Supervisor


def env_of(name: str, host: str = "127.0.0.1", **common: str) -> dict[str, str]:
    return Supervisor(data_dir=Path("/nonexistent"), host=host, port_base=9001).service_env(name, {"X": "1", **common})


def test_placement_allows_the_consoles_origin_and_screening_knows_placement() -> None:
    assert env_of("placement")["CORS_ORIGINS"] == "http://127.0.0.1:9002,http://localhost:9002"
    assert env_of("screening")["PLACEMENT_URL"] == "http://127.0.0.1:9003"
    assert env_of("intake") == {"X": "1", "REPORTING_URL": "http://127.0.0.1:9004"}, "the status page's link"
    assert env_of("reporting") == {"X": "1"}
    assert "CORS_ORIGINS" not in env_of("screening")


def test_an_operators_settings_are_kept() -> None:
    assert env_of("placement", CORS_ORIGINS="https://recruit.example")["CORS_ORIGINS"] == (
        "https://recruit.example,http://127.0.0.1:9002,http://localhost:9002")
    assert env_of("screening", PLACEMENT_URL="https://api.example/placement")["PLACEMENT_URL"] == (
        "https://api.example/placement")
    assert env_of("placement", host="10.0.0.5")["CORS_ORIGINS"] == "http://10.0.0.5:9002"
    assert env_of("screening", host="0.0.0.0")["PLACEMENT_URL"] == "http://127.0.0.1:9003"
    assert env_of("intake", REPORTING_URL="https://status.example")["REPORTING_URL"] == "https://status.example"
