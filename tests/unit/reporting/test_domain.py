"""Reporting domain: projections are order-independent and idempotent, tallies keep the funnel, days are Indian."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from services.reporting.domain import (
    NEVER,
    DayCounts,
    Projection,
    applicant_status,
    delta,
    every_day,
    stage_for_placement,
    summed_delta,
    tallies,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# Events as functions of a projection, in the natural order of one application's life.
LIFE = [
    lambda p: p.submitted("RJ", "Jaipur", at(0)),
    lambda p: p.moved("RJ", "deferred", at(1)),
    lambda p: p.moved("RJ", "queued", at(2)),
    lambda p: p.scheduled("RJ", at(3)),
    lambda p: p.completed("RJ", "Jaipur", "selected", at(4)),
    lambda p: p.placement("RJ", "state", "RJ", at(5)),
    lambda p: p.placement("RJ", "waitlist", None, at(6)),
    lambda p: p.placement("RJ", "district", "RJ/Jaipur", at(7)),
]


def run(events) -> Projection:
    return reduce(lambda p, event: event(p), events, Projection())


def test_natural_order_ends_where_the_last_event_says() -> None:
    p = run(LIFE)
    assert (p.stage, p.level, p.unit_id) == ("placed", "district", "RJ/Jaipur")
    assert p.outcome == "selected" and p.ever_scheduled and p.placed_at == at(5) and p.selected_at == at(4)


@given(st.permutations(LIFE), st.lists(st.sampled_from(LIFE), max_size=8))
def test_any_order_and_any_repetition_give_the_same_projection(order, repeats) -> None:
    assert run([*order, *repeats]) == run(LIFE)


def test_nothing_counts_before_the_application_itself_arrives() -> None:
    early = Projection().completed("RJ", "Jaipur", "selected", at(4))
    assert tallies(early) == Counter()
    assert tallies(early.submitted("RJ", "Jaipur", at(0)))["summary", (), "selected"] == 1


def test_a_result_without_a_scheduled_interview_still_counts_as_scheduled() -> None:
    p = Projection().submitted("UP", "Lucknow", at(0)).completed("UP", "Lucknow", "no_show", at(1))
    cells = tallies(p)
    assert cells["summary", (), "scheduled"] == 1 and cells["summary", (), "no_show"] == 1
    assert cells["summary", (), "interviewed"] == 0


def test_erasure_keeps_history_and_drops_the_present() -> None:
    placed = run(LIFE)
    change = delta(placed, placed.erasure())
    assert change == {
        ("summary", ()): {"erased": 1, "placed": -1, "level_district": -1},
        ("state", ("RJ",)): {"placed": -1},
        ("district", ("RJ", "Jaipur")): {"placed": -1},
    }


@given(st.lists(st.sampled_from(LIFE + [lambda p: p.erasure()]), max_size=12))
def test_funnel_never_runs_backwards(events) -> None:
    cells = tallies(run(events))
    steps = [cells["summary", (), s] for s in ("applications", "scheduled", "interviewed", "selected")]
    assert steps == sorted(steps, reverse=True)
    now = sum(cells["summary", (), s] for s in ("queued", "deferred", "awaiting_result", "placed", "waitlisted"))
    assert now <= cells["summary", (), "applications"]


def test_days_are_indian_days() -> None:
    def day_of(submitted_at: datetime) -> list[date]:
        return [key[0] for (table, key, _), n in tallies(Projection().submitted("RJ", "Jaipur", submitted_at)).items()
                if table == "day" and n]

    assert day_of(datetime(2025, 3, 1, 18, 29, tzinfo=timezone.utc)) == [date(2025, 3, 1)]
    assert day_of(datetime(2025, 3, 1, 18, 30, tzinfo=timezone.utc)) == [date(2025, 3, 2)]
    assert day_of(datetime(2025, 3, 1, 18, 30)) == [date(2025, 3, 2)]  # naive means UTC


@given(st.lists(st.sampled_from(LIFE + [lambda p: p.erasure()]), max_size=10))
def test_summed_deltas_of_a_batch_are_the_deltas_one_event_at_a_time(events) -> None:
    steps = [Projection()]
    for event in events:
        steps.append(event(steps[-1]))
    one_at_a_time: Counter = Counter()
    for old, new in zip(steps, steps[1:]):
        for (table, key), columns in delta(old, new).items():
            one_at_a_time.update({(table, key, column): n for column, n in columns.items()})
    batch = summed_delta([(steps[0], steps[-1])])
    assert {(table, key, column): n for (table, key), columns in batch.items() for column, n in columns.items()} \
        == {cell: n for cell, n in one_at_a_time.items() if n}


def test_status_time_is_the_stage_time_or_else_the_submission() -> None:
    fresh = Projection().submitted("RJ", "Jaipur", at(0))
    assert fresh.stage_at == NEVER and applicant_status(fresh).updated_at == at(0)
    waitlisted = run(LIFE[:5]).placement("RJ", "waitlist", None, at(6))
    status = applicant_status(waitlisted)
    assert (status.stage, status.level, status.unit_id, status.updated_at) == ("waitlisted", "waitlist", None, at(6))
    queued = applicant_status(run(LIFE[:3]))
    assert (queued.stage, queued.level, queued.unit_id) == ("queued", None, None)


def test_every_day_fills_the_gaps_with_zeros() -> None:
    first, last = DayCounts(date(2025, 3, 1), 2), DayCounts(date(2025, 3, 4), 1, 2, 1)
    assert every_day({last.day: last, first.day: first}) == [
        first, DayCounts(date(2025, 3, 2)), DayCounts(date(2025, 3, 3)), last]
    assert every_day({}) == []


def test_placement_levels_map_to_stages() -> None:
    assert [stage_for_placement(level) for level in ("state", "district", "block", "waitlist", "none")] == \
        ["placed", "placed", "placed", "waitlisted", "selected"]


def test_a_retention_erasure_of_an_ended_case_moves_no_count() -> None:
    for outcome in ("rejected", "no_show"):
        ended = Projection().submitted("RJ", "Jaipur", at(0)).completed("RJ", "Jaipur", outcome, at(4))
        purged = ended.erasure("retention")
        assert purged.purged and not purged.erased
        assert delta(ended, purged) == {}, "housekeeping, not a request: not counted as erased"
        assert delta(ended, ended.erasure("request")) == {("summary", ()): {"erased": 1}}
