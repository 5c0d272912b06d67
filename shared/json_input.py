"""Untrusted JSON (request bodies, bulk lines): any document that cannot be parsed, however it fails,
is a ValueError for the caller to answer as bad input, never an exception that becomes a 500.

Stricter than the json module, so that what is accepted can be stored and published as it was read:
the bytes must be UTF-8 (RFC 8259), no string may hold a NUL (PostgreSQL text cannot) or a lone
surrogate (it cannot be written as UTF-8), numbers must be finite (no NaN, Infinity, or 1e999, which
parses as infinity), integers at most 100 digits long, and an object may not name a key twice: the
json module keeps the last value, other parsers the first, and a document two readers read
differently is how checks are bypassed."""

from __future__ import annotations

import json
import math
import re
from typing import Any

# What no accepted string may hold: NUL and the surrogate code points (paired surrogates in a JSON
# escape are decoded to one character above U+FFFF, so a surrogate left in a str is a lone one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def loads(raw: bytes | str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
        value = _DECODER.decode(text)
    except UnicodeDecodeError:
        raise ValueError("JSON must be UTF-8") from None
    except RecursionError:  # nested deeper than the parser's recursion allows (thousands of [ or {)
        raise ValueError("JSON nested too deeply") from None
    # Without a \u escape no NUL or surrogate can be in the text: the parser refuses raw control
    # characters in strings and strict UTF-8 decoding refuses encoded surrogates. The walk is only
    # paid for documents that use escapes (and bulk lines rarely do).
    if "\\u" in text and _holds_unstorable(value):
        raise ValueError("JSON strings may not contain NUL (\\u0000) or lone surrogates (\\ud800-\\udfff)")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"JSON object names the key {twice!r} twice")
    return value


# No field takes a number this long; Python itself refuses int() past 4,300 digits, with a message for programmers.
_INTEGER_DIGITS_MAX = 100


def _integer(text: str) -> int:
    if len(text) > _INTEGER_DIGITS_MAX:
        raise ValueError("JSON number too large")
    return int(text)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("JSON number too large")
    return number


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _holds_unstorable(value: Any) -> bool:
    # Iterative: the parser allowed this depth, a recursive walk might not.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# One decoder for every document: json.loads with hooks builds a new decoder and its scanner per call,
# a cost a bulk worker paid on every line.
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_float=_finite, parse_int=_integer,
                            parse_constant=_no_constant)
