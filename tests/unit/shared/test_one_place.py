"""The meanings every service shares, each in one place: the typed dispatch of a consumer batch,
Indian days, the 422 body and the state a request names, the scope check."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi import HTTPException
from hypothesis import given
from hypothesis import strategies as st

from shared.auth import Staff, parse_staff_tokens, require_scope
from shared.errors import field_errors, invalid, state_code
from shared.events import EVENT_TYPE_OF, ApplicationErased, ScreeningQueued, new_event, parse_event, runs_by_type
from shared.india_time import local_date

AT = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _event(kind: str):
    data = ApplicationErased(erased_at=AT) if kind == "e" else ScreeningQueued(state="RJ", status="queued", reason="x")
    envelope = new_event("test", uuid.uuid4(), data)
    return envelope, data


@given(st.lists(st.sampled_from("eq"), max_size=30))
def test_runs_by_type_keeps_delivery_order_and_cuts_at_each_change_of_type(kinds: list[str]) -> None:
    made = [_event(kind) for kind in kinds]
    # as a test hands them to a use case, and as a consumer receives them
    for events in (made, [parse_event(envelope.to_json()) for envelope, _ in made]):
        runs = list(runs_by_type(events))
        assert [event for _, run in runs for event in run] == events
        for model, run in runs:
            assert run and all(envelope.event_type == EVENT_TYPE_OF[model] for envelope, _ in run)
        assert all(a[0] is not b[0] for a, b in zip(runs, runs[1:])), "two runs in a row of one type"


def test_an_indian_day_starts_at_1830_utc() -> None:
    assert local_date(datetime(2026, 3, 1, 18, 29, tzinfo=timezone.utc)) == date(2026, 3, 1)
    assert local_date(datetime(2026, 3, 1, 18, 30, tzinfo=timezone.utc)) == date(2026, 3, 2)
    assert local_date(datetime(2026, 3, 1, 18, 30)) == date(2026, 3, 2), "naive instants are UTC"
    assert local_date(datetime(2026, 3, 2, 0, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == date(2026, 3, 2)


@pytest.mark.parametrize("text", ["RJ", "rj", "Rajasthan", "राजस्थान", " rajasthan "])
def test_a_state_is_named_by_code_or_name(text: str) -> None:
    assert state_code(text) == "RJ"


@pytest.mark.parametrize("text", ["XX", "", "Atlantis", "R"])
def test_anything_else_is_a_422_on_the_field_it_came_in(text: str) -> None:
    with pytest.raises(HTTPException) as raised:
        state_code(text, field="code")
    assert raised.value.status_code == 422
    assert [entry["field"] for entry in raised.value.detail] == ["code"]


def test_the_422_body_has_one_field_and_message_per_error() -> None:
    assert invalid("cursor", "not a cursor").detail == [{"field": "cursor", "message": "not a cursor"}]
    errors = [{"loc": ("body", "scores", "commitment"), "msg": "too big"}, {"loc": ("body",), "msg": "missing"}]
    assert field_errors(errors) == [{"field": "scores.commitment", "message": "too big"},
                                    {"field": "body", "message": "missing"}]


def test_scope_an_interviewer_acts_only_in_their_states_an_admin_everywhere() -> None:
    tokens = parse_staff_tokens("a:admin,i:interviewer:RJ|up,any:interviewer")
    rj, admin, unscoped = tokens["i"], tokens["a"], tokens["any"]
    require_scope(rj, "RJ")
    require_scope(rj, "UP")
    with pytest.raises(HTTPException) as raised:
        require_scope(rj, "MH")
    assert raised.value.status_code == 403
    require_scope(admin, "MH")
    require_scope(unscoped, "MH")
    assert rj.visible_states() == ["RJ", "UP"]
    assert admin.visible_states() is None and unscoped.visible_states() is None
    assert Staff("interviewer", frozenset({"RJ"})).may_act_in("UP") is False


def test_a_dead_letter_reason_names_the_bad_fields_never_their_values() -> None:
    from shared.events import ApplicationSubmitted, InvalidEvent, parse_event

    envelope = new_event("intake", uuid.uuid4(), ApplicationSubmitted(
        full_name="Zoya Qureshi", phone="+919314159265", state="RJ", district="Jaipur", age=29, submitted_at=AT))
    document = envelope.model_dump(mode="json")
    document["data"]["age"] = "Zoya Qureshi +919314159265"
    document["data"]["phone"] = ["+919314159265"]
    with pytest.raises(InvalidEvent) as raised:
        parse_event(json.dumps(document))
    reason = str(raised.value)
    assert "age" in reason and "phone" in reason
    assert "Zoya" not in reason and "9314159265" not in reason
    with pytest.raises(InvalidEvent) as raised:
        parse_event(json.dumps({**document, "event_id": "not-a-uuid"}))
    assert "event_id" in str(raised.value) and "not-a-uuid" not in str(raised.value)
