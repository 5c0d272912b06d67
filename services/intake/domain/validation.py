"""Intake domain, validation (pure): an application's fields checked and normalized, one FieldError per bad field."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal, Mapping

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.events import SKILLS
from shared.geography import BLOCKS_BY_DISTRICT, STATES, resolve_state
from shared.phone import normalize_phone

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
