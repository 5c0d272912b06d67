"""Intake's OpenAPI, fuzzed by schemathesis over real HTTP against the real broker and PostgreSQL: no 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support import ADMIN_TOKEN, TEST_API_KEY, service_process

EXAMPLES = 50


@pytest.fixture(scope="module")
def intake_url(stack):
    """`recruit service intake` on a free port, with the module's database and broker."""
    log = stack.work_dir / "intake-openapi.log"
    with service_process("intake", {**stack.env(), "INTAKE_RATE_BURST": "100000", "LOG_LEVEL": "WARNING"},
                         log) as url:
        yield url
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]


def test_no_generated_request_gets_a_server_error(intake_url) -> None:
    schema = schemathesis.openapi.from_url(intake_url + "/openapi.json")
    # Credentials that pass, so the fuzzing reaches validation and the database, not just the 401.
    headers = {"X-Api-Key": TEST_API_KEY, "Authorization": f"Bearer {ADMIN_TOKEN}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /v1/applications", "POST /v1/applications/bulk", "GET /v1/applications/{application_id}",
        "DELETE /v1/applications/{application_id}", "GET /v1/reference/states"}
    seen: dict[str, set[int]] = {}
    for operation in operations:
        if operation.path in ("/readyz", "/metrics"):
            continue  # no input; covered elsewhere

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case) -> None:
            response = case.call(base_url=intake_url, headers=headers, timeout=30)
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"

        run()
    # the fuzzing got past auth into the rules (random data is never a whole valid application)
    assert 422 in seen["POST /v1/applications"] and 401 not in seen["POST /v1/applications"], seen
