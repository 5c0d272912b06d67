"""Every service's /asyncapi.json, read by the official @asyncapi/parser as a new user's tooling would:
valid, each event named, its payload the envelope with its data, its Kafka key and event_type header,
for what the service sends and what it receives; and the envelopes the services build match it."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from jsonschema import Draft202012Validator

from shared.events import (
    CONSUMED_TOPICS,
    EVENTS,
    ApplicationErased,
    ApplicationSubmitted,
    InterviewScheduled,
    PlacementChanged,
    ScreeningCompleted,
    ScreeningQueued,
    new_event,
    parse_event,
)
from tests.contract.wire import NODE, parse_with_asyncapi_parser, record_violations, schemas_by_topic, served_documents

needs_node = pytest.mark.skipif(NODE is None, reason="no `node` on PATH (Node.js 20 runs the official @asyncapi/parser)")

# SPEC's service table: who publishes what.
PUBLISHED = {
    "intake": ("applications.submitted", "applications.erased"),
    "screening": ("screening.queued", "screening.interview-scheduled", "screening.completed"),
    "placement": ("placement.changed",),
    "reporting": (),
}
NOW = datetime(2025, 3, 1, 10, 30, tzinfo=timezone.utc)
ONE_OF_EACH = (
    ApplicationSubmitted(full_name="सुनीता देवी", phone="+919812345678", state="RJ", district="Jaipur", age=31,
                         submitted_at=NOW),
    ApplicationErased(erased_at=NOW),
    ScreeningQueued(state="RJ", status="deferred", reason="election window"),
    InterviewScheduled(state="RJ", interview_at=NOW, interviewer="asha"),
    ScreeningCompleted(state="UP", district="Lucknow", outcome="selected", score=82,
                       rubric={"communication": 8}, submitted_at=NOW),
    PlacementChanged(state="UP", level="district", unit_id="UP-LKO", previous_level="none", score=82,
                     reason="placed"),
)


@pytest.fixture(scope="module")
async def documents() -> dict[str, dict]:
    return await served_documents()


@pytest.fixture(scope="module")
def parsed(documents, tmp_path_factory) -> dict[str, dict]:
    return parse_with_asyncapi_parser(documents, tmp_path_factory.mktemp("asyncapi"))


@needs_node
def test_the_official_parser_finds_no_error_or_warning(parsed) -> None:
    for service, result in parsed.items():
        serious = [d for d in result["diagnostics"] if d["severity"] in ("error", "warning")]
        assert serious == [], (service, serious)


@needs_node
def test_each_service_sends_and_receives_its_events_by_name(parsed) -> None:
    for service, result in parsed.items():
        operations = {(o["action"], o["address"], o["message"]) for o in result["operations"]}
        expected = {("send", topic, _event_on(topic)) for topic in PUBLISHED[service]}
        expected |= {("receive", topic, _event_on(topic)) for topic in CONSUMED_TOPICS.get(service, ())}
        assert operations == expected, service


@needs_node
def test_each_message_is_the_envelope_with_its_key_and_event_type_header(parsed) -> None:
    for service, result in parsed.items():
        for operation in result["operations"]:
            event_type, payload = operation["message"], operation["payload"]
            assert payload["properties"]["event_type"]["const"] == event_type
            assert set(payload["required"]) >= {"event_id", "event_type", "occurred_at", "producer",
                                                "application_id", "data"}
            assert payload["additionalProperties"] is False
            data_model = EVENTS[event_type][1]
            assert payload["properties"]["data"]["title"] == data_model.__name__
            assert set(payload["properties"]["data"]["properties"]) == set(data_model.model_fields)
            assert operation["headers"]["properties"]["event_type"]["const"] == event_type
            assert operation["headers"]["required"] == ["event_type"]
            assert operation["key"]["type"] == "string", (service, event_type)
            if event_type == "screening.completed":
                assert "RJ" in operation["key"]["enum"]
            else:
                assert operation["key"]["format"] == "uuid"
            assert "correlation_id" not in str(operation)


class Record:
    """What aiokafka hands a consumer, for an envelope as the outbox relay sends it (shared.outbox)."""

    def __init__(self, envelope, key: str | None = None, headers: list | None = None) -> None:
        self.topic, self.partition, self.offset = envelope.topic, 0, 0
        self.value = envelope.to_json().encode()
        self.key = (key if key is not None else envelope.kafka_key()).encode()
        self.headers = headers if headers is not None else [("event_type", envelope.event_type.encode())]


TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_envelopes_as_the_relay_sends_them_match_every_document(documents) -> None:
    by_topic = schemas_by_topic(documents)
    records = [Record(new_event("test", uuid.uuid4(), data, occurred_at=NOW)) for data in ONE_OF_EACH]
    assert {r.topic for r in records} == set(by_topic) == {topic for topic, _ in EVENTS.values()}
    assert record_violations(by_topic, records) == []
    # A traced service's relay adds the W3C trace context (shared/tracing.py); a malformed one is refused.
    envelopes = [new_event("test", uuid.uuid4(), data, occurred_at=NOW) for data in ONE_OF_EACH]
    traced = [Record(e, headers=[("event_type", e.event_type.encode()), ("traceparent", TRACEPARENT)])
              for e in envelopes]
    assert record_violations(by_topic, traced) == []
    torn = Record(envelopes[0], headers=[("event_type", envelopes[0].event_type.encode()),
                                         ("traceparent", b"00-not-a-context")])
    assert any("headers" in problem for problem in record_violations(by_topic, [torn]))


def test_what_the_documents_refuse_a_consumer_refuses_too(documents) -> None:
    by_topic = schemas_by_topic(documents)
    envelope = new_event("test", uuid.uuid4(), ONE_OF_EACH[0], occurred_at=NOW)
    bare_data = envelope.data  # what the documents used to declare as the payload
    extra_field = envelope.model_dump(mode="json") | {"unexpected": 1}
    bad_data = envelope.model_dump(mode="json") | {"data": {**envelope.data, "age": "thirty"}}
    for value in (bare_data, extra_field, bad_data):
        validator: Draft202012Validator = by_topic[envelope.topic][0].payload
        assert not validator.is_valid(value), value
        with pytest.raises(ValueError):
            parse_event(json.dumps(value))

    wrong_key = Record(envelope, key="not-an-application-id")
    no_header = Record(envelope, headers=[])
    assert any("key" in problem for problem in record_violations(by_topic, [wrong_key]))
    assert any("headers" in problem for problem in record_violations(by_topic, [no_header]))


def _event_on(topic: str) -> str:
    return next(event_type for event_type, (t, _) in EVENTS.items() if t == topic)
