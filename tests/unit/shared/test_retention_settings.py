"""Retention's contracts in the library: an old application.erased (no reason) is a request; the outbox is never
trimmed inside the replay window; `recruit purge --older-than` reads days."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared.events import parse_event
from shared.runtime.operations import days_of
from shared.settings import Settings


def test_an_erasure_event_written_before_reasons_existed_is_a_request() -> None:
    old = {"event_id": "6f1c1f7e-93c4-4a43-9d1c-3a3b8bb8e0f1", "event_type": "application.erased",
           "schema_version": 1, "occurred_at": "2026-01-01T00:00:00Z", "producer": "intake",
           "application_id": "0b0f5d1e-6a8e-4c57-9a53-4a3c1f0f7a11", "data": {"erased_at": "2026-01-01T00:00:00Z"}}
    assert parse_event(json.dumps(old))[1].reason == "request"
    with pytest.raises(ValueError):
        parse_event(json.dumps({**old, "data": {**old["data"], "reason": "whim"}}))


def test_the_outbox_is_kept_whole_at_least_as_long_as_the_inbox_window() -> None:
    assert Settings().outbox_retention_days == 7
    assert Settings(outbox_retention_days=10, inbox_retention_days=7).outbox_retention_days == 10
    with pytest.raises(ValidationError, match="OUTBOX_RETENTION_DAYS"):
        Settings(outbox_retention_days=3, inbox_retention_days=7)
    with pytest.raises(ValidationError):
        Settings(purge_after_days=0)


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("90", 90), (" 0d ", 0), ("365d", 365)])
def test_older_than_reads_days(text: str, days: int) -> None:
    assert days_of(text) == days


@pytest.mark.parametrize("text", ["90h", "-1d", "d", "", "3 months"])
def test_older_than_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        days_of(text)
