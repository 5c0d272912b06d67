"""Intake domain, bulk (pure): a bulk body read into numbered rows, rows prepared as columns and events, the summary."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Mapping

from services.intake.domain.events import compact_json, submitted_event_json
from services.intake.domain.ids import UUID_BYTES, uuid4_strings, uuid7_strings
from services.intake.domain.messages import message
from services.intake.domain.validation import ROOT, FieldError, application_values
from shared import json_input
from shared.phone import phone_hash

BULK_MAX_ROWS = 100_000
# No legitimate row comes near this; it bounds what one unterminated line can make us hold.
BULK_MAX_ROW_CHARS = 64 * 1024
# The counts are always exact; the list stops here so a broken file cannot make a huge response.
BULK_MAX_ERRORS = 1_000
BULK_FORMATS = {"text/csv": "csv", "application/x-ndjson": "ndjson"}
CSV_REQUIRED_COLUMNS = ("full_name", "phone", "state", "district", "age", "consent")

# (row number, the row's text: one CSV record or one NDJSON line)
BulkRecord = tuple[int, str]


class BulkRejected(Exception):
    """The whole bulk body is refused: 413 (too many rows, or a row too long) or 422 (unreadable)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class BulkReader:
    """Splits a bulk body, fed in chunks of any size, into numbered records (see :func:`read_record`).

    Records are numbered from 1 in file order; a CSV's header is not a record, and blank lines
    are skipped without a number. CSV (RFC 4180, UTF-8, an Excel BOM allowed) needs a header
    naming at least :data:`CSV_REQUIRED_COLUMNS`; a quoted value may span lines. NDJSON is one
    JSON object per line. Only the unfinished last line of a chunk is held between chunks, so
    memory does not grow with the file.
    """

    def __init__(self, fmt: Literal["csv", "ndjson"]) -> None:
        self.format = fmt
        self.header: tuple[str, ...] | None = None
        self.rows = 0
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._tail = ""
        self._open_record: list[str] = []  # lines of a CSV record inside a quoted value
        self._open_quotes = 0
        self._open_chars = 0

    def feed(self, chunk: bytes) -> list[BulkRecord]:
        return self._lines(self._decode(chunk, final=False), final=False)

    def close(self) -> list[BulkRecord]:
        records = self._lines(self._decode(b"", final=True), final=True)
        if self._open_record:  # an unterminated quote: read_record reports it for its row
            records += self._numbered(["\n".join(self._open_record)])
            self._open_record = []
        if self.format == "csv" and self.header is None:
            raise BulkRejected(422, "the CSV is empty: it needs a header row")
        return records

    def _decode(self, chunk: bytes, final: bool) -> str:
        try:
            return self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            raise BulkRejected(422, "the body is not UTF-8 text") from None

    def _lines(self, text: str, final: bool) -> list[BulkRecord]:
        lines = (self._tail + text).split("\n")
        self._tail = "" if final else lines.pop()
        if len(self._tail) > BULK_MAX_ROW_CHARS:
            raise BulkRejected(413, f"a row is longer than {BULK_MAX_ROW_CHARS} characters")
        if self.format == "ndjson":
            return self._numbered([line for line in lines if line.strip()])
        return self._numbered(self._csv_records(lines))

    def _csv_records(self, lines: list[str]) -> list[str]:
        records: list[str] = []
        for line in lines:
            line = line.removesuffix("\r")
            # A record is complete when its quotes balance ("" inside a value counts twice).
            quotes = line.count('"')
            if self._open_record:
                self._open_record.append(line)
                self._open_quotes += quotes
                self._open_chars += len(line) + 1
                if self._open_quotes % 2:
                    if self._open_chars > BULK_MAX_ROW_CHARS:
                        raise BulkRejected(413, f"a row is longer than {BULK_MAX_ROW_CHARS} characters")
                    continue
                line, self._open_record = "\n".join(self._open_record), []
            elif quotes % 2:
                self._open_record, self._open_quotes, self._open_chars = [line], quotes, len(line)
                continue
            if not line.strip():
                continue
            if self.header is None:
                self.header = _csv_header(line)
                continue
            records.append(line)
        return records

    def _numbered(self, records: list[str]) -> list[BulkRecord]:
        first = self.rows + 1
        self.rows += len(records)
        if self.rows > BULK_MAX_ROWS:
            raise BulkRejected(413, f"a bulk import takes at most {BULK_MAX_ROWS:,} rows")
        return list(zip(range(first, self.rows + 1), records))


def _csv_values(record: str) -> list[str] | None:
    try:
        return next(csv.reader((record,), strict=True))
    except (csv.Error, StopIteration):
        return None


