"""Event contracts: the one envelope, one pydantic model per event, and the topic names (SPEC "Events")."""

from __future__ import annotations

import os
import types
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

import annotated_types
import msgspec
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

APPLICATIONS_SUBMITTED = "applications.submitted"
APPLICATIONS_ERASED = "applications.erased"
SCREENING_QUEUED = "screening.queued"
SCREENING_INTERVIEW_SCHEDULED = "screening.interview-scheduled"
SCREENING_COMPLETED = "screening.completed"
PLACEMENT_CHANGED = "placement.changed"

TOPICS = (
    APPLICATIONS_SUBMITTED,
    APPLICATIONS_ERASED,
    SCREENING_QUEUED,
    SCREENING_INTERVIEW_SCHEDULED,
    SCREENING_COMPLETED,
    PLACEMENT_CHANGED,
)

# Who consumes what (SPEC's service table); the consumer group and inbox name is the service's.
# Each service subscribes with its entry, and a replay into a fresh broker sends again only the
# events one of these consumers has not applied (shared.outbox.queue_unapplied).
CONSUMED_TOPICS: dict[str, tuple[str, ...]] = {
    # intake learns which cases ended, and when, for the retention purge (SPEC "Operations"; intake's README).
    "intake": (SCREENING_COMPLETED,),
    "screening": (APPLICATIONS_SUBMITTED, APPLICATIONS_ERASED),
    "placement": (SCREENING_COMPLETED, APPLICATIONS_ERASED),
    "reporting": TOPICS,
}


# The vocabulary events carry, one place each.
SKILLS: tuple[str, ...] = ("content_writing", "graphic_design", "video_editing", "fact_checking", "data_analysis",
                           "translation", "rapid_response")
# The five interview criteria of screening.completed's rubric, each an integer RUBRIC_MIN..RUBRIC_MAX.
RUBRIC: tuple[str, ...] = ("communication", "content_creation", "social_media_reach", "political_awareness",
                           "commitment")
RUBRIC_MIN, RUBRIC_MAX = 0, 10
# Where a candidate sits (placement.changed): a unit of one of the three unit levels, the waitlist, or nowhere.
UnitLevel = Literal["state", "district", "block"]
Level = Literal["state", "district", "block", "waitlist", "none"]


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApplicationSubmitted(EventData):
    full_name: str
    phone: str
    email: str | None = None
    state: str
    district: str
    block: str | None = None
    age: int
    languages: list[str] = []
    skills: list[str] = []
    social: dict[str, str] = {}
    followers: int | None = None
    hours_per_week: int | None = None
    consent: bool = True
    source: str | None = None
    submitted_at: datetime


class ApplicationErased(EventData):
    erased_at: datetime
    # Why: the applicant's or an admin's request, or the retention purge (SPEC "Operations"). Events
    # written before the field existed were all requests.
    reason: Literal["request", "retention"] = "request"


class ScreeningQueued(EventData):
    state: str
    status: Literal["queued", "deferred"]
    reason: str


class InterviewScheduled(EventData):
    state: str
    interview_at: datetime
    interviewer: str | None = None


class ScreeningCompleted(EventData):
    state: str
    district: str
    block: str | None = None
    outcome: Literal["selected", "rejected", "no_show"]
    score: int | None = Field(None, ge=0, le=100)
    rubric: dict[str, int] | None = None
    interviewer: str | None = None
    submitted_at: datetime


class PlacementChanged(EventData):
    state: str
    level: Level
    unit_id: str | None = None
    previous_level: Level
    previous_unit_id: str | None = None
    score: int | None = None
    reason: str


# event_type -> (topic, data model); the event_type names the fact, the topic the stream it lives in.
EVENTS: dict[str, tuple[str, type[EventData]]] = {
    "application.submitted": (APPLICATIONS_SUBMITTED, ApplicationSubmitted),
    "application.erased": (APPLICATIONS_ERASED, ApplicationErased),
    "screening.queued": (SCREENING_QUEUED, ScreeningQueued),
    "screening.interview-scheduled": (SCREENING_INTERVIEW_SCHEDULED, InterviewScheduled),
    "screening.completed": (SCREENING_COMPLETED, ScreeningCompleted),
    "placement.changed": (PLACEMENT_CHANGED, PlacementChanged),
}
EVENT_TYPE_OF: dict[type[EventData], str] = {model: name for name, (_, model) in EVENTS.items()}


