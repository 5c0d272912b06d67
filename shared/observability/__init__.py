"""Observability: the Prometheus, alert, Grafana and OpenTelemetry collector configuration of compose's
`observability` profile; prometheus.py generates the scrape configuration (compose's and a test's)."""