def _csv_header(record: str) -> tuple[str, ...]:
    values = _csv_values(record)
    if values is None:
        raise BulkRejected(422, "the CSV header row is not valid CSV")
    header = tuple(name.strip().casefold() for name in values)
    missing = [column for column in CSV_REQUIRED_COLUMNS if column not in header]
    if missing:
        raise BulkRejected(422, "the CSV header lacks the columns: " + ", ".join(missing))
    return header


def read_record(fmt: str, header: tuple[str, ...] | None, record: str) -> Mapping[str, Any] | FieldError:
    """One record as a raw application, or the error of a record that cannot be read at all."""
    if fmt == "ndjson":
        try:
            value = json_input.loads(record)
        except ValueError:
            return FieldError(ROOT, "invalid_json")
        return value if isinstance(value, dict) else FieldError(ROOT, "type", {"expected": "object"})
    values = _csv_values(record)
    if values is None:
        return FieldError(ROOT, "invalid_csv")
    header = header or ()
    if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
        return FieldError(ROOT, "too_many_values", {"got": len(values), "columns": len(header)})
    return dict(zip(header, values))


# The application fields the applications table keeps together in its jsonb `details` column.
DETAILS = ("languages", "skills", "social", "followers", "hours_per_week")

# One accepted bulk row: its number, then the applications columns of store.BULK_COLUMNS
# (application_id, event_id, phone_hash, phone, full_name, email, state, district, block, age,
# details JSON, source, submitted_at) and the application.submitted event JSON, all made from
# the same validated values, so the stored row and the published event cannot differ.
PreparedRow = tuple[int, str, str, str, str, str, str | None, str, str, str | None, int, str, str | None,
                    datetime, str]


@dataclass
class PreparedRows:
    """What :func:`prepare_rows` makes of some records: plain values, cheap to pass between processes."""

    accepted: list[PreparedRow] = field(default_factory=list)
    # (row, [(field, code, params)]): codes, not words, as only the first BULK_MAX_ERRORS are ever
    # worded (BulkSummary.reject); tuples, as they cross to the event loop ten times faster than objects.
    rejected: list[tuple[int, list[tuple[str, str, dict[str, Any]]]]] = field(default_factory=list)


def prepare_rows(fmt: str, header: tuple[str, ...] | None, records: list[BulkRecord], source: str,
                 hash_key: bytes, *, random: bytes, submitted_at: datetime) -> PreparedRows:
    """Read, validate and turn valid records into their ``application.submitted`` events.

    The CPU-heavy part of a bulk import, so it can run in worker processes while the event loop
    stays free; whether a row is new or a duplicate is the database's to decide. ``random`` gives
    each record's application and event ids: :data:`RANDOM_BYTES_PER_RECORD` bytes a record (from one
    ``os.urandom`` call); ``submitted_at`` (UTC) is every accepted row's.
    """
    if len(random) < RANDOM_BYTES_PER_RECORD * len(records):
        raise ValueError(f"{RANDOM_BYTES_PER_RECORD} random bytes a record are needed")
    prepared = PreparedRows()
    half = UUID_BYTES * len(records)
    application_ids = iter(uuid7_strings(random[:half], submitted_at))
    event_ids = iter(uuid4_strings(random[half:2 * half]))
    for row, record in records:
        raw = read_record(fmt, header, record)
        result = [raw] if isinstance(raw, FieldError) else application_values(raw)
        if isinstance(result, list):
            prepared.rejected.append((row, [(e.field, e.code, e.params) for e in result]))
            continue
        application_id, event_id = next(application_ids), next(event_ids)
        event = submitted_event_json(application_id, event_id, result, source, submitted_at)
        details = compact_json({name: result[name] for name in DETAILS})
        prepared.accepted.append((
            row, application_id, event_id, phone_hash(result["phone"], hash_key), result["phone"],
            result["full_name"], result["email"], result["state"], result["district"], result["block"],
            result["age"], details, result["source"] or source, submitted_at, event))
    return prepared


# Two UUIDs' random bytes a record: its application id's (ids.uuid7_strings) and its event id's.
RANDOM_BYTES_PER_RECORD = 2 * UUID_BYTES


@dataclass
class BulkSummary:
    """The response of a bulk import; ``duplicates`` are valid rows whose phone was already taken."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, rejected: list[tuple[int, list[tuple[str, str, dict[str, Any]]]]], lang: str) -> None:
        self.rejected += len(rejected)
        for row, errors in rejected:
            for field_name, code, params in errors:
                if len(self.errors) >= BULK_MAX_ERRORS:
                    return
                error = FieldError(field_name, code, params)
                self.errors.append({"row": row, "field": field_name, "message": message(error, lang)})

    def record(self, valid: int, accepted: int) -> None:
        self.accepted += accepted
        self.duplicates += valid - accepted
