"""The bulk reader: CSV and NDJSON rows, numbered, whatever the chunking of the body."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain import bulk
from services.intake.domain.bulk import (
    DETAILS,
    BulkReader,
    BulkRejected,
    prepare_rows,
    read_record,
)
from services.intake.domain.validation import FieldError
from shared.events import parse_event
from shared.phone import phone_hash

HEADER = "full_name,phone,state,district,age,consent,skills\r\n"


def read(fmt: str, body: bytes, cuts: list[int] | None = None) -> list:
    """(row, raw mapping or FieldError) for every record, the body fed in pieces cut at `cuts`."""
    reader, records, start = BulkReader(fmt), [], 0
    for cut in sorted(cuts or []):
        records += reader.feed(body[start:cut])
        start = cut
    records += reader.feed(body[start:])
    records += reader.close()
    return [(row, read_record(fmt, reader.header, record)) for row, record in records]


def test_csv_rows_are_numbered_from_one_after_the_header() -> None:
    body = ("\ufeff" + HEADER + 'Asha,98290 12345,RJ,Jaipur,24,true,"translation, video_editing"\r\n'
            "\r\n"  # a blank line is skipped and not numbered
            'Ravi,"+91 70000 11111",UP,"Lucknow\nCity",31,yes,\r\n').encode()
    rows = read("csv", body)
    assert [n for n, _ in rows] == [1, 2]
    assert rows[0][1]["skills"] == "translation, video_editing" and rows[0][1]["full_name"] == "Asha"
    assert rows[1][1]["district"] == "Lucknow\nCity"  # a quoted value may span lines


def test_csv_header_names_are_trimmed_and_case_folded_and_need_the_required_columns() -> None:
    rows = read("csv", b" Full_Name ,PHONE,state,district,age,consent\nA,1,RJ,J,20,true\n")
    assert rows[0][1]["full_name"] == "A"
    with pytest.raises(BulkRejected) as refused:
        read("csv", b"name,phone\nA,1\n")
    assert refused.value.status == 422 and "full_name" in refused.value.detail
    with pytest.raises(BulkRejected):
        read("csv", b"")


def test_unreadable_rows_are_row_errors_not_failures() -> None:
    body = (HEADER + 'A,1,RJ,J,20,true,x,surplus\n' + 'B,2,RJ,J,20,true,,\n' + 'C,3,"RJ,J,20,true\n').encode()
    rows = read("csv", body)
    assert rows[0] == (1, FieldError("_root", "too_many_values", {"got": 8, "columns": 7}))
    assert rows[1][1]["full_name"] == "B"  # empty trailing values are not "too many"
    assert rows[2] == (3, FieldError("_root", "invalid_csv"))  # an unterminated quote at the end


def test_ndjson_rows_and_their_errors() -> None:
    body = b'{"full_name": "A"}\n\n[1]\nnot json\n{"full_name": "\xe0\xa4\x86"}'
    rows = read("ndjson", body)
    assert rows == [(1, {"full_name": "A"}), (2, FieldError("_root", "type", {"expected": "object"})),
                    (3, FieldError("_root", "invalid_json")), (4, {"full_name": "आ"})]


def test_too_many_rows_or_too_long_a_row_refuses_the_body() -> None:
    reader = BulkReader("ndjson")
    with pytest.raises(BulkRejected) as refused:
        reader.feed(b"{}\n" * (bulk.BULK_MAX_ROWS + 1))
    assert refused.value.status == 413
    assert len(BulkReader("ndjson").feed(b"{}\n" * bulk.BULK_MAX_ROWS)) == bulk.BULK_MAX_ROWS
    with pytest.raises(BulkRejected) as refused:
        BulkReader("ndjson").feed(b"x" * (bulk.BULK_MAX_ROW_CHARS + 10))
    assert refused.value.status == 413
    with pytest.raises(BulkRejected) as refused:
        BulkReader("csv").feed(HEADER.encode() + b'"' + b"x\n" * 40_000)  # 80,000 characters
    assert refused.value.status == 413


def test_bytes_that_are_not_utf8_refuse_the_body() -> None:
    with pytest.raises(BulkRejected) as refused:
        read("csv", HEADER.encode() + b"\xff\xfe,1,RJ,J,20,true,\n")
    assert refused.value.status == 422


cell = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=7, max_size=7), max_size=8), data=st.data())
def test_any_chunking_of_any_csv_gives_the_rows_the_csv_module_reads(rows, data) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER.strip().split(","))
    writer.writerows(rows)
    body = buffer.getvalue().encode()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=6))
    header = HEADER.strip().split(",")
    # what the csv module wrote, read back (a line break inside a value is read as \n)
    expected = [dict(zip(header, [v.replace("\r\n", "\n") for v in row])) for row in rows]
    assert read("csv", body, cuts) == list(enumerate(expected, start=1))


# What shared.json_input accepts: no NUL, no lone surrogate (those rows are refused, as test_json_input shows).
storable = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8)


@settings(max_examples=100, deadline=None)
@given(objects=st.lists(st.dictionaries(storable, storable, max_size=3), max_size=10),
       data=st.data())
def test_any_chunking_of_ndjson_gives_the_same_rows(objects, data) -> None:
    body = "\n".join(json.dumps(o, ensure_ascii=False) for o in objects).encode()
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=6))
    assert read("ndjson", body, cuts) == list(enumerate(objects, start=1))


def test_prepare_rows_gives_valid_rows_events_and_the_rest_messages() -> None:
    reader = BulkReader("csv")
    records = reader.feed((HEADER + "Asha Meena,98290 12345,Rajasthan,jaipur,24,true,translation\n"
                           "X,12,Atlantis,J,17,no,\n").encode()) + reader.close()
    at = datetime(2026, 3, 1, 10, 30, 0, 123456, tzinfo=timezone.utc)
    prepared = prepare_rows("csv", reader.header, records, "partner", b"key", random=os.urandom(64), submitted_at=at)
    [(row, application_id, event_id, hashed, phone, full_name, email, state, district, block, age, details, source,
      submitted_at, event_json)] = prepared.accepted
    envelope, data = parse_event(event_json)
    assert row == 1 and hashed == phone_hash("+919829012345", b"key")
    # the staged columns are the event's values
    assert (application_id, event_id) == (str(envelope.application_id), str(envelope.event_id))
    assert (phone, full_name, email, state, district, block, age, source, submitted_at) == (
        data.phone, data.full_name, data.email, data.state, data.district, data.block, data.age, data.source,
        data.submitted_at)
    assert json.loads(details) == {name: getattr(data, name) for name in DETAILS}
    assert (data.phone, data.state, data.district, data.source, data.skills) == (
        "+919829012345", "RJ", "Jaipur", "partner", ["translation"])
    assert submitted_at == data.submitted_at == envelope.occurred_at == at
    [(bad_row, errors)] = prepared.rejected
    assert bad_row == 2
    assert [field for field, _, _ in errors] == ["full_name", "phone", "state", "district", "age", "consent"]


def test_prepare_rows_takes_its_ids_from_the_random_bytes_it_is_given() -> None:
    reader = BulkReader("ndjson")
    line = json.dumps({"full_name": "Asha", "phone": "9829012345", "state": "RJ", "district": "Jaipur", "age": 24,
                       "consent": True})
    records = reader.feed(f"{line}\n{{}}\n".encode()) + reader.close()
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    random = os.urandom(bulk.RANDOM_BYTES_PER_RECORD * len(records))
    first = prepare_rows("ndjson", None, records, "partner", b"key", random=random, submitted_at=at)
    again = prepare_rows("ndjson", None, records, "partner", b"key", random=random, submitted_at=at)
    assert first == again  # pure: the same input makes the same rows and events
    with pytest.raises(ValueError):
        prepare_rows("ndjson", None, records, "partner", b"key", random=random[:-1], submitted_at=at)
