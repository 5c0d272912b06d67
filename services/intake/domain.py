"""Intake domain (pure, no I/O): validation and its bilingual messages, the event, erasure, rate limit, bulk reader."""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Annotated, Any, Literal, Mapping

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

from shared.events import EVENT_TYPE_OF, ApplicationSubmitted, Envelope
from shared.geography import BLOCKS_BY_DISTRICT, STATES, resolve_state
from shared.phone import normalize_phone, phone_hash

SKILLS: tuple[str, ...] = (
    "content_writing",
    "graphic_design",
    "video_editing",
    "fact_checking",
    "data_analysis",
    "translation",
    "rapid_response",
)

NAME_MIN, NAME_MAX = 2, 100
PLACE_MIN, PLACE_MAX = 2, 60
AGE_MIN, AGE_MAX = 18, 80
HOURS_MIN, HOURS_MAX = 1, 80
# The SPEC sets no ceiling on followers; this one only keeps the value inside
# a PostgreSQL bigint and far above any real account.
FOLLOWERS_MAX = 10**10
SOURCE_MAX = 100
EMAIL_MAX = 254
LIST_ITEM_MAX = 50
LIST_MAX = 20
PLATFORM_MAX = 30
HANDLE_MAX = 100
SOCIAL_MAX = 20

# Strings a plain HTML checkbox or a spreadsheet uses for "yes".
CONSENT_TRUE = frozenset({"true", "on", "yes", "1"})


def _known_state(code: str) -> str:
    if code not in STATES:
        raise ValueError(f"unknown state code {code!r}")
    return code


