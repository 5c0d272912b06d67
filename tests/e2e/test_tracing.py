"""Tracing end to end under `recruit up` (TRACE_FILE: every service process appends its finished spans to one
file): one application posted, interviewed and placed is one trace through the four services, each span the
child of the one that caused it; a bulk import makes a span per batch of rows, not per row."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support import RecruitUp, wait_for

RUBRIC = {"communication": 8, "content_creation": 7, "social_media_reach": 6, "political_awareness": 9,
          "commitment": 8}
BULK_ROWS = 4_500  # intake stages 2,000 rows a batch: three batches


def application(i: int) -> dict:
    return {"full_name": f"Traced Applicant {i}", "phone": f"9{i:09d}", "state": "RJ", "district": "Jaipur",
            "age": 20 + i % 40, "consent": True}


def spans(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def service(span: dict) -> str:
    return span["resource"]["attributes"]["service.name"]


def one(found: list[dict], what: str) -> dict:
    assert len(found) == 1, f"{what}: {len(found)} spans, {[s['name'] for s in found]}"
    return found[0]


def test_one_application_is_one_trace_and_a_bulk_import_a_span_per_batch(recruit_up, tmp_path) -> None:
    trace_file = tmp_path / "spans.jsonl"
    up: RecruitUp = recruit_up(env={"TRACE_FILE": str(trace_file)})
    key = {"X-Api-Key": up.api_key()}
    admin = {"Authorization": f"Bearer {up.admin_token()}"}

    created = httpx.post(up.url("intake") + "/v1/applications", json=application(1), headers=key, timeout=10)
    assert created.status_code == 201, created.text
    application_id = created.json()["application_id"]
    wait_for(lambda: any(s["name"] == "screening.queued process" and service(s) == "reporting"
                         for s in spans(trace_file)), what="reporting applied screening.queued")
    scheduled = httpx.post(up.url("screening") + "/v1/interviews", headers=admin, timeout=10,
                           json={"application_id": application_id, "interview_at": "2026-12-01T10:00:00+05:30"})
    assert scheduled.status_code < 300, scheduled.text
    result = httpx.post(f"{up.url('screening')}/v1/interviews/{application_id}/result", json={"scores": RUBRIC},
                        headers=admin, timeout=10)
    assert result.status_code == 200, result.text
    wait_for(lambda: any(s["name"] == "placement.changed process" and service(s) == "reporting"
                         for s in spans(trace_file)), what="reporting applied placement.changed")

    posted = one([s for s in spans(trace_file) if service(s) == "intake" and s["kind"] == "SpanKind.SERVER"
                  and s["attributes"].get("http.route") == "/v1/applications"], "intake's POST")
    trace_id = posted["context"]["trace_id"]
    in_trace = [s for s in spans(trace_file) if s["context"]["trace_id"] == trace_id]
    assert {service(s) for s in in_trace} == {"intake", "screening", "placement", "reporting"}

    def child_of(parent: dict, name: str, in_service: str) -> dict:
        child = one([s for s in in_trace if s["name"] == name and service(s) == in_service
                     and s["parent_id"] == parent["context"]["span_id"]], f"{in_service} {name} under {parent['name']}")
        assert child["start_time"] >= parent["start_time"], "a child starts after its parent"
        return child

    # The path of the application, each step the child of the step that caused it.
    submitted = child_of(posted, "applications.submitted process", "screening")
    child_of(posted, "applications.submitted process", "reporting")
    child_of(submitted, "screening.queued process", "reporting")
    interviewed = child_of(submitted, "screening interview scheduled", "screening")
    child_of(interviewed, "screening.interview-scheduled process", "reporting")
    decided = child_of(submitted, "screening interview result", "screening")
    placed = child_of(decided, "screening.completed process", "placement")
    child_of(decided, "screening.completed process", "reporting")
    child_of(placed, "placement.changed process", "reporting")
    # The staff request that decided is a trace of its own, linked from the step it caused.
    request = one([s for s in spans(trace_file) if service(s) == "screening" and s["kind"] == "SpanKind.SERVER"
                   and s["attributes"].get("http.route") == "/v1/interviews/{application_id}/result"], "the result")
    assert [link["context"]["span_id"] for link in decided["links"]] == [request["context"]["span_id"]]
    # Each consumer's batch span links the context its message came in.
    batch = one([s for s in spans(trace_file) if s["name"] == "placement consume"
                 and s["context"]["span_id"] == placed["links"][0]["context"]["span_id"]], "placement's batch")
    assert decided["context"]["span_id"] in [link["context"]["span_id"] for link in batch["links"]]

    # A bulk import: a span per batch of 2,000 rows, and downstream a span per batch too, not per row.
    body = "\n".join(json.dumps(application(i)) for i in range(1_000, 1_000 + BULK_ROWS)) + "\n"
    imported = httpx.post(up.url("intake") + "/v1/applications/bulk", content=body.encode(), timeout=120,
                          headers={**key, "Content-Type": "application/x-ndjson"})
    assert imported.status_code == 200 and imported.json()["accepted"] == BULK_ROWS, imported.text
    wait_for(lambda: httpx.get(up.url("reporting") + "/v1/stats/summary", timeout=5).json()["applications"]
             == BULK_ROWS + 1, timeout=90, what="the import counted")
    bulk_post = one([s for s in spans(trace_file) if service(s) == "intake" and s["kind"] == "SpanKind.SERVER"
                     and s["attributes"].get("http.route") == "/v1/applications/bulk"], "the bulk POST")
    bulk_trace = bulk_post["context"]["trace_id"]
    wait_for(lambda: sum(s["attributes"].get("messaging.batch.message_count", 0) for s in spans(trace_file)
                         if s["name"] == "screening.queued process" and service(s) == "reporting"
                         and s["context"]["trace_id"] == bulk_trace) == BULK_ROWS,
             what="reporting's spans of the import's queued events")
    in_bulk = [s for s in spans(trace_file) if s["context"]["trace_id"] == bulk_trace]
    batches = [s for s in in_bulk if s["name"] == "intake import batch"]
    assert sorted(s["attributes"]["rows"] for s in batches) == [500, 2_000, 2_000]
    assert all(s["parent_id"] == bulk_post["context"]["span_id"] for s in batches)
    opened = [s for s in in_bulk if s["name"] == "applications.submitted process" and service(s) == "screening"]
    assert sum(s["attributes"]["messaging.batch.message_count"] for s in opened) == BULK_ROWS
    # At most one per (consumer batch, import batch): far fewer than rows.
    assert len(opened) <= 3 * 20, len(opened)
    assert {s["parent_id"] for s in opened} <= {s["context"]["span_id"] for s in batches}
    assert len(in_bulk) < 200, f"{len(in_bulk)} spans for {BULK_ROWS} rows"
