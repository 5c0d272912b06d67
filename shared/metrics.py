"""Metrics: the Prometheus series every service exposes at /metrics (README "Observability" lists them).

Counters and the request histogram are counted where things happen; the gauges are set every
METRICS_POLL_SECONDS by one job of the Runtime (shared.service.measure, reading shared.measurements)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "recruit_events_consumed_total", "Events taken from Kafka, by outcome",
    ["consumer", "topic", "result"],  # result: applied, duplicate, dead_lettered, failed
)
OUTBOX_PUBLISHED = Counter("recruit_outbox_published_total", "Outbox rows relayed to Kafka", ["service"])
HTTP_REQUESTS = Histogram(
    "recruit_http_request_duration_seconds", "HTTP request duration, by route and status",
    ["service", "method", "route", "status"],
)

# --- gauges set by the Runtime's measuring job ---------------------------------------------------------

READY = Gauge("recruit_ready", "1 while the service reaches its database and its broker (as /readyz), else 0",
              ["service"])
CONSUMER_LAG = Gauge("recruit_consumer_lag", "Messages not yet consumed: log end offset minus the group's "
                     "committed offset, summed over partitions (the whole group, every replica)",
                     ["consumer", "topic"])
OUTBOX_UNPUBLISHED = Gauge("recruit_outbox_unpublished", "Outbox rows not yet relayed to Kafka (counted up to "
                           "100000)", ["service"])
OUTBOX_OLDEST_AGE = Gauge("recruit_outbox_oldest_unpublished_age_seconds",
                          "Age of the oldest outbox row not yet relayed to Kafka (0 when none waits)", ["service"])
DEAD_LETTERS = Gauge("recruit_dead_letters", "Messages in the topic's dead-letter topic (<topic>.dlq)", ["topic"])
DEAD_LETTERS_WAITING = Gauge("recruit_dead_letters_waiting", "Dead letters of the topic neither replayed nor "
                             "discarded yet (recruit dlq replay|discard)", ["topic"])
DB_POOL_CONNECTIONS = Gauge("recruit_db_pool_connections", "Database connections the pool holds open", ["service"])
DB_POOL_IN_USE = Gauge("recruit_db_pool_connections_in_use", "Database connections in use", ["service"])
DB_POOL_MAX = Gauge("recruit_db_pool_max_connections", "Most connections the pool opens (DB_POOL_MAX)", ["service"])
