-- The W3C trace context (traceparent) of the span that wrote an event; the relay sends it as a Kafka
-- header. NULL when tracing was off (shared/tracing.py).
ALTER TABLE outbox ADD COLUMN traceparent text;
