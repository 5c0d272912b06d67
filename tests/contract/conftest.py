"""The four services as `recruit service` processes on one module-free stack, shared by the contract tests
(schemathesis on every OpenAPI document, the auth matrix); every service's log is checked for tracebacks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _new_stack
from tests.support import ADMIN_TOKEN, BASE_ENV, TEST_API_KEY, service_process

SERVICES = ("intake", "screening", "placement", "reporting")
READ_TOKEN = "test-reporting-read-token"
UP_INTERVIEWER_TOKEN = "test-up-interviewer-token"


@dataclass
class Services:
    urls: dict[str, str]
    logs: dict[str, Path]

    def credentials(self, service: str) -> dict[str, str]:
        """Headers that pass each service's door: the form key and an admin token; reporting's read token."""
        if service == "reporting":
            return {"Authorization": f"Bearer {READ_TOKEN}"}
        return {"X-Api-Key": TEST_API_KEY, "Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="package")
def services(servers) -> Iterator[Services]:
    stack, cleanup = _new_stack(servers, "contract")
    env = {**stack.env(), "STAFF_TOKENS": f"{BASE_ENV['STAFF_TOKENS']},{UP_INTERVIEWER_TOKEN}:interviewer:UP",
           "REPORTING_READ_TOKEN": READ_TOKEN, "INTAKE_RATE_BURST": "1000000", "LOG_LEVEL": "WARNING"}
    logs = {name: stack.work_dir / f"{name}.log" for name in SERVICES}
    with cleanup, contextlib.ExitStack() as running:
        urls = {name: running.enter_context(service_process(name, env, logs[name])) for name in SERVICES}
        yield Services(urls, logs)
    for name, log in logs.items():
        assert "Traceback" not in log.read_text(), f"{name}:\n{log.read_text()[-5000:]}"
