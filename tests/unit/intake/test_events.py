"""The intake domain's events, erasure scrub and rate limiter, without a broker or a database."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain.events import (
    ERASED_SUBMISSION_VALUES,
    PRODUCER,
    erased_data,
    scrubbed_submission,
    scrubbed_submitted_event,
    submitted_data,
    submitted_event_json,
)
from services.intake.domain.ids import uuid4_strings
from services.intake.domain.rate_limit import RateLimiter
from services.intake.domain.validation import (
    Application,
    application_values,
    validate_application,
)
from shared.events import (
    ApplicationErased,
    ApplicationSubmitted,
    Envelope,
    new_event,
    parse_event,
)

RAW = {"full_name": "आशा मीणा", "phone": "98290 12345", "email": "asha@example.com", "state": "राजस्थान",
       "district": "Jaipur", "block": "Sanganer", "age": "24", "languages": "Hindi, English",
       "skills": ["translation"], "social.twitter": "@asha", "followers": "10", "hours_per_week": "5",
       "consent": "on"}
AT = datetime(2026, 3, 1, 10, 30, tzinfo=timezone.utc)


def application() -> Application:
    result = validate_application(RAW)
    assert isinstance(result, Application)
    return result


def submitted(application_id: uuid.UUID, validated: Application, source: str, at: datetime) -> Envelope:
    """The event the submit use case makes of an accepted application."""
    return new_event(PRODUCER, application_id, submitted_data(validated, source, at), occurred_at=at)


def test_the_submitted_event_is_the_validated_application_with_its_source_and_time() -> None:
    application_id = uuid.uuid4()
    event = submitted(application_id, application(), "web-form", AT)
    envelope, data = parse_event(event.to_json())  # the consumers' own decoder accepts it
    assert envelope.event_type == "application.submitted" and envelope.application_id == application_id
    received = msgspec.structs.asdict(data)
    assert {name: received[name] for name in received.keys() - {"source", "submitted_at"}} == (
        application().model_dump(exclude={"source"}))
    assert (data.source, data.submitted_at, envelope.occurred_at) == ("web-form", AT, AT)
    assert (event.event_type, event.topic, event.kafka_key(), event.producer) == (
        "application.submitted", "applications.submitted", str(application_id), "intake")


def test_an_application_that_names_its_source_keeps_it() -> None:
    named = validate_application({**RAW, "source": "campaign-7"})
    assert submitted_data(named, "web-form", AT).source == "campaign-7"


def test_the_erased_event_carries_only_the_time() -> None:
    assert erased_data(AT) == ApplicationErased(erased_at=AT)


def test_a_scrubbed_submission_is_still_a_valid_event_with_nothing_personal() -> None:
    event = submitted(uuid.uuid4(), application(), "web-form", AT)
    scrubbed = scrubbed_submission(event.data)
    parsed = ApplicationSubmitted.model_validate(scrubbed)
    assert (parsed.state, parsed.district) == ("RJ", "Jaipur") and parsed.submitted_at == AT
    text = json.dumps(scrubbed, ensure_ascii=False)
    for personal in ("आशा", "9829012345", "asha@example.com", "@asha", "Sanganer", "web-form"):
        assert personal not in text
    assert set(ERASED_SUBMISSION_VALUES) <= set(ApplicationSubmitted.model_fields)


def test_a_scrubbed_submitted_envelope_keeps_its_envelope() -> None:
    event = submitted(uuid.uuid4(), application(), "web-form", AT)
    scrubbed = json.loads(scrubbed_submitted_event(event.to_json()))
    assert {k: v for k, v in scrubbed.items() if k != "data"} == {
        k: v for k, v in json.loads(event.to_json()).items() if k != "data"}
    assert scrubbed["data"] == scrubbed_submission(event.data)


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


# The bulk path writes the event JSON with json.dumps from plain values (events.submitted_event_json);
# it must be the very bytes Envelope.to_json of the submit use case's event gives, for any valid application.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12)
_RAWS = st.fixed_dictionaries(
    {"full_name": st.one_of(st.sampled_from(["आशा मीणा", "Ravi  Kumar ", "Zoë \"Q\" O'Neil\\"]), _TEXT),
     "phone": st.sampled_from(["98290 12345", "+91-9000000001", "07000000002"]),
     "state": st.sampled_from(["RJ", "राजस्थान", "uttar pradesh", "Tamil Nadu", "ka"]),
     "district": st.one_of(st.sampled_from(["jaipur", "Lucknow", "नया ज़िला"]), _TEXT),
     "age": st.one_of(st.integers(18, 80), st.sampled_from(["18", " 80 ", "+25"])),
     "consent": st.sampled_from([True, "on", "YES", "1"])},
    optional={"email": st.sampled_from(["a.b+c@Example.COM", "x@y.in"]), "block": _TEXT,
              "languages": st.one_of(_TEXT, st.lists(_TEXT, max_size=4)),
              "skills": st.sampled_from(["translation; Content Writing", ["fact-checking"], ""]),
              "social": st.dictionaries(st.sampled_from(["twitter", "x.com", "Insta_1"]), _TEXT, max_size=3),
              "social.youtube": _TEXT, "followers": st.integers(0, 10**10), "hours_per_week": st.integers(1, 80),
              "source": st.one_of(_TEXT, st.just("campaign-7"))})


@settings(max_examples=500)
@given(raw=_RAWS, microsecond=st.sampled_from([0, 1, 123456, 999999]), source=st.sampled_from(["web-form", "पार्टनर"]))
def test_the_bulk_event_json_is_byte_for_byte_the_envelope_json(raw: dict, microsecond: int, source: str) -> None:
    values = application_values(raw)
    application = validate_application(raw)
    if isinstance(values, list):
        assert values == application  # the same errors either way
        return
    assert values == application.model_dump()
    application_id, event_id = uuid4_strings(os.urandom(32))
    at = AT.replace(microsecond=microsecond)
    envelope = submitted(uuid.UUID(application_id), application, source, at)
    envelope = envelope.model_copy(update={"event_id": uuid.UUID(event_id)})
    assert submitted_event_json(application_id, event_id, values, source, at) == envelope.to_json()
