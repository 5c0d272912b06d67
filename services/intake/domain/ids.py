"""Intake domain, ids (pure): application ids in time order, event ids at random, as text from random bytes.

An application id is the primary key of a row in every service (intake's application, screening's case,
reporting's projection, placement's candidate), so each new one is inserted into four B-tree indexes. A
random id lands on a random leaf of each: as the tables grow past memory, every insert touches a page no
other recent insert did. A time-ordered id (version 7, RFC 9562) lands beside the ids made just before it,
so the inserts share a few pages at the right edge of each index. Its 74 random bits keep it unguessable;
the millisecond it carries is the submission time that the application.submitted event carries anyway.
Event ids stay random (version 4), as SPEC's envelope says.
"""

from __future__ import annotations

import uuid
from datetime import datetime

UUID_BYTES = 16


def application_id(at: datetime, random: bytes) -> uuid.UUID:
    """A new application's id (version 7) for the time `at`, from 16 random bytes."""
    return uuid.UUID(uuid7_strings(random, at)[0])


def uuid7_strings(random: bytes, at: datetime) -> list[str]:
    """Time-ordered (version 7) UUIDs as strings, one from each 16 bytes of `random` (``os.urandom``): the
    first 48 bits are `at` in Unix milliseconds, then the version, 12 random bits, the variant and 62 more."""
    return _strings(random, version=7, prefix=int(at.timestamp() * 1000).to_bytes(6, "big"))


def uuid4_strings(random: bytes) -> list[str]:
    """Random (version 4) UUIDs as strings, what ``str(uuid.uuid4())`` gives, one from each 16 bytes of
    ``random`` (``os.urandom``): uuid4() per row cost a bulk worker more than the event's JSON."""
    return _strings(random, version=4)


def _strings(random: bytes, version: int, prefix: bytes = b"") -> list[str]:
    """`random`, 16 bytes a UUID, each starting with `prefix`, with the version and RFC 9562 variant bits set,
    as hyphenated text."""
    if len(random) % UUID_BYTES:
        raise ValueError("random bytes come 16 to a UUID")
    data, count = bytearray(random), len(random) // UUID_BYTES
    for position, byte in enumerate(prefix):
        data[position::UUID_BYTES] = bytes((byte,)) * count
    data[6::UUID_BYTES] = bytes((b & 0x0F) | (version << 4) for b in data[6::UUID_BYTES])
    data[8::UUID_BYTES] = bytes((b & 0x3F) | 0x80 for b in data[8::UUID_BYTES])
    text = data.hex()
    return [f"{text[i:i + 8]}-{text[i + 8:i + 12]}-{text[i + 12:i + 16]}-{text[i + 16:i + 20]}-{text[i + 20:i + 32]}"
            for i in range(0, len(text), 32)]
