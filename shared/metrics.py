"""Metrics: the Prometheus series every service exposes at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_CONSUMED = Counter(
    "recruit_events_consumed_total", "Events taken from Kafka, by outcome",
    ["consumer", "topic", "result"],  # result: applied, duplicate, dead_lettered, failed
)
OUTBOX_PUBLISHED = Counter("recruit_outbox_published_total", "Outbox rows relayed to Kafka", ["service"])
HTTP_REQUESTS = Histogram(
    "recruit_http_request_seconds", "HTTP request duration", ["service", "method", "route", "status"],
)
