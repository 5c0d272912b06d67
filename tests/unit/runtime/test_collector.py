"""`recruit service` tunes Python's garbage collector once the service's code is imported: the start-up heap
frozen out of every collection, a wide young generation (shared.runtime.cli.settle_collector)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from shared.runtime import cli


def test_settling_freezes_what_start_up_left_and_widens_the_young_generation() -> None:
    # In a process of its own: freezing this one would keep the rest of the test run's garbage for good.
    probe = ("import gc; from shared.runtime.cli import settle_collector; import services.reporting.app;"
             "before = gc.get_freeze_count(), gc.get_threshold(); settle_collector();"
             "print(before[0], gc.get_freeze_count(), *before[1], *gc.get_threshold())")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    frozen_before, frozen_after, *thresholds = map(int, out)
    assert frozen_before == 0
    assert frozen_after > 10_000, "a service's imported code is tens of thousands of objects"
    assert thresholds[3] == cli.YOUNG_GENERATION_THRESHOLD
    assert thresholds[4:] == thresholds[1:3], "the older generations keep Python's settings"


@pytest.mark.parametrize("name", ["intake", "reporting"])
def test_the_service_command_settles_the_collector_after_importing_and_before_serving(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[str] = []
    monkeypatch.setattr(cli, "settle_collector", lambda: calls.append("settle"))
    monkeypatch.setattr(uvicorn, "run", lambda target, **_: calls.append(f"serve {target}"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://127.0.0.1:1/none")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("PHONE_HASH_KEY", "test-key")
    cli.get_settings.cache_clear()
    result = CliRunner().invoke(cli.app, ["service", name])
    assert result.exit_code == 0, result.output
    cli.get_settings.cache_clear()  # the next test reads its own environment
    assert calls == ["settle", f"serve services.{name}.app:create_app"]
    assert f"services.{name}.app" in sys.modules
