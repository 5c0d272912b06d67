"""Intake domain, bot check (pure): the public form's honeypot field and minimum fill time.

The form page carries its render time, signed (``form_stamp``), so a client cannot claim it opened
the page earlier than it did; a submission sooner than the minimum after that, with a stamp that is
missing, forged or stale, or with the honeypot field filled in, is refused. The clock and the key
are passed in."""

from __future__ import annotations

import hashlib
import hmac

# The honeypot field's name: people never see it (off-screen, hidden from screen readers, out of the tab
# order, autocomplete off), form-filling bots tend to fill in anything called "website".
HONEYPOT_FIELD = "website"
STAMP_FIELD = "form_stamp"
# A page left open longer than this must be reloaded: a stamp is not a pass for ever.
STAMP_MAX_AGE_SECONDS = 24 * 3600


def form_stamp(rendered_at: float, key: bytes) -> str:
    """The page's render time (whole seconds since the epoch) with its HMAC-SHA256."""
    seconds = str(int(rendered_at))
    return f"{seconds}.{_signature(seconds, key)}"


def stamp_to_keep(fields: dict, now: float, key: bytes) -> str:
    """The stamp a page re-shown after a submission (with its errors) carries: the submitted one while it
    is genuine and current, so the fill time counts from when the person first opened the form (fixing
    one field is not filling the form again); a new one otherwise."""
    stamp = fields.get(STAMP_FIELD)
    rendered_at = _stamped_time(stamp, key)
    if rendered_at is not None and 0 <= now - rendered_at <= STAMP_MAX_AGE_SECONDS:
        return stamp
    return form_stamp(now, key)


def looks_automated(fields: dict, now: float, key: bytes, min_fill_seconds: float) -> bool:
    """True when a public form submission should be refused: the honeypot holds anything, or (when a
    minimum fill time is set) the stamp is missing, forged, from the future, stale, or too recent."""
    if fields.get(HONEYPOT_FIELD) not in (None, ""):
        return True
    if min_fill_seconds <= 0:
        return False
    rendered_at = _stamped_time(fields.get(STAMP_FIELD), key)
    return rendered_at is None or not min_fill_seconds <= now - rendered_at <= STAMP_MAX_AGE_SECONDS


def _stamped_time(stamp: object, key: bytes) -> int | None:
    if not isinstance(stamp, str) or stamp.count(".") != 1:
        return None
    seconds, signature = stamp.split(".")
    if not seconds.isascii() or not seconds.isdigit() or len(seconds) > 12:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(seconds, key).encode()):
        return None
    return int(seconds)


def _signature(seconds: str, key: bytes) -> str:
    return hmac.new(key, b"intake-form-stamp:" + seconds.encode(), hashlib.sha256).hexdigest()
