"""The intake domain's event, erasure scrub and rate limiter, without a broker or a database."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from services.intake.domain import (ERASED_SUBMISSION_VALUES, Application, RateLimiter, scrubbed_submission,
                                    submitted_event, validate_application)
from shared.events import ApplicationSubmitted, new_event, parse_event

RAW = {"full_name": "आशा मीणा", "phone": "98290 12345", "email": "asha@example.com", "state": "राजस्थान",
       "district": "Jaipur", "block": "Sanganer", "age": "24", "languages": "Hindi, English",
       "skills": ["translation"], "social.twitter": "@asha", "followers": "10", "hours_per_week": "5",
       "consent": "on"}
AT = datetime(2026, 3, 1, 10, 30, tzinfo=timezone.utc)


def application() -> Application:
    result = validate_application(RAW)
    assert isinstance(result, Application)
    return result


def test_the_fast_event_is_the_event_new_event_would_make() -> None:
    application_id = uuid.uuid4()
    fast = submitted_event(application_id, application(), "web-form", AT)
    envelope, data = parse_event(fast.to_json())  # the consumers' own decoder accepts it
    assert isinstance(data, ApplicationSubmitted) and envelope.application_id == application_id
    reference = new_event("intake", application_id, ApplicationSubmitted(
        **application().model_dump(exclude={"source"}), source="web-form", submitted_at=AT), occurred_at=AT)
    assert json.loads(fast.to_json())["data"] == json.loads(reference.to_json())["data"]
    assert (fast.event_type, fast.topic, fast.kafka_key(), fast.producer) == (
        "application.submitted", "applications.submitted", str(application_id), "intake")


def test_an_application_that_names_its_source_keeps_it() -> None:
    named = validate_application({**RAW, "source": "campaign-7"})
    assert submitted_event(uuid.uuid4(), named, "web-form", AT).data["source"] == "campaign-7"


def test_a_scrubbed_submission_is_still_a_valid_event_with_nothing_personal() -> None:
    event = submitted_event(uuid.uuid4(), application(), "web-form", AT)
    scrubbed = scrubbed_submission(event.data)
    parsed = ApplicationSubmitted.model_validate(scrubbed)
    assert (parsed.state, parsed.district) == ("RJ", "Jaipur") and parsed.submitted_at == AT
    text = json.dumps(scrubbed, ensure_ascii=False)
    for personal in ("आशा", "9829012345", "asha@example.com", "@asha", "Sanganer", "web-form"):
        assert personal not in text
    assert set(ERASED_SUBMISSION_VALUES) <= set(ApplicationSubmitted.model_fields)


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=2, burst=3)
    assert [limiter.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", 0.0) == 0.5  # one token comes back after 1/rate seconds
    assert limiter.take("b", 0.0) == 0.0  # keys do not share a bucket
    assert limiter.take("a", 0.5) == 0.0
    assert limiter.take("a", 0.5) > 0
    assert [limiter.take("a", 100.0) for _ in range(4)][-1] > 0  # refills to the burst, not beyond


@settings(max_examples=200)
@given(rate=st.floats(0.1, 1000), burst=st.integers(1, 50),
       gaps=st.lists(st.floats(0, 5), min_size=1, max_size=200))
def test_never_more_than_burst_plus_rate_times_elapsed(rate: float, burst: int, gaps: list[float]) -> None:
    limiter, now, allowed = RateLimiter(rate, burst), 0.0, 0
    for gap in gaps:
        now += gap
        wait = limiter.take("k", now)
        assert wait >= 0
        allowed += wait == 0
    assert allowed <= burst + rate * now + 1e-6