class Application(BaseModel):
    """A normalized application, as stored and as published in ``application.submitted``.

    Built only by :func:`validate_application`; the constraints repeated here
    document the shape in OpenAPI/AsyncAPI and catch a bug in the validator.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    full_name: Annotated[str, Field(min_length=NAME_MIN, max_length=NAME_MAX)]
    phone: Annotated[str, Field(pattern=r"^\+91[6-9][0-9]{9}$")]
    email: Annotated[str, Field(max_length=EMAIL_MAX)] | None = None
    state: Annotated[str, AfterValidator(_known_state)]
    district: Annotated[str, Field(min_length=PLACE_MIN, max_length=PLACE_MAX)]
    block: Annotated[str, Field(min_length=PLACE_MIN, max_length=PLACE_MAX)] | None = None
    age: Annotated[int, Field(ge=AGE_MIN, le=AGE_MAX)]
    languages: list[str] = Field(default_factory=list)
    skills: list[Literal[SKILLS]] = Field(default_factory=list)  # type: ignore[valid-type]
    social: dict[str, str] = Field(default_factory=dict)
    followers: Annotated[int, Field(ge=0, le=FOLLOWERS_MAX)] | None = None
    hours_per_week: Annotated[int, Field(ge=HOURS_MIN, le=HOURS_MAX)] | None = None
    consent: Literal[True]
    source: Annotated[str, Field(max_length=SOURCE_MAX)] | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    """The first problem found in one field: ``code`` names it, ``params`` fill its message."""

    field: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


ROOT = "_root"


class _Invalid(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


_MISSING = object()

# Control characters (Cc: exactly U+0000-U+001F and U+007F-U+009F), lone
# surrogates (Cs: JSON "\ud800" escapes cannot be encoded as UTF-8 and would
# break the event later, far from the request), and the bidirectional
# overrides and isolates: format characters (Cf) like the zero-width joiners
# Indic scripts need, but they only serve to make text display differently
# from what it is. One character class rather than unicodedata per character:
# bulk imports validate a hundred thousand rows per request.
_BAD_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def _has_bad_characters(text: str) -> bool:
    return _BAD_CHARACTERS.search(text) is not None


def _blank(value: Any) -> bool:
    return value is _MISSING or value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any, *, min_len: int = 1, max_len: int) -> str:
    """Trim, reject control characters, collapse inner whitespace, NFC, check length."""
    if not isinstance(value, str):
        raise _Invalid("type", expected="text")
    # Trim before the control check so a trailing newline pasted from a
    # spreadsheet is forgiven while one inside the value is not.
    text = value.strip()
    if _has_bad_characters(text):
        raise _Invalid("invalid_characters")
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if len(text) < min_len:
        raise _Invalid("too_short", min=min_len)
    if len(text) > max_len:
        raise _Invalid("too_long", max=max_len)
    return text


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
# Python refuses int() on strings of thousands of digits; anything this long
# is out of every range here anyway.
_INTEGER_DIGITS_MAX = 20


def _integer(value: Any, *, low: int, high: int) -> int:
    # bool is an int subclass; JSON true must not pass as 1.
    if isinstance(value, bool):
        raise _Invalid("not_integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        if len(value.strip()) > _INTEGER_DIGITS_MAX:
            raise _Invalid("out_of_range", min=low, max=high)
        number = int(value.strip())
    else:
        # Floats too, even 25.0: the SPEC says integer and a form never sends one.
        raise _Invalid("not_integer")
    if not low <= number <= high:
        raise _Invalid("out_of_range", min=low, max=high)
    return number


_LIST_SEPARATOR = re.compile(r"[,;]")


def _items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return _LIST_SEPARATOR.split(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _Invalid("type", expected="list")


# Bulk files repeat the same few list, skill, state and place spellings on every row: the
# results for a string are cached (as tuples, so a cached value cannot be changed by a caller).
_CACHE_SIZE = 4096


def _text_list(value: Any) -> list[str]:
    """Items trimmed and deduplicated case-insensitively, first spelling kept; blanks dropped."""
    if isinstance(value, str):
        return list(_text_list_of_string(value))
    return _text_list_uncached(value)


@lru_cache(maxsize=_CACHE_SIZE)
def _text_list_of_string(value: str) -> tuple[str, ...]:
    return tuple(_text_list_uncached(value))


def _text_list_uncached(value: Any) -> list[str]:
    result: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate(_items(value), start=1):
        if isinstance(item, str) and not item.strip():
            continue
        try:
            text = _text(item, max_len=LIST_ITEM_MAX)
        except _Invalid:
            raise _Invalid("invalid_item", position=position, max=LIST_ITEM_MAX) from None
        if text.casefold() not in seen:
            seen.add(text.casefold())
            result.append(text)
    if len(result) > LIST_MAX:
        raise _Invalid("too_many", max=LIST_MAX)
    return result


def _skills(value: Any) -> list[str]:
    if isinstance(value, str):
        return list(_skills_of_string(value))
    return _skills_uncached(value)


@lru_cache(maxsize=_CACHE_SIZE)
def _skills_of_string(value: str) -> tuple[str, ...]:
    return tuple(_skills_uncached(value))


def _skills_uncached(value: Any) -> list[str]:
    result: list[str] = []
    for text in _text_list(value):
        # "Content Writing" and "content-writing" from a spreadsheet mean the same skill.
        skill = re.sub(r"[\s\-]+", "_", text.casefold())
        if skill not in SKILLS:
            raise _Invalid("unknown_skill", value=text[:LIST_ITEM_MAX])
        if skill not in result:
            result.append(skill)
    return result


_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}))"
)


def _email(value: Any) -> str:
    """An ASCII address with a dotted domain; the domain is lower-cased, the local part kept.

    Deliberately a syntax check only (no DNS, no internationalised
    addresses): the address is a contact detail, not a login.
    """
    if not isinstance(value, str):
        raise _Invalid("type", expected="text")
    text = value.strip()
    match = _EMAIL.fullmatch(text) if len(text) <= EMAIL_MAX else None
    if match is None or len(match["local"]) > 64:
        raise _Invalid("invalid_email")
    return f"{match['local']}@{match['domain'].lower()}"


_PLATFORM = re.compile(r"[a-z0-9][a-z0-9_.-]*")
SOCIAL_PREFIX = "social."


def _social(raw: Mapping[str, Any]) -> dict[str, str]:
    """Merge a nested ``social`` object with flat ``social.<platform>`` keys (forms, CSV).

    Platforms are lower-cased; a blank handle means "no account" and is
    dropped; where a platform appears twice the first value wins.
    """
    pairs: list[tuple[Any, Any]] = []
    nested = raw.get("social")
    if isinstance(nested, Mapping):
        pairs.extend(nested.items())
    elif not _blank(nested):
        raise _Invalid("type", expected="mapping")
    pairs.extend(
        (key[len(SOCIAL_PREFIX):], value)
        for key, value in raw.items()
        if isinstance(key, str) and key.startswith(SOCIAL_PREFIX)
    )
    result: dict[str, str] = {}
    for platform, handle in pairs:
        name = platform.strip().lower() if isinstance(platform, str) else ""
        if not _PLATFORM.fullmatch(name) or len(name) > PLATFORM_MAX:
            raise _Invalid("invalid_platform", platform=str(platform)[:PLATFORM_MAX], max=PLATFORM_MAX)
        if handle is None or (isinstance(handle, str) and not handle.strip()):
            continue
        try:
            text = _text(handle, max_len=HANDLE_MAX)
        except _Invalid:
            raise _Invalid("invalid_handle", platform=name, max=HANDLE_MAX) from None
        result.setdefault(name, text)
    if len(result) > SOCIAL_MAX:
        raise _Invalid("too_many", max=SOCIAL_MAX)
    return result


@lru_cache(maxsize=_CACHE_SIZE)
def _canonical(name: str, known: tuple[str, ...]) -> str:
    # Reporting groups by district and block, so "jaipur" and "JAIPUR"
    # must land on the reference spelling wherever one is known.
    folded = name.casefold()
    return next((candidate for candidate in known if candidate.casefold() == folded), name)


_resolve_state = lru_cache(maxsize=_CACHE_SIZE)(resolve_state)


def validate_application(raw: Mapping[str, Any]) -> Application | list[FieldError]:
    """Validate and normalize one application, or list every bad field.

    ``raw`` may be nested JSON or flat form/CSV data (every value a string):
    ``languages`` and ``skills`` take a list or one string separated by
    commas or semicolons; ``social`` takes an object, and flat data gives
    one ``social.<platform>`` key per account (both forms merge); numbers
    and ``consent`` accept their form spellings (``"25"``, ``"on"``).
    Blank strings count as absent. Unknown keys are ignored.

    The result is the :class:`Application`, or one :class:`FieldError` per
    bad field (its first problem), in the order of the SPEC's table. A
    ``raw`` that is not a mapping gives a single error on field ``_root``.
    """
    values = application_values(raw)
    return values if isinstance(values, list) else Application(**values)


def application_values(raw: Mapping[str, Any]) -> dict[str, Any] | list[FieldError]:
    """:func:`validate_application` without building the :class:`Application`: its values by field, in
    the model's field order (what ``Application.model_dump()`` gives), or the errors.

    A bulk import turns 100,000 of them straight into event JSON; constructing and dumping the
    model again per row was a fifth of a bulk worker's time.
    """
    if not isinstance(raw, Mapping):
        return [FieldError(ROOT, "type", {"expected": "object"})]

    values: dict[str, Any] = {}
    errors: list[FieldError] = []

    def check(name: str, rule: Any, *, required: bool = False, missing_code: str = "required") -> None:
        value = raw.get(name, _MISSING)
        if _blank(value):
            if required:
                errors.append(FieldError(name, missing_code, {}))
            else:
                values[name] = None
            return
        try:
            values[name] = rule(value)
        except _Invalid as problem:
            errors.append(FieldError(name, problem.code, problem.params))

    def phone(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid("type", expected="text")
        normalized = normalize_phone(value)
        if normalized is None:
            raise _Invalid("invalid_phone")
        return normalized

    def state(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid("type", expected="text")
        code = _resolve_state(value)
        if code is None:
            raise _Invalid("unknown_state")
        return code

    def consent(value: Any) -> bool:
        if value is True or (isinstance(value, str) and value.strip().lower() in CONSENT_TRUE):
            return True
        raise _Invalid("consent_required")

    check("full_name", lambda v: _text(v, min_len=NAME_MIN, max_len=NAME_MAX), required=True)
    check("phone", phone, required=True)
    check("email", _email)
    check("state", state, required=True)
    check("district", lambda v: _text(v, min_len=PLACE_MIN, max_len=PLACE_MAX), required=True)
    check("block", lambda v: _text(v, min_len=PLACE_MIN, max_len=PLACE_MAX))
    check("age", lambda v: _integer(v, low=AGE_MIN, high=AGE_MAX), required=True)
    check("languages", _text_list)
    check("skills", _skills)
    try:
        values["social"] = _social(raw)
    except _Invalid as problem:
        errors.append(FieldError("social", problem.code, problem.params))
    check("followers", lambda v: _integer(v, low=0, high=FOLLOWERS_MAX))
    check("hours_per_week", lambda v: _integer(v, low=HOURS_MIN, high=HOURS_MAX))
    check("consent", consent, required=True, missing_code="consent_required")
    check("source", lambda v: _text(v, max_len=SOURCE_MAX))

    if errors:
        return errors

    code = values["state"]
    values["district"] = _canonical(values["district"], STATES[code].districts)
    if values["block"] is not None:
        blocks = BLOCKS_BY_DISTRICT.get((code, values["district"]), ())
        values["block"] = _canonical(values["block"], blocks)
    values["languages"] = values["languages"] or []
    values["skills"] = values["skills"] or []
    return values


# Templates take their parameters by name from FieldError.params.
MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "en": "This field is required.",
        "hi": "यह जानकारी भरना आवश्यक है।",
    },
    "type": {
        "en": "Expected {expected}.",
        "hi": "यहाँ {expected} अपेक्षित है।",
    },
    "too_short": {
        "en": "Must be at least {min} characters long.",
        "hi": "कम से कम {min} अक्षर होने चाहिए।",
    },
    "too_long": {
        "en": "Must be at most {max} characters long.",
        "hi": "अधिकतम {max} अक्षर हो सकते हैं।",
    },
    "invalid_characters": {
        "en": "Contains control or hidden formatting characters; please retype it.",
        "hi": "इसमें नियंत्रण (कंट्रोल) या छिपे हुए वर्ण हैं; कृपया दोबारा टाइप करें।",
    },
    "invalid_phone": {
        "en": "Enter a 10-digit Indian mobile number starting with 6, 7, 8 or 9 "
              "(it may begin with +91, 91 or 0).",
        "hi": "6, 7, 8 या 9 से शुरू होने वाला 10 अंकों का भारतीय मोबाइल नंबर दर्ज करें "
              "(शुरू में +91, 91 या 0 लगा सकते हैं)।",
    },
    "invalid_email": {
        "en": "Enter a valid email address, such as name@example.com.",
        "hi": "सही ईमेल पता दर्ज करें, जैसे name@example.com।",
    },
    "unknown_state": {
        "en": "Enter an Indian state or union territory: its two-letter code (such as RJ) "
              "or its name in English or Hindi.",
        "hi": "भारत का कोई राज्य या केंद्र शासित प्रदेश दर्ज करें: दो अक्षरों का कोड (जैसे RJ) "
              "या हिंदी या अंग्रेज़ी में उसका नाम।",
    },
    "not_integer": {
        "en": "Must be a whole number.",
        "hi": "पूर्ण संख्या होनी चाहिए।",
    },
    "out_of_range": {
        "en": "Must be between {min} and {max}.",
        "hi": "{min} से {max} के बीच होना चाहिए।",
    },
    "invalid_item": {
        "en": "Entry {position} must be text of at most {max} characters, without control characters.",
        "hi": "प्रविष्टि {position} अधिकतम {max} अक्षरों का पाठ होनी चाहिए, बिना कंट्रोल वर्णों के।",
    },
    "too_many": {
        "en": "At most {max} entries are allowed.",
        "hi": "अधिकतम {max} प्रविष्टियाँ दी जा सकती हैं।",
    },
    "unknown_skill": {
        "en": "Unknown skill \u201c{value}\u201d; choose from {allowed}.",
        "hi": "अज्ञात कौशल \u201c{value}\u201d; इनमें से चुनें: {allowed}।",
    },
    "invalid_platform": {
        "en": "\u201c{platform}\u201d is not a valid platform name (letters, digits, . _ -, at most {max}).",
        "hi": "\u201c{platform}\u201d मान्य प्लेटफ़ॉर्म नाम नहीं है (अक्षर, अंक, . _ -, अधिकतम {max})।",
    },
    "invalid_handle": {
        "en": "The {platform} handle must be text of at most {max} characters, without control characters.",
        "hi": "{platform} हैंडल अधिकतम {max} अक्षरों का पाठ होना चाहिए, बिना कंट्रोल वर्णों के।",
    },
    "consent_required": {
        "en": "You must give your consent to apply.",
        "hi": "आवेदन करने के लिए आपकी सहमति आवश्यक है।",
    },
    # Bulk import: a row that cannot be read at all (field "_root").
    "invalid_json": {
        "en": "This is not valid JSON.",
        "hi": "यह मान्य JSON नहीं है।",
    },
    "invalid_csv": {
        "en": "This row is not valid CSV (check its quotes).",
        "hi": "यह पंक्ति मान्य CSV नहीं है (उद्धरण चिह्न जाँचें)।",
    },
    "too_many_values": {
        "en": "This row has {got} values but the header names {columns} columns.",
        "hi": "इस पंक्ति में {got} मान हैं, पर हेडर में {columns} कॉलम हैं।",
    },
}

_FALLBACK = {"en": "Invalid value.", "hi": "अमान्य मान।"}

_EXPECTED = {
    "text": {"en": "text", "hi": "पाठ (टेक्स्ट)"},
    "list": {"en": "a list", "hi": "सूची"},
    "mapping": {"en": "a mapping of platform to handle", "hi": "प्लेटफ़ॉर्म और हैंडल की सूची"},
    "object": {"en": "a JSON object", "hi": "JSON ऑब्जेक्ट"},
}


class _Params(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def message(error: FieldError, lang: str) -> str:
    """The user-facing text of ``error`` in ``lang`` (``"hi"``, anything else is English)."""
    lang = "hi" if lang == "hi" else "en"
    template = MESSAGES.get(error.code, _FALLBACK)[lang]
    params = _Params(error.params)
    if "expected" in params:
        params["expected"] = _EXPECTED.get(params["expected"], {}).get(lang, params["expected"])
    params.setdefault("allowed", ", ".join(SKILLS))
    return template.format_map(params)


_LANGUAGE_RANGE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+)\s*)?")


def error_language(accept_language_header: str | None) -> Literal["en", "hi"]:
    """Pick ``"hi"`` or ``"en"`` from an Accept-Language header; English unless Hindi is preferred.

    Among the ranges naming Hindi (``hi``, ``hi-IN``) or English, the highest
    q wins, and the earlier one on a tie; ``q=0`` means "not wanted". Other
    languages and ``*`` are skipped, so ``fr, hi;q=0.5`` gives Hindi.
    Malformed ranges are ignored rather than rejected: the header only
    chooses a language for error text.
    """
    if not accept_language_header:
        return "en"
    best: tuple[float, str] | None = None
    for part in accept_language_header.split(","):
        match = _LANGUAGE_RANGE.fullmatch(part)
        if match is None:
            continue
        primary = match.group(1).split("-")[0].lower()
        if primary not in ("en", "hi"):
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if not 0 < quality <= 1:
            continue
        if best is None or quality > best[0]:
            best = (quality, primary)
    return "hi" if best is not None and best[1] == "hi" else "en"


# ---- accepted applications become events ----------------------------------------------------

PRODUCER = "intake"


def submitted_event(application_id: uuid.UUID, application: Application, source: str,
                    submitted_at: datetime) -> Envelope:
    """The ``application.submitted`` event of an accepted application.

    ``source`` is the upstream's (its API key's) unless the application names one. ``data`` is
    the validated application as it is (all its values are JSON values already) plus
    ``submitted_at``, rather than an ``ApplicationSubmitted`` built and dumped again: that would
    validate the same values a second time and add a third to the cost of a 100,000-row import.
    tests/unit/intake/test_events.py proves the result is exactly what ``new_event`` makes.
    """
    data = application.model_dump()
    data["source"] = application.source or source
    data["submitted_at"] = _JSON_TIME.dump_python(submitted_at, mode="json")
    return Envelope(event_id=uuid.uuid4(), event_type=SUBMITTED, occurred_at=submitted_at, producer=PRODUCER,
                    application_id=application_id, data=data)


SUBMITTED = EVENT_TYPE_OF[ApplicationSubmitted]
_JSON_TIME = TypeAdapter(datetime)  # pydantic's own JSON form of a time, as new_event's data has it


def submitted_event_json(application_id: str, event_id: str, values: Mapping[str, Any], source: str,
                         submitted_at: datetime) -> str:
    """``submitted_event(...).to_json()``, byte for byte, from :func:`application_values` and UUID strings.

    The bulk path: json.dumps of plain dicts instead of an :class:`Application` and an
    :class:`Envelope` built and serialized per row. pydantic writes compact JSON, non-ASCII as it
    is, and a UTC time as ``...Z``; tests/unit/intake/test_events.py compares the two on generated
    applications. ``submitted_at`` must be UTC.
    """
    at = submitted_at.isoformat().replace("+00:00", "Z")
    data = dict(values)
    data["source"] = values["source"] or source
    data["submitted_at"] = at
    return _dumps({"event_id": event_id, "event_type": SUBMITTED, "schema_version": 1, "occurred_at": at,
                   "producer": PRODUCER, "application_id": application_id, "data": data})


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def uuid4_strings(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as strings, what ``str(uuid.uuid4())`` gives, from one
    ``os.urandom`` call: uuid4() per row cost a bulk worker more than the event's JSON."""
    random = bytearray(os.urandom(16 * count))
    random[6::16] = bytes((b & 0x0F) | 0x40 for b in random[6::16])
    random[8::16] = bytes((b & 0x3F) | 0x80 for b in random[8::16])
    text = random.hex()
    return [f"{text[i:i + 8]}-{text[i + 8:i + 12]}-{text[i + 12:i + 16]}-{text[i + 16:i + 20]}-{text[i + 20:i + 32]}"
            for i in range(0, 32 * count, 32)]