class EnvelopeHead(BaseModel):
    """SPEC's envelope, all but its data: what a consumer reads of every event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    event_type: str
    schema_version: Literal[1] = 1
    occurred_at: datetime
    producer: str
    application_id: uuid.UUID

    @property
    def topic(self) -> str:
        return EVENTS[self.event_type][0]


class Envelope(EnvelopeHead):
    """An event as a producer writes it: `data` is the JSON form of its event's model."""

    data: dict[str, Any]

    def payload(self) -> EventData:
        return EVENTS[self.event_type][1].model_validate(self.data)

    def kafka_key(self) -> str:
        # screening.completed is keyed by state so one partition sees a state's results in order
        # (SPEC); every other event by the application it is about.
        if self.event_type == "screening.completed":
            return str(self.data["state"])
        return str(self.application_id)

    def to_json(self) -> str:
        """What model_dump_json writes (the fields in their order, compact, non-ASCII as it is, a UTC time
        with Z), written by msgspec, several times faster: every event a producer writes passes here.
        tests/unit/shared/test_events.py holds the two to the same bytes."""
        return _ENVELOPE_ENCODER.encode(self.__dict__).decode()


_ENVELOPE_ENCODER = msgspec.json.Encoder()


# --- Receiving -------------------------------------------------------------------------------------
# Every consumer decodes every event it receives, so decoding is on the hot path of the pipeline.
# The models above stay the one definition of each event; what a consumer is handed is their
# received form: a frozen msgspec struct per model with the same fields, types and constraints,
# generated from the model (a field type the generator does not know stops the import), with the
# envelope's fields beside `data`. msgspec checks the contract in one pass without building
# pydantic models, which cost most of the time. A message msgspec refuses is judged again by
# pydantic: pydantic names the fields at fault (the dead-letter reason) and decides what passes, so
# a lax form msgspec is stricter about (a number sent as a string, say) is still accepted as before.
# tests/unit/shared/test_events.py holds the two to the same verdicts and values; the one difference
# is a time with digits past the microsecond, which no producer of ours writes: msgspec rounds them,
# pydantic cuts them off.

_PLAIN_TYPES = (str, int, bool, datetime, uuid.UUID)


def _received_type(annotation: Any, metadata: Sequence[Any], where: str) -> Any:
    """`annotation` as msgspec should check it: the same type, with pydantic's ge/le as msgspec.Meta."""
    bounds = {}
    for item in metadata:
        if isinstance(item, (annotated_types.Ge, annotated_types.Le)):
            bounds.update({"ge": item.ge} if isinstance(item, annotated_types.Ge) else {"le": item.le})
        else:
            raise TypeError(f"{where}: no received form for the constraint {item!r}")
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        return Optional[_received_type(inner, metadata, where)]
    if annotation in _PLAIN_TYPES or origin is Literal or (
            origin in (list, dict) and all(arg in _PLAIN_TYPES for arg in args)):
        return Annotated[annotation, msgspec.Meta(**bounds)] if bounds else annotation
    raise TypeError(f"{where}: no received form for {annotation!r}")


def _received_fields(model: type[BaseModel], leave_out: Sequence[str] = ()) -> list[tuple]:
    fields: list[tuple] = []
    for name, info in model.model_fields.items():
        if name in leave_out:
            continue
        field_type = _received_type(info.annotation, info.metadata, f"{model.__name__}.{name}")
        fields.append((name, field_type) if info.is_required() else
                      (name, field_type, info.get_default(call_default_factory=True)))
    return fields


def _received_envelope(event_type: str, model: type[EventData]) -> type[msgspec.Struct]:
    """One event type's envelope as received: EnvelopeHead's fields and its data's struct; event_type
    is the tag msgspec tells the types apart by, and `event_type` and `topic` are class attributes."""
    data = msgspec.defstruct(f"Received{model.__name__}", _received_fields(model),
                             frozen=True, forbid_unknown_fields=True, kw_only=True)
    return msgspec.defstruct(
        f"Received{model.__name__}Envelope",
        [*_received_fields(EnvelopeHead, leave_out=("event_type",)), ("data", data)],
        tag_field="event_type", tag=event_type, frozen=True, forbid_unknown_fields=True, kw_only=True,
        namespace={"event_type": event_type, "topic": EVENTS[event_type][0], "__module__": __name__},
    )


RECEIVED_ENVELOPES: dict[str, type[msgspec.Struct]] = {
    event_type: _received_envelope(event_type, model) for event_type, (_, model) in EVENTS.items()}
_DECODER = msgspec.json.Decoder(Union[tuple(RECEIVED_ENVELOPES.values())])

