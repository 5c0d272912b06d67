"""Intake's ids: application ids in time order (version 7), event ids at random (version 4), as the stores and
the events take them."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain.ids import application_id, uuid4_strings, uuid7_strings

AT = datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=timezone.utc)


def test_uuid4_strings_are_random_version_4_uuids() -> None:
    ids = uuid4_strings(os.urandom(16 * 1000))
    assert len(set(ids)) == 1000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_uuid4_strings_are_what_uuid_makes_of_the_same_bytes() -> None:
    random = os.urandom(16 * 50)
    assert uuid4_strings(random) == [str(uuid.UUID(bytes=random[i:i + 16], version=4)) for i in range(0, 800, 16)]


def test_uuid7_strings_are_version_7_uuids_carrying_the_millisecond() -> None:
    ids = uuid7_strings(os.urandom(16 * 1000), AT)
    assert len(set(ids)) == 1000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert int.from_bytes(parsed.bytes[:6], "big") == int(AT.timestamp() * 1000)


def test_uuid7_strings_keep_every_random_bit_but_the_version_and_variant() -> None:
    random = os.urandom(16 * 50)
    for i, text in enumerate(uuid7_strings(random, AT)):
        made, given_bytes = uuid.UUID(text).bytes, random[16 * i:16 * i + 16]
        assert made[6] & 0x0F == given_bytes[6] & 0x0F and made[7] == given_bytes[7]
        assert made[8] & 0x3F == given_bytes[8] & 0x3F and made[9:] == given_bytes[9:]


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)),
       st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(days=3650)))
def test_a_later_millisecond_always_sorts_after_as_text_bytes_and_uuid(at: datetime, later: timedelta) -> None:
    """What keeps the indexes' inserts together: PostgreSQL orders uuids by their bytes, and text keys (the
    outbox's Kafka key) by their characters; a later id sorts after an earlier one both ways."""
    earlier_id, later_id = application_id(at, os.urandom(16)), application_id(at + later, os.urandom(16))
    if int((at + later).timestamp() * 1000) > int(at.timestamp() * 1000):
        assert earlier_id < later_id and earlier_id.bytes < later_id.bytes and str(earlier_id) < str(later_id)


def test_application_id_is_one_version_7_uuid_of_its_time() -> None:
    made = application_id(AT, bytes(range(16)))
    assert made.version == 7 and made == uuid.UUID(uuid7_strings(bytes(range(16)), AT)[0])


@pytest.mark.parametrize("size", [1, 15, 17, 33])
def test_random_bytes_must_come_sixteen_to_an_id(size: int) -> None:
    with pytest.raises(ValueError):
        uuid7_strings(os.urandom(size), AT)
    with pytest.raises(ValueError):
        uuid4_strings(os.urandom(size))
