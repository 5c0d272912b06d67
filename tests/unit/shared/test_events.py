"""Shared events: ids made for a batch of events, and the consumers' decoder against the models."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events import (
    _DECODER,
    _JUDGE,
    EVENTS,
    ApplicationErased,
    ApplicationSubmitted,
    InterviewScheduled,
    InvalidEvent,
    PlacementChanged,
    ScreeningCompleted,
    ScreeningQueued,
    new_event,
    new_event_ids,
    new_events,
    parse_event,
)

AT = datetime(2026, 3, 1, 10, 30, 0, 123456, tzinfo=timezone.utc)
# One event of each type with every field given, as producers write them.
DOCUMENTS = [new_event("test", uuid.uuid4(), data, occurred_at=AT).model_dump(mode="json") for data in (
    ApplicationSubmitted(full_name="सुनीता देवी", phone="+919812345678", email="s@example.in", state="RJ",
                         district="Jaipur", block="Sanganer", age=31, languages=["hi"], skills=["translation"],
                         social={"x": "@sunita"}, followers=1200, hours_per_week=6, consent=True, source="web-form",
                         submitted_at=AT),
    ApplicationErased(erased_at=AT, reason="retention"),
    ScreeningQueued(state="RJ", status="deferred", reason="election window"),
    InterviewScheduled(state="RJ", interview_at=AT, interviewer="asha"),
    ScreeningCompleted(state="UP", district="Lucknow", block="Malihabad", outcome="selected", score=82,
                       rubric={"communication": 8}, interviewer="asha", submitted_at=AT),
    PlacementChanged(state="UP", level="district", unit_id="UP-LKO", previous_level="waitlist",
                     previous_unit_id=None, score=82, reason="placed"),
)]
FIELDS = sorted({name for document in DOCUMENTS for name in [*document, *document["data"]]} | {"unexpected"})

# Values chosen to sit on the edges where two validators could disagree: numbers as strings, floats
# for ints, dates in other shapes, UUIDs in other spellings, integers past 64 bits.
EDGES = ["25", "25.0", "1e3", "true", "0", "", " ", "null", "2026-03-01T10:30:00Z", "2026-03-01T10:30:00",
         "2026-03-01", "2026-03-01 10:30:00+05:30", "2026-03-01T10:30:00.1234567+05:30", "2026-03-01t10:30:00z",
         "1772361000", "0b9e2a7c5f0d4c8e9a1b2c3d4e5f6a7b", "{0b9e2a7c-5f0d-4c8e-9a1b-2c3d4e5f6a7b}",
         "urn:uuid:0b9e2a7c-5f0d-4c8e-9a1b-2c3d4e5f6a7b", "queued", "selected", "district", "none", "request"]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.integers(-5, 120) | st.integers(-5, 120)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, 25.0, 82.5, 1e20])
    | st.text(max_size=8) | st.sampled_from(EDGES),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4) | st.sampled_from(FIELDS),
                                                                   inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict:
    """One of DOCUMENTS with one to three changes: a field of the envelope or of its data (mostly one
    the document has, sometimes any other) deleted or set to another JSON value."""
    document = draw(st.sampled_from(DOCUMENTS))
    document = {**document, "data": dict(document["data"])}
    for _ in range(draw(st.integers(1, 3))):
        in_data = draw(st.booleans()) and isinstance(document.get("data"), dict)
        target = document["data"] if in_data else document
        name = draw(st.sampled_from(sorted(target)) | st.sampled_from(FIELDS) if target else st.sampled_from(FIELDS))
        if draw(st.integers(0, 4)) == 0:
            target.pop(name, None)
        else:
            target[name] = draw(JSON_VALUES)
    return document


class Moment:
    """A time as received. The one difference allowed: digits past the microsecond, which no producer
    of ours writes, msgspec rounds and pydantic cuts off."""

    def __init__(self, value: datetime) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Moment) and self.value.utcoffset() == other.value.utcoffset()
                and abs(self.value - other.value) <= timedelta(microseconds=1))

    def __repr__(self) -> str:
        return f"Moment({self.value.isoformat()})"


def typed(value: Any) -> Any:
    """A value with its type spelled out, so True and 1, or a naive and an aware time, never compare equal."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [typed(item) for item in value]
    if isinstance(value, datetime):
        return Moment(value)
    if isinstance(value, (date, uuid.UUID)):
        return type(value).__name__, str(value)
    return type(value).__name__, value


def received_values(envelope: Any) -> Any:
    return typed({**msgspec.structs.asdict(envelope), "event_type": envelope.event_type,
                  "data": msgspec.structs.asdict(envelope.data)})


