"""Shared rules for Indian mobile numbers: normalisation, masking for logs, keyed hashing for dedupe."""

from __future__ import annotations

import hashlib
import hmac
import re

# [0-9] rather than \d: \d also matches Devanagari and other Unicode digits.
_SHAPE = re.compile(r"(\+?)([0-9](?:[0-9 \-]*[0-9])?)")
_NORMALIZED = re.compile(r"\+91[6-9][0-9]{9}")
_MOBILE = re.compile(r"[6-9][0-9]{9}")
_SURROUNDING = " \t\r\n"


def normalize_phone(text: str) -> str | None:
    """Return ``+91XXXXXXXXXX`` for an Indian mobile number, else ``None``.

    Accepted, after trimming surrounding ASCII whitespace:

    - ten digits whose first is 6, 7, 8 or 9;
    - the same preceded by ``+91``, ``91`` or ``0`` (nothing else: ``0091``
      and ``+910…`` are rejected);
    - ASCII spaces and hyphens anywhere between digits (``+91 98290-12345``),
      but not before the first digit except the leading ``+``, nor after the
      last.

    Only ASCII digits count: Devanagari (``९८२…``) and other Unicode digits
    are rejected rather than converted, so that what is stored is exactly
    what a caller would dial. Dots, parentheses, slashes and letters are
    rejected too; the SPEC allows only spaces and dashes, and an extension
    or a second number pasted into the field should fail loudly.
    """
    if not isinstance(text, str):
        return None
    match = _SHAPE.fullmatch(text.strip(_SURROUNDING))
    if match is None:
        return None
    plus, body = match.groups()
    digits = body.replace(" ", "").replace("-", "")
    if plus:
        national = digits[2:] if len(digits) == 12 and digits.startswith("91") else None
    elif len(digits) == 10:
        national = digits
    elif len(digits) == 12 and digits.startswith("91"):
        national = digits[2:]
    elif len(digits) == 11 and digits.startswith("0"):
        national = digits[1:]
    else:
        national = None
    if national is None or not _MOBILE.fullmatch(national):
        return None
    return "+91" + national


def mask_phone(phone: str) -> str:
    """Render a phone number safe for logs, keeping only its last four digits.

    A valid number becomes ``+91******3210``. Anything else keeps the last
    four of its ASCII digits only if it has at least eight (so the masked
    part is never shorter than what is shown), and drops every other
    character, since a malformed field may hold a name or an address.
    Never raises.
    """
    normalized = normalize_phone(phone) if isinstance(phone, str) else None
    if normalized is not None:
        return "+91******" + normalized[-4:]
    digits = re.sub(r"[^0-9]", "", phone) if isinstance(phone, str) else ""
    if len(digits) < 8:
        return "****"
    return "*" * (len(digits) - 4) + digits[-4:]


def phone_hash(normalized_phone: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of a normalized number, the dedupe key stored instead of the number.

    India has well under 10^10 mobile numbers, so a plain hash is reversed
    by enumerating them; the secret key makes a leaked table useless
    without it. Raises ValueError for a number that is not normalized
    (hashing ``98290 12345`` and ``+919829012345`` differently would
    silently break dedupe) or an empty key.
    """
    if not isinstance(normalized_phone, str) or not _NORMALIZED.fullmatch(normalized_phone):
        raise ValueError("phone_hash needs a number from normalize_phone (+91XXXXXXXXXX)")
    if not key:
        raise ValueError("phone_hash needs a non-empty key")
    return hmac.new(key, normalized_phone.encode("ascii"), hashlib.sha256).hexdigest()
