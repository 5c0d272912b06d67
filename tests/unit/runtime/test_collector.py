"""`recruit service` has uvicorn make each worker process's app through a factory that first imports the
service's code and settles Python's garbage collector: the start-up heap frozen out of every collection, a
wide young generation (shared.runtime.cli.settle_collector)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from shared.runtime import cli

# In a process of its own: freezing this one would keep the rest of the test run's garbage for good.
PROBE = """
import gc
from shared.runtime import cli
before = gc.get_freeze_count(), gc.get_threshold()
app = cli.{name}_app()
print(type(app).__name__, app.state.runtime.service, before[0], gc.get_freeze_count(), *before[1], *gc.get_threshold())
"""


@pytest.mark.parametrize("name", ["intake", "reporting"])
def test_a_services_factory_settles_the_collector_then_makes_its_app(name: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://127.0.0.1:1/none",
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    out = subprocess.run([sys.executable, "-c", PROBE.format(name=name)], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    kind, service, frozen_before, frozen_after, *thresholds = out
    assert (kind, service) == ("FastAPI", name)
    assert int(frozen_before) == 0
    assert int(frozen_after) > 10_000, "a service's imported code is tens of thousands of objects"
    before, after = list(map(int, thresholds[:3])), list(map(int, thresholds[3:]))
    assert after == [cli.YOUNG_GENERATION_THRESHOLD, *before[1:]], "the older generations keep Python's settings"


@pytest.mark.parametrize(("name", "workers"), [("intake", 2), ("reporting", 1)])
def test_the_service_command_hands_uvicorn_the_settling_factory(name: str, workers: int,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: list[tuple] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: served.append(
        (target, options["factory"], options["workers"])))
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1:1/none")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("PHONE_HASH_KEY", "test-key")
    cli.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["service", name, "--workers", str(workers)])
    finally:
        cli.get_settings.cache_clear()  # the next test reads its own environment
    assert result.exit_code == 0, result.output
    assert served == [(f"shared.runtime.cli:{name}_app", True, workers)]
    assert callable(getattr(cli, f"{name}_app"))
