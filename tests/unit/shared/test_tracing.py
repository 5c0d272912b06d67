"""shared.tracing with an in-memory exporter: the spans of a consumer batch, the context the events it causes
carry, a staff command continuing an application's trace, and nothing at all when tracing is off."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from shared import tracing


@pytest.fixture
def exported():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)


def message(topic: str, application_id: uuid.UUID, traceparent: str | None):
    headers = [("event_type", b"x")] + ([("traceparent", traceparent.encode())] if traceparent else [])
    return SimpleNamespace(topic=topic, headers=headers), (SimpleNamespace(application_id=application_id), None)


def about(application_id: uuid.UUID):
    return SimpleNamespace(application_id=application_id)


def upstream(name: str) -> tuple[str, str]:
    """A finished span of another service, and the traceparent its events carried."""
    with tracing.span(name):
        traceparent = tracing.current_traceparent()
    return traceparent, traceparent.split("-")[2]


def test_off_traces_nothing_and_asks_nothing() -> None:
    assert not tracing.enabled()
    assert tracing.current_traceparent() is None
    assert tracing.traceparents_of([about(uuid.uuid4())]) is None  # the outbox then writes no column
    with tracing.consuming("screening", [message("applications.submitted", uuid.uuid4(), "00-" + "1" * 32
                                                 + "-" + "2" * 16 + "-01")]):
        assert tracing.traceparents_of([about(uuid.uuid4())]) is None


async def test_off_does_not_look_up_the_kept_context() -> None:
    async def lookup() -> str:
        raise AssertionError("looked up with tracing off")

    async with tracing.continuing("screening interview result", lookup):
        assert tracing.current_traceparent() is None


def test_a_batch_has_one_span_and_a_process_span_per_context(exported) -> None:
    first, first_span = upstream("intake POST")
    second, second_span = upstream("intake bulk batch")
    one, two, three, untraced, other = (uuid.uuid4() for _ in range(5))
    batch = [message("applications.submitted", one, first), message("applications.submitted", two, second),
             message("applications.submitted", three, second), message("applications.erased", untraced, None)]
    with tracing.consuming("screening", batch):
        caused = tracing.traceparents_of([about(one), about(two), about(three), about(untraced), about(other)])
    spans = {(s.name, s.parent.span_id if s.parent else None): s for s in exported.get_finished_spans()}
    consume = spans[("screening consume", None)]
    assert consume.attributes["messaging.batch.message_count"] == 4
    assert sorted(f"{link.context.span_id:016x}" for link in consume.links) == sorted([first_span, second_span])
    by_first = spans[("applications.submitted process", int(first_span, 16))]
    by_second = spans[("applications.submitted process", int(second_span, 16))]
    untraced_span = spans[("applications.erased process", consume.context.span_id)]
    assert by_first.context.trace_id == int(first.split("-")[1], 16)
    assert by_second.attributes["messaging.batch.message_count"] == 2  # two events of one bulk batch: one span
    assert [link.context.span_id for link in by_first.links] == [consume.context.span_id]
    span_id = lambda traceparent: int(traceparent.split("-")[2], 16)  # noqa: E731
    # An event caused by a consumed one carries its process span; one about no consumed application, the batch's.
    assert [span_id(tp) for tp in caused] == [by_first.context.span_id, by_second.context.span_id,
                                              by_second.context.span_id, untraced_span.context.span_id,
                                              consume.context.span_id]
    assert len(exported.get_finished_spans()) == 2 + 4


def test_a_failed_batch_marks_its_spans(exported) -> None:
    traceparent, _ = upstream("intake POST")
    with pytest.raises(RuntimeError), tracing.consuming("placement", [message("screening.completed",
                                                                              uuid.uuid4(), traceparent)]):
        raise RuntimeError("poison")
    failed = [s for s in exported.get_finished_spans() if s.name != "intake POST"]
    assert {s.name for s in failed} == {"placement consume", "screening.completed process"}
    assert all(s.status.status_code is StatusCode.ERROR for s in failed)
    assert tracing.traceparents_of([about(uuid.uuid4())]) == [None]  # the batch's map is gone with it


async def test_a_staff_command_continues_the_application_trace(exported) -> None:
    kept, kept_span = upstream("applications.submitted process")

    async def lookup() -> str:
        return kept

    with tracing.span("POST /v1/interviews/{application_id}/result"):
        request = tracing.current_traceparent()
        async with tracing.continuing("screening interview result", lookup):
            written = tracing.traceparents_of([about(uuid.uuid4())])
    result = next(s for s in exported.get_finished_spans() if s.name == "screening interview result")
    assert result.parent.span_id == int(kept_span, 16) and written[0].split("-")[1] == kept.split("-")[1]
    assert [f"{link.context.span_id:016x}" for link in result.links] == [request.split("-")[2]]
    assert int(written[0].split("-")[2], 16) == result.context.span_id
