"""The applications rows a bulk batch hands PostgreSQL in COPY's text format (store.applications_copy_text)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from services.intake.store import COLUMNS, applications_copy_text

AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=timezone.utc)
_ESCAPED = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def read_copy_text(text: bytes) -> list[list[str | None]]:
    """What PostgreSQL reads from COPY's text format: rows by newline, columns by tab, \\N a NULL, the
    rest unescaped (only the escapes the writer makes)."""
    assert text.endswith(b"\n") or not text
    return [[None if field == "\\N" else re.sub(r"\\[\\tnr]", lambda m: _ESCAPED[m.group()], field)
             for field in line.split("\t")] for line in text.decode().split("\n")[:-1]]


def row(number: int, full_name: str, email: str | None, block: str | None, details: str, source: str | None):
    return (number, "5b2e4c1e-7a0b-4c5d-8e9f-0a1b2c3d4e5f", "0f9e8d7c-6b5a-4c3d-9e1f-2a3b4c5d6e7f", "ab" * 32,
            "+919000000001", full_name, email, "RJ", "Jaipur", block, 30, details, source, AT, '{"event": 1}')


def test_each_row_is_a_line_of_the_applications_columns_in_order() -> None:
    text = applications_copy_text([row(1, "Asha Meena", None, "Sanganer", '{"skills":["a"]}', "web"),
                                   row(2, "रवि", "r@example.com", None, "{}", None)])
    first, second = read_copy_text(text)
    assert len(first) == len(COLUMNS)
    assert dict(zip(COLUMNS, first)) == {
        "application_id": "5b2e4c1e-7a0b-4c5d-8e9f-0a1b2c3d4e5f", "phone_hash": "ab" * 32, "phone": "+919000000001",
        "full_name": "Asha Meena", "email": None, "state": "RJ", "district": "Jaipur", "block": "Sanganer", "age": "30",
        "details": '{"skills":["a"]}', "source": "web", "submitted_at": "2026-03-01T12:30:05.123456+00:00",
        "submitted_event_id": "0f9e8d7c-6b5a-4c3d-9e1f-2a3b4c5d6e7f"}
    assert (second[3], second[4], second[7], second[10]) == ("रवि", "r@example.com", None, None)
    assert applications_copy_text([]) == b""


@example([("a\\N", "\\N", None, '{"social":{"x":"a\\"b\\\\c"}}', "tab\there\nline\r")])
@given(st.lists(st.tuples(st.text(min_size=1), st.none() | st.text(), st.none() | st.text(), st.text(),
                          st.none() | st.text()), max_size=5))
def test_any_text_comes_back_as_it_went_in(values) -> None:
    # Validation refuses control characters in most fields, but JSON escapes (a backslash) and a NULL
    # written as the text "\N" must survive too.
    rows = [row(n, *fields) for n, fields in enumerate(values, 1)]
    read = read_copy_text(applications_copy_text(rows))
    assert [(r[3], r[4], r[7], r[9], r[10]) for r in read] == list(values)
