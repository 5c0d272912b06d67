"""Reporting domain: the applicant-visible stage of an application and how events move it. Pure."""

from __future__ import annotations

STAGES = ("submitted", "queued", "deferred", "scheduled", "selected", "rejected", "no_show", "placed", "waitlisted")

# Events can arrive in any order across topics; a stage only moves forward in this ranking, and
# within one rank (queued <-> deferred, one seat to another) the later event wins.
STAGE_RANK = {
    "submitted": 0,
    "queued": 1, "deferred": 1,
    "scheduled": 2,
    "selected": 3, "rejected": 3, "no_show": 3,
    "placed": 4, "waitlisted": 4,
}


def stage_for_placement(level: str) -> str:
    if level in ("state", "district", "block"):
        return "placed"
    if level == "waitlist":
        return "waitlisted"
    return "selected"  # level none: no longer seated (only erasure does that; kept total)
