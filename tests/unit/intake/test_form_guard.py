"""The public form's guards, pure: per-address token buckets and the bot check (honeypot, signed fill time)."""

from __future__ import annotations

from services.intake.domain.bot_check import (
    STAMP_FIELD,
    STAMP_MAX_AGE_SECONDS,
    form_stamp,
    looks_automated,
    stamp_to_keep,
)
from services.intake.domain.rate_limit import RateLimiter

KEY = b"k"


def test_one_address_spending_its_bucket_leaves_another_alone() -> None:
    limiter = RateLimiter(rate=0.5, burst=3)
    assert [limiter.take("203.0.113.7", 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("203.0.113.7", 100.0) == 2.0
    assert limiter.take("198.51.100.9", 100.0) == 0.0
    assert limiter.take("203.0.113.7", 102.0) == 0.0


def test_refilled_buckets_are_forgotten() -> None:
    limiter = RateLimiter(rate=1.0, burst=2, sweep_at=100)
    for n in range(99):
        limiter.take(f"10.0.0.{n}", 0.0)
    limiter.take("busy", 50.0)
    limiter.take("busy", 50.0)  # the 100th key: a sweep at t=50 drops every bucket full again
    assert limiter.tracked() == 1


def test_fill_time() -> None:
    stamp = form_stamp(1000.0, KEY)
    assert not looks_automated({"form_stamp": stamp}, 1003.0, KEY, 3)
    assert looks_automated({"form_stamp": stamp}, 1002.5, KEY, 3)  # too soon
    assert looks_automated({"form_stamp": stamp}, 1000 + STAMP_MAX_AGE_SECONDS + 1, KEY, 3)  # stale
    assert looks_automated({}, 1003.0, KEY, 3)  # no stamp
    assert looks_automated({"form_stamp": form_stamp(1000.0, b"other")}, 1003.0, KEY, 3)  # forged
    seconds, signature = stamp.split(".")
    assert looks_automated({"form_stamp": f"900.{signature}"}, 1003.0, KEY, 3)  # an earlier time claimed
    assert looks_automated({"form_stamp": ["x"]}, 1003.0, KEY, 3)
    assert not looks_automated({}, 1003.0, KEY, 0)  # the time check off


def test_honeypot() -> None:
    stamp = form_stamp(1000.0, KEY)
    assert looks_automated({"form_stamp": stamp, "website": "http://spam"}, 1010.0, KEY, 3)
    assert looks_automated({"website": "x"}, 1010.0, KEY, 0)
    assert not looks_automated({"form_stamp": stamp, "website": ""}, 1010.0, KEY, 3)


def test_a_page_shown_again_with_errors_keeps_the_time_the_form_was_first_opened() -> None:
    opened = form_stamp(1_000.0, KEY)
    # Fixing one field a second later is not filling the form again: the first stamp stays, so the
    # corrected submission passes the minimum fill time counted from when the form was opened.
    kept = stamp_to_keep({STAMP_FIELD: opened}, 1_010.0, KEY)
    assert kept == opened
    assert not looks_automated({STAMP_FIELD: kept}, 1_011.0, KEY, min_fill_seconds=3)
    # A forged, missing, foreign or stale stamp is not kept: the page gets one of now.
    now = 2_000.0
    for fields in ({STAMP_FIELD: "999.forged"}, {}, {STAMP_FIELD: form_stamp(1_000.0, b"other key")},
                   {STAMP_FIELD: form_stamp(now - STAMP_MAX_AGE_SECONDS - 10, KEY)}):
        assert stamp_to_keep(fields, now, KEY) == form_stamp(now, KEY)