# ---- erasure ---------------------------------------------------------------------------------

# What an erased application keeps: what the counts need (state, district, timestamps) and,
# in intake's own table only, the keyed phone hash that keeps a re-application a duplicate.
# Everything else about the person goes: name, phone, email, social handles, and the details
# that could single someone out in a small block (block, age, languages, skills, followers,
# hours, source).
ERASED_SUBMISSION_VALUES: dict[str, Any] = {
    "full_name": "", "phone": "", "email": None, "block": None, "age": 0, "languages": [],
    "skills": [], "social": {}, "followers": None, "hours_per_week": None, "source": None,
}


def scrubbed_submission(data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` of an erased application's ``application.submitted`` event, nothing personal left.

    It stays a valid ``ApplicationSubmitted`` (blank strings, nulls, zero, empty lists) so a
    replay of the outbox to a fresh broker still carries the application into the counts.
    """
    return {**data, **ERASED_SUBMISSION_VALUES}


# ---- rate limit ------------------------------------------------------------------------------

class RateLimiter:
    """Token buckets per API key: up to ``burst`` requests at once, refilled at ``rate`` per second.

    State lives in the process, so each replica limits on its own: with N replicas behind a
    load balancer a key may get up to N x rate. Time comes in as ``now`` (monotonic seconds).
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = float(rate), float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def take(self, key: str, now: float) -> float:
        """Take a token for ``key``: 0.0 when the request may pass, else the seconds until one is back."""
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - then) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


# ---- bulk import -----------------------------------------------------------------------------

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
            value = json.loads(record)
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


# What the applications table stores in its jsonb `details` column (store.DETAILS).
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
                 hash_key: bytes) -> PreparedRows:
    """Read, validate and turn valid records into their ``application.submitted`` events.

    The CPU-heavy part of a bulk import, so it can run in worker processes while the event loop
    stays free; whether a row is new or a duplicate is the database's to decide.
    """
    prepared = PreparedRows()
    ids = iter(uuid4_strings(2 * len(records)))
    for row, record in records:
        raw = read_record(fmt, header, record)
        result = [raw] if isinstance(raw, FieldError) else application_values(raw)
        if isinstance(result, list):
            prepared.rejected.append((row, [(e.field, e.code, e.params) for e in result]))
            continue
        application_id, event_id, submitted_at = next(ids), next(ids), datetime.now(timezone.utc)
        event = submitted_event_json(application_id, event_id, result, source, submitted_at)
        details = _dumps({name: result[name] for name in DETAILS})
        prepared.accepted.append((
            row, application_id, event_id, phone_hash(result["phone"], hash_key), result["phone"],
            result["full_name"], result["email"], result["state"], result["district"], result["block"],
            result["age"], details, result["source"] or source, submitted_at, event))
    return prepared


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
