"""Every service's OpenAPI, fuzzed by schemathesis over real HTTP against the real broker and PostgreSQL, with
credentials that pass: no 5xx, and every answer is one its document lists, in the documented content type and
shape (the one error model of shared/errors.py included). Tracebacks in a log fail the package (conftest)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import SERVICES

# Examples per operation and mode (valid data, then data the document says is invalid): about 50 operations
# in all, so ~2,000 requests; the four services take about a minute together on two cores.
EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# An event stream never ends, so there is no response to check; tests/integration/test_reporting_api.py reads it.
ENDLESS = {"/v1/stream"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_is_documented_and_none_is_a_server_error(services, service: str) -> None:
    url = services.urls[service]
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    seen: dict[str, set[int]] = {}
    for operation in operations:
        if operation.path in ENDLESS:
            continue
        takes_input = bool(operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if takes_input else (GenerationMode.POSITIVE,):
            # No shrinking: a failure is reported as found, which bounds the run's time.
            @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                response = case.call_and_validate(base_url=url, headers=services.credentials(service),
                                                  checks=CHECKS, timeout=30)
                if mode is GenerationMode.POSITIVE:  # negative data may well include a broken Authorization header
                    seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)

            run()
    # The credentials passed: valid data reached the rules behind each door, not just the 401.
    assert not [operation for operation, statuses in seen.items() if 401 in statuses], seen
    assert {2, 4} <= {status // 100 for statuses in seen.values() for status in statuses}, seen
