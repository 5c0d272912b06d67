"""Settings: the one configuration object, read from the environment (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_PORTS = {"intake": 8001, "screening": 8002, "placement": 8003, "reporting": 8004}
SERVICES = tuple(SERVICE_PORTS)
# The secrets that may be read from a file named by NAME_FILE.
SECRET_FILES = ("intake_api_keys", "staff_tokens", "phone_hash_key", "reporting_read_token")


class Settings(BaseSettings):
    """Every knob of every service. Unset infrastructure URLs mean "embedded" to `recruit up` and the tests."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    kafka_bootstrap_servers: str | None = None
    database_url: SecretStr | None = None

    # Credentials. Formats are SPEC's: "source:key,source:key" and "token:role[:RJ|UP]".
    intake_api_keys: SecretStr = SecretStr("")
    staff_tokens: SecretStr = SecretStr("")
    reporting_read_token: SecretStr | None = None
    # Keys the phone hash that intake keeps after erasure and reporting uses for status look-ups;
    # both services must share it. `recruit up` generates one and keeps it in the data dir.
    phone_hash_key: SecretStr = SecretStr("")
    # Each secret may come from a file instead (SPEC: compose secrets mount them under /run/secrets).
    intake_api_keys_file: Path | None = None
    staff_tokens_file: Path | None = None
    phone_hash_key_file: Path | None = None
    reporting_read_token_file: Path | None = None
    # The intake source whose key the public HTML form (GET /) sends.
    intake_form_source: str = "web-form"

    selection_threshold: int = Field(60, ge=0, le=100)
    campaign_target: int = Field(500_000, ge=1)

    # Per-key token bucket on intake: a sustained rate and a burst.
    intake_rate_per_second: float = Field(50.0, gt=0)
    intake_rate_burst: int = Field(200, ge=1)

    # The public form (INTAKE_FORM_SOURCE's key is in the page, so anyone has it): a token bucket per client
    # address as well, so one client cannot spend the form's whole bucket, and a bot check (a honeypot field
    # and a minimum time between the page's render and its submission; 0 turns the time check off).
    intake_form_address_rate_per_second: float = Field(0.5, gt=0)
    intake_form_address_burst: int = Field(20, ge=1)
    intake_form_min_fill_seconds: float = Field(3.0, ge=0)
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDRs; empty: none, the client
    # address is the connection's peer). Every service; intake's per-address limit depends on it.
    trusted_proxies: str = ""

    # How often screening looks for deferred cases whose polling has ended (any replica may run it).
    screening_release_seconds: float = Field(30.0, gt=0)

    # Origins whose pages may call this service from a browser (comma-separated; empty: none, and no
    # CORS headers at all). `recruit up` opens placement and intake to the staff console's origin (screening's).
    cors_origins: str = ""
    # Where the staff console (screening GET /console) finds placement's and intake's APIs; `recruit up` sets them.
    placement_url: str = "http://localhost:8003"
    intake_url: str = "http://localhost:8001"
    # reporting's public address: intake's confirmation links its applicant status page (GET /status).
    reporting_url: str = "http://localhost:8004"

    # How long a request's whole body may take to arrive (every route, the bulk import too): past it, 408
    # and the connection closes, so a client sending a byte a second holds nothing for long.
    http_body_timeout_seconds: float = Field(60.0, gt=0)

    kafka_topic_partitions: int = Field(6, ge=1)
    outbox_batch_size: int = Field(2000, ge=1)
    outbox_poll_seconds: float = Field(0.5, gt=0)
    # How long a consumer remembers an event it applied (its inbox row): at least the broker's
    # retention (Kafka's default is 7 days), since only a redelivery within it needs the row.
    inbox_retention_days: float = Field(7.0, gt=0)
    inbox_prune_seconds: float = Field(3600.0, gt=0)
    # Published outbox rows keep their envelope but lose their data after this many days
    # (shared/retention.py), checked this often. Never sooner than the inbox retention: a fresh
    # embedded broker is replayed the outbox events of that window, which must still be whole.
    outbox_retention_days: float = Field(7.0, gt=0)
    outbox_trim_seconds: float = Field(3600.0, gt=0)
    # intake erases, once a day, the personal data of applications whose case ended rejected or
    # no_show this many days ago (SPEC "Operations"); unset: only `recruit purge` does it.
    purge_after_days: int | None = Field(None, ge=1)
    db_pool_max: int = Field(10, ge=2)
    # `recruit up` recycles the embedded broker (memory only; this Tansu build can neither delete records
    # nor apply retention) once its resident memory passes this many MB; 0 never recycles it.
    broker_max_rss_mb: int = Field(1024, ge=0)
    # How often each service sets its gauges (readiness, pool, outbox backlog, consumer lag, dead letters).
    metrics_poll_seconds: float = Field(5.0, gt=0)
    log_level: str = "INFO"
    # Tracing (shared/tracing.py): spans exported by OTLP to this collector (the exporter also reads the other
    # standard OTEL_EXPORTER_OTLP_* variables), and/or appended as JSON lines to this file (a test and debug aid).
    # Neither set: no tracer provider, nothing traced.
    otel_exporter_otlp_endpoint: str = ""
    trace_file: Path | None = None

    @model_validator(mode="after")
    def _secrets_from_files(self) -> "Settings":
        """NAME_FILE names a file holding NAME's value (its trailing newline dropped); giving both is
        a mistake worth stopping for, not a silent choice."""
        for name in SECRET_FILES:
            path = getattr(self, f"{name}_file")
            if path is None:
                continue
            current = getattr(self, name)
            if current is not None and current.get_secret_value():
                raise ValueError(f"{name.upper()} and {name.upper()}_FILE are both set: give one")
            try:
                value = path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as error:
                raise ValueError(f"{name.upper()}_FILE: cannot read {path}: {error.strerror}") from None
            setattr(self, name, SecretStr(value))
        return self

    @model_validator(mode="after")
    def _outbox_kept_for_the_replay_window(self) -> "Settings":
        if self.outbox_retention_days < self.inbox_retention_days:
            raise ValueError(f"OUTBOX_RETENTION_DAYS ({self.outbox_retention_days:g}) is shorter than "
                             f"INBOX_RETENTION_DAYS ({self.inbox_retention_days:g}): a restart's replay of the "
                             "outbox would send events whose data is already gone")
        return self

    def database_dsn(self) -> str:
        if self.database_url is None:
            raise RuntimeError(
                "DATABASE_URL is not set: run the whole system with `recruit up`, "
                "or point DATABASE_URL at a PostgreSQL server."
            )
        return self.database_url.get_secret_value()

    def cors_origin_list(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.cors_origins.split(",") if origin.strip()]

    def kafka_servers(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "KAFKA_BOOTSTRAP_SERVERS is not set: run the whole system with `recruit up`, "
                "or point KAFKA_BOOTSTRAP_SERVERS at a Kafka broker."
            )
        return self.kafka_bootstrap_servers


@lru_cache
def get_settings() -> Settings:
    return Settings()
