"""Shared events: ids made for a batch of events."""

from __future__ import annotations

import uuid

from shared.events import new_event_ids


def test_event_ids_of_a_batch_are_distinct_random_uuid4s() -> None:
    ids = new_event_ids(1000)
    assert len(set(ids)) == 1000
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}
    assert new_event_ids(0) == []
