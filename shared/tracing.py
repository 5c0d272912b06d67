"""Tracing: the OpenTelemetry set-up of a service process, and how W3C trace context (`traceparent`) travels
from an HTTP request through the outbox row and the Kafka headers into a consumer and the events it causes.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT (spans exported by OTLP) or TRACE_FILE (finished spans appended as JSON
lines: a test and debugging aid) is set. Off, no tracer provider is installed, every function here returns at
its first line, and the hot paths call nothing per event: `enabled()` is read once per batch.

How a consumer batch is traced (a batch is applied in one transaction, so it has one span):
- `<group> consume`: one span per batch, kind CONSUMER, linked to each distinct context its messages carry;
- `<topic> process`: one span per distinct (topic, traceparent) in the batch, the child of that context (so of
  the span that wrote the events), linked to the batch span. A batch of 2,000 single applications makes 2,000;
  2,000 events of one bulk import batch, which share one traceparent, make one.
An event the batch causes carries the context of the `process` span of the consumed event about the same
application (placement's re-placements of other candidates carry the batch span's), so one application's path
reads as one trace: intake's HTTP span -> screening's `applications.submitted process` -> ... -> reporting.
A staff command on an application (screening's interview and result) continues that application's trace: its
events' parent is a span under the context screening kept with the case, linked to the request's own trace.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
# What the HTTP instrumentation leaves out: probes, scrapes and fonts would drown the traces that matter.
UNTRACED_URLS = "/healthz,/readyz,/metrics,/fonts/"

_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None
_provider: TracerProvider | None = None
# During a consumer batch: application id -> the traceparent the events caused for it carry.
_causes: ContextVar[dict[Any, str] | None] = ContextVar("recruit_trace_causes", default=None)


class AboutAnApplication(Protocol):
    application_id: Any


def setup(service: str, otlp_endpoint: str | None, trace_file: Path | None) -> None:
    """Install this process's tracer provider, if either exporter is asked for; idempotent."""
    if _provider is not None or not (otlp_endpoint or trace_file):
        return
    provider = TracerProvider(resource=Resource.create({
        "service.name": service, "service.namespace": "recruit",
        "service.instance.id": f"{socket.gethostname()}:{os.getpid()}"}))
    if otlp_endpoint:
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
    if trace_file:
        # One write per span (a large buffer, flushed after each), so the processes of `recruit up` can
        # append to one file without tearing each other's lines.
        out = open(trace_file, "a", encoding="utf-8", buffering=1 << 20)  # noqa: SIM115 (lives as long as the process)
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(
            out=out, formatter=lambda span: span.to_json(indent=None) + "\n")))
    trace.set_tracer_provider(provider)
    use(provider)


def _otlp_exporter():
    """OTLP over gRPC (port 4317), or over HTTP (4318) when OTEL_EXPORTER_OTLP_PROTOCOL says http/protobuf; the
    exporter reads the endpoint, headers and timeouts from the standard OTEL_EXPORTER_OTLP_* variables itself."""
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol in ("http/protobuf", "http/json"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()


def use(provider: TracerProvider | None) -> None:
    """Trace with `provider` (None: stop tracing). setup() calls it; tests give an in-memory one."""
    global _tracer, _provider
    _provider = provider
    _tracer = provider.get_tracer("recruit") if provider is not None else None


def enabled() -> bool:
    return _tracer is not None


def flush() -> None:
    if _provider is not None:
        _provider.force_flush()


def instrument(app: Any) -> None:
    """A server span per HTTP request (OpenTelemetry's FastAPI instrumentation, W3C context from the request's
    own `traceparent` if it has one); nothing at all when tracing is off."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls=UNTRACED_URLS,
                                       exclude_spans=["receive", "send"])


def current_traceparent() -> str | None:
    """The current span's context as a `traceparent` value (None when tracing is off or no span is current)."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def traceparents_of(items: Sequence[AboutAnApplication]) -> list[str | None] | None:
    """The traceparent each event (or anything naming an application) written now carries: inside a consumer
    batch, that of the consumed event about the same application, else the current span's. None when
    tracing is off, so a caller writes no column at all."""
    if _tracer is None:
        return None
    current = current_traceparent()
    causes = _causes.get()
    if not causes:
        return [current] * len(items)
    return [causes.get(item.application_id, current) for item in items]


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[None]:
    """A span around a step worth seeing on its own (a bulk import's batch); nothing when tracing is off."""
    if _tracer is None:
        yield
        return
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield


@contextlib.contextmanager
def consuming(group: str, messages: Sequence[tuple[Any, tuple[AboutAnApplication, Any]]]) -> Iterator[None]:
    """The spans of one consumer batch (records with their decoded events), around the use case applying it;
    see the module's docstring. Nothing when tracing is off."""
    if _tracer is None or not messages:
        yield
        return
    by_context: dict[tuple[str, str | None], list[Any]] = {}
    for record, (envelope, _) in messages:
        by_context.setdefault((record.topic, _header(record.headers, TRACEPARENT)), []).append(
            envelope.application_id)
    links = [Link(context) for context in _span_contexts(tp for _, tp in by_context) if context.is_valid]
    with _tracer.start_as_current_span(
            f"{group} consume", kind=SpanKind.CONSUMER, links=links[:128],
            attributes={"messaging.system": "kafka", "messaging.consumer.group.name": group,
                        "messaging.batch.message_count": len(messages)}) as batch:
        batch_link = [Link(batch.get_span_context())]
        causes: dict[Any, str] = {}
        spans = []
        for (topic, traceparent), application_ids in by_context.items():
            parent = _propagator.extract({TRACEPARENT: traceparent}) if traceparent else None
            process = _tracer.start_span(
                f"{topic} process", context=parent, kind=SpanKind.CONSUMER, links=batch_link,
                attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                            "messaging.consumer.group.name": group,
                            "messaging.batch.message_count": len(application_ids)})
            spans.append(process)
            carrier: dict[str, str] = {}
            _propagator.inject(carrier, trace.set_span_in_context(process))
            causes.update(dict.fromkeys(application_ids, carrier[TRACEPARENT]))
        token = _causes.set(causes)
        try:
            yield
        except BaseException as error:
            for process in spans:
                process.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            _causes.reset(token)
            for process in spans:
                process.end()


@contextlib.asynccontextmanager
async def continuing(name: str, traceparent: Callable[[], Awaitable[str | None]]) -> AsyncIterator[None]:
    """A span whose parent is an earlier context (`traceparent()`, awaited only when tracing is on: the one
    kept with an application's case), linked to the current span (the staff request); the events written
    inside it continue the application's trace."""
    if _tracer is None:
        yield
        return
    kept = await traceparent()
    if not kept:
        yield
        return
    current = trace.get_current_span().get_span_context()
    with _tracer.start_as_current_span(name, context=_propagator.extract({TRACEPARENT: kept}),
                                       links=[Link(current)] if current.is_valid else []):
        yield


def _span_contexts(traceparents: Iterable[str | None]) -> list[trace.SpanContext]:
    contexts = []
    for traceparent in dict.fromkeys(tp for tp in traceparents if tp):
        contexts.append(trace.get_current_span(_propagator.extract({TRACEPARENT: traceparent})).get_span_context())
    return contexts


def _header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name:
            return value.decode("ascii", "replace")
    return None