# The same contract as pydantic checks it (envelope and data in one pass, the event types told apart
# by event_type): the judge of a message msgspec refused.
_JUDGE: TypeAdapter = TypeAdapter(Annotated[
    Union[tuple(create_model(f"Judged{model.__name__}", __base__=EnvelopeHead,
                             event_type=(Literal[event_type], ...), data=(model, ...))
                for event_type, (_, model) in EVENTS.items())],
    Field(discriminator="event_type"),
])

# What consumers are handed: (envelope, data), where the envelope has EnvelopeHead's fields, `topic`
# and `data`, and the data its event model's fields: the received form from parse_event, or, in
# tests that call a use case directly, an Envelope and its payload().
Event = tuple[Any, Any]


def runs_by_type(events: Sequence[Event]) -> Iterator[tuple[type[EventData], list[Event]]]:
    """The events in delivery order, cut into runs of one event type, each with its event model: the
    one way a consumer dispatches a batch (a run goes to the use case of its type, runs in order, so an
    event never overtakes an earlier one of another type)."""
    run: list[Event] = []
    for event in events:
        if run and event[0].event_type != run[0][0].event_type:
            yield EVENTS[run[0][0].event_type][1], run
            run = []
        run.append(event)
    if run:
        yield EVENTS[run[0][0].event_type][1], run


class InvalidEvent(ValueError):
    """A message that is not a valid envelope of a known event: it belongs in the dead-letter topic."""


def new_event(producer: str, application_id: uuid.UUID | str, data: EventData,
              occurred_at: datetime | None = None) -> Envelope:
    """A new event of `data`'s type."""
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=EVENT_TYPE_OF[type(data)],
        occurred_at=occurred_at or datetime.now(timezone.utc),
        producer=producer,
        application_id=application_id,  # a UUID, or its text: the model parses it
        data=data.model_dump(mode="json"),
    )


def new_events(producer: str, about: Sequence[tuple[uuid.UUID | str, EventData]],
               occurred_at: datetime | None = None) -> list[Envelope]:
    """new_event for each (application id, data) a use case writes together: one time for all, the ids from
    one new_event_ids call, and a data object several events share (a state's screening.queued in a
    batch) turned into JSON values once rather than per event."""
    occurred_at = occurred_at or datetime.now(timezone.utc)
    values: dict[int, dict[str, Any]] = {}  # by id(): `about` holds every data object until the end
    events = []
    for (application_id, data), event_id in zip(about, new_event_ids(len(about))):
        if id(data) not in values:
            values[id(data)] = data.model_dump(mode="json")
        events.append(Envelope(event_id=event_id, event_type=EVENT_TYPE_OF[type(data)], occurred_at=occurred_at,
                               producer=producer, application_id=application_id, data=values[id(data)]))
    return events


def new_event_ids(count: int) -> list[uuid.UUID]:
    """`count` random (version 4) event ids from one os.urandom call, for a producer writing a batch of
    events: uuid4() makes a system call per id, one call a batch is enough."""
    random = os.urandom(16 * count)
    return [uuid.UUID(bytes=random[i:i + 16], version=4) for i in range(0, 16 * count, 16)]


def parse_event(raw: bytes | str | None) -> Event:
    """Decode and validate one message value into its received form; raises InvalidEvent with a
    readable reason that names the fields at fault and never their values (the reason travels in
    dead-letter headers and logs)."""
    try:
        received = _DECODER.decode(raw or b"")
    except msgspec.MsgspecError:
        received = _judged(raw)
    return received, received.data


def _judged(raw: bytes | str | None) -> Any:
    """The received form of a message msgspec refused, if pydantic accepts it; InvalidEvent if not."""
    try:
        judged = _JUDGE.validate_json(raw or b"")
    except ValidationError as error:
        raise InvalidEvent(_reason(error)) from error
    try:
        return msgspec.convert(judged.model_dump(), RECEIVED_ENVELOPES[judged.event_type])
    except msgspec.ValidationError as error:  # a value pydantic takes and msgspec cannot hold, say an int over 64 bits
        raise InvalidEvent(f"not a valid {judged.event_type} envelope: {error}") from error


def _reason(error: ValidationError) -> str:
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    if any(problem["type"] == "union_tag_invalid" for problem in problems):
        return "unknown event_type"
    # A problem inside one event type's model is located under that type's tag: name it once.
    tags = {problem["loc"][0] for problem in problems if problem["loc"] and problem["loc"][0] in EVENTS}
    where = f"not a valid {tags.pop()} envelope" if len(tags) == 1 else "not a valid envelope"
    return where + ": " + "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'] if part not in EVENTS) or 'value'}: {problem['msg']}"
        for problem in problems)
