-- The trace context (W3C traceparent) a case's application arrived in, so a staff command on the case later
-- (an interview, a result) continues the application's one trace (shared/tracing.py). NULL when untraced.
ALTER TABLE cases ADD COLUMN traceparent text;