def test_event_ids_of_a_batch_are_distinct_random_uuid4s() -> None:
    ids = new_event_ids(1000)
    assert len(set(ids)) == 1000
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}
    assert new_event_ids(0) == []


def test_events_written_together_are_each_what_new_event_makes_with_one_time_and_their_own_ids() -> None:
    queued = ScreeningQueued(state="RJ", status="deferred", reason="election window")
    erased = ApplicationErased(erased_at=AT)
    about = [(uuid.uuid4(), queued), (uuid.uuid4(), erased), (str(uuid.uuid4()), queued)]
    events = new_events("screening", about, occurred_at=AT)
    assert len({e.event_id for e in events}) == 3 and {e.event_id.version for e in events} == {4}
    for event, (application_id, data) in zip(events, about):
        alone = new_event("screening", application_id, data, occurred_at=AT)
        assert event.model_dump(exclude={"event_id"}) == alone.model_dump(exclude={"event_id"})
    assert events[0].data == events[2].data and events[0].data is not events[2].data  # each event its own dict
    assert len({e.occurred_at for e in new_events("screening", about)}) == 1  # now, once for all
    assert new_events("screening", []) == []


def test_each_event_as_written_is_received_with_its_values_and_topic() -> None:
    for document in DOCUMENTS:
        envelope, data = parse_event(json.dumps(document).encode())
        assert (envelope.event_type, envelope.topic) == (document["event_type"], EVENTS[document["event_type"]][0])
        assert received_values(envelope) == typed(_JUDGE.validate_json(json.dumps(document)).model_dump())
        assert data is envelope.data


def assert_received_as_the_models_judge(raw: bytes) -> None:
    """msgspec decodes what consumers receive; the pydantic models are the contract. Whatever msgspec
    accepts the models must accept with the same values, and parse_event takes anything the models
    accept (through them, when msgspec is stricter) and refuses what they refuse."""
    try:
        fast = _DECODER.decode(raw)
    except msgspec.MsgspecError:
        fast = None
    try:
        judged = typed(_JUDGE.validate_json(raw).model_dump())
    except ValidationError:
        judged = None
    if fast is not None:
        assert judged is not None, raw
        assert received_values(fast) == judged, raw
    try:
        envelope, _ = parse_event(raw)
    except InvalidEvent:
        assert fast is None
        return
    assert judged is not None and received_values(envelope) == judged, raw


SWEEP_VALUES = [None, True, False, 0, -1, 1, 25, 100, 101, 2**31, 2**63, 2**64, 25.0, 25.5, [], {}, ["hi"],
                {"a": "b"}, {"a": 1}, *EDGES]


def test_every_field_set_to_each_edge_value_or_left_out_is_received_as_the_models_judge() -> None:
    for document in DOCUMENTS:
        for in_data in (False, True):
            for name in [*(document["data"] if in_data else document), "unexpected"]:
                for value in [*SWEEP_VALUES, "left out"]:
                    changed = {**document, "data": dict(document["data"])}
                    target = changed["data"] if in_data else changed
                    if value == "left out":
                        target.pop(name, None)
                    else:
                        target[name] = value
                    assert_received_as_the_models_judge(json.dumps(changed).encode())


@settings(max_examples=500, deadline=None)
@given(mutated_documents())
def test_any_few_changes_to_an_event_are_received_as_the_models_judge(document) -> None:
    assert_received_as_the_models_judge(json.dumps(document).encode())


TEXTS = st.text() | st.sampled_from(["सुनीता", "\"quoted\" \\ back", "tab\tline\nend", "\u2028\u2029", "😀",
                                     "</script>"])
MOMENTS = st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)),
                                                  timezone(timedelta(hours=-3))]))


@st.composite
def written_events(draw) -> Any:
    """An event of any type as a producer writes it, its text and times anything the models take."""
    document = json.loads(json.dumps(draw(st.sampled_from(DOCUMENTS))))
    for name, value in list(document["data"].items()):
        if isinstance(value, str) and name not in ("state", "status", "outcome", "level", "previous_level",
                                                   "reason") and not value[:4].isdigit():
            document["data"][name] = draw(TEXTS)
        elif isinstance(value, int) and not isinstance(value, bool) and draw(st.booleans()):
            document["data"][name] = draw(st.integers(0, 100))
    document["occurred_at"] = draw(MOMENTS).isoformat()
    document["producer"] = draw(TEXTS)
    model = EVENTS[document["event_type"]][1]
    return new_event(document["producer"], document["application_id"], model.model_validate(document["data"]),
                     occurred_at=datetime.fromisoformat(document["occurred_at"]))


@given(written_events())
def test_an_event_is_written_as_pydantic_writes_it(event) -> None:
    assert event.to_json() == event.model_dump_json()
