"""Unit tests of the placement domain: the merit rule by hand and by property."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.placement.domain import (
    Candidate,
    Capacities,
    PlacementChange,
    Seat,
    Unit,
    block_unit,
    changes,
    district_unit,
    level_of_unit,
    parse_unit,
    place_ranked,
    place_state,
    rank,
    rerank,
    state_unit,
    units,
)

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
LEVEL_ORDER = {"state": 4, "district": 3, "block": 2, "waitlist": 1, "none": 0}


def cand(application_id: str, score: int, minutes: int = 0, district: str = "Jaipur", block: str | None = None) -> Candidate:
    return Candidate(application_id, score, T0 + timedelta(minutes=minutes), district, block)


def merit(candidate: Candidate) -> tuple:
    return (-candidate.score, candidate.submitted_at, candidate.application_id)


def apply(previous: dict[str, Seat], delta: list[PlacementChange]) -> dict[str, Seat]:
    result = dict(previous)
    for change in delta:
        if change.level == "none":
            del result[change.application_id]
        else:
            result[change.application_id] = Seat(change.level, change.unit_id)
    return result


# --- unit ids and capacities ---------------------------------------------------


def test_unit_ids_follow_the_spec_shape():
    assert state_unit("RJ") == "RJ"
    assert district_unit("RJ", "Jaipur") == "RJ/Jaipur"
    assert block_unit("RJ", "Jaipur", "Sanganer") == "RJ/Jaipur/Sanganer"


@pytest.mark.parametrize(
    ("unit_id", "level"),
    [("RJ", "state"), ("RJ/Jaipur", "district"), ("RJ/Jaipur/Sanganer", "block"), ("RJ/Sawai Madhopur", "district")],
)
def test_level_of_unit_counts_segments(unit_id, level):
    assert level_of_unit(unit_id) == level


@pytest.mark.parametrize("unit_id", ["", "RJ/", "/Jaipur", "RJ//Sanganer", "RJ/a/b/c"])
def test_level_of_unit_rejects_malformed_ids(unit_id):
    with pytest.raises(ValueError, match="not a unit id"):
        level_of_unit(unit_id)


@pytest.mark.parametrize("district", ["", "Jaipur/North"])
def test_a_segment_with_a_slash_or_empty_is_rejected(district):
    with pytest.raises(ValueError, match="cannot be part of a unit id"):
        district_unit("RJ", district)


def test_capacity_defaults_match_the_spec():
    capacities = Capacities()
    assert capacities.for_unit("RJ", "state") == 50
    assert capacities.for_unit("RJ/Jaipur", "district") == 20
    assert capacities.for_unit("RJ/Jaipur/Sanganer", "block") == 10
    assert capacities.for_unit("RJ/Jaipur/Sanganer") == 10


def test_an_override_wins_over_the_level_default_for_that_unit_only():
    capacities = Capacities(overrides={"RJ/Jaipur": 3})
    assert capacities.for_unit("RJ/Jaipur", "district") == 3
    assert capacities.for_unit("RJ/Ajmer", "district") == 20


def test_capacities_do_not_follow_later_mutation_of_the_callers_dict():
    overrides = {"RJ": 1}
    capacities = Capacities(overrides=overrides)
    overrides["RJ"] = 99
    assert capacities.for_unit("RJ") == 1
    assert hash(capacities) == hash(Capacities(overrides={"RJ": 5}))


@pytest.mark.parametrize("kwargs", [{"state": -1}, {"block": True}, {"overrides": {"RJ": -2}}, {"overrides": {"RJ/": 1}}])
def test_invalid_capacities_are_rejected(kwargs):
    with pytest.raises(ValueError):
        Capacities(**kwargs)


def test_waitlist_and_none_have_no_capacity():
    with pytest.raises(ValueError, match="no capacity"):
        Capacities().for_unit("RJ", "waitlist")


# --- ranking and placement by hand ---------------------------------------------


def test_rank_breaks_score_ties_by_submitted_at_then_application_id():
    late = cand("a", 80, minutes=5)
    early_b = cand("b", 80, minutes=1)
    early_a = cand("c", 80, minutes=1)
    best = cand("z", 90, minutes=9)
    worst = cand("0", 10, minutes=0)
    # "c" and "b" tie on score and time: "b" < "c" by application_id.
    ranked = rank([late, worst, early_a, best, early_b])
    assert [c.application_id for c in ranked] == ["z", "b", "c", "a", "0"]


def test_rank_rejects_naive_submitted_at():
    with pytest.raises(ValueError, match="timezone-aware"):
        rank([Candidate("a", 50, datetime(2026, 1, 1), "Jaipur", None)])


def test_ties_decide_who_gets_the_state_seat():
    seats = place_state(
        "RJ",
        [cand("b", 70, minutes=1), cand("a", 70, minutes=1), cand("c", 70, minutes=0)],
        Capacities(state=2, district=0, block=0),
    )
    assert seats == {"c": Seat("state", "RJ"), "a": Seat("state", "RJ"), "b": Seat("waitlist", None)}


def test_spillover_state_then_district_then_block_then_waitlist():
    candidates = [
        cand("s", 100, district="Jaipur", block="Sanganer"),
        cand("d", 90, district="Jaipur", block="Sanganer"),
        cand("b", 80, district="Jaipur", block="Sanganer"),
        cand("w", 70, district="Jaipur", block="Sanganer"),
        cand("k", 60, district="Ajmer", block=None),
    ]
    seats = place_state("RJ", candidates, Capacities(state=1, district=1, block=1))
    assert seats == {
        "s": Seat("state", "RJ"),
        "d": Seat("district", "RJ/Jaipur"),
        "b": Seat("block", "RJ/Jaipur/Sanganer"),
        "w": Seat("waitlist", None),
        # Ajmer's district seat is still free although "k" ranks last.
        "k": Seat("district", "RJ/Ajmer"),
    }


def test_no_block_and_full_district_means_waitlist():
    seats = place_state(
        "RJ",
        [cand("first", 90, block="Sanganer"), cand("blockless", 80, block=None), cand("empty", 70, block="")],
        Capacities(state=0, district=1, block=5),
    )
    assert seats == {
        "first": Seat("district", "RJ/Jaipur"),
        "blockless": Seat("waitlist", None),
        "empty": Seat("waitlist", None),
    }


def test_a_full_block_does_not_fill_another_block_of_the_district():
    seats = place_state(
        "RJ",
        [cand("a", 90, block="Sanganer"), cand("b", 80, block="Sanganer"), cand("c", 70, block="Amer")],
        Capacities(state=0, district=0, block=1),
    )
    assert seats == {
        "a": Seat("block", "RJ/Jaipur/Sanganer"),
        "b": Seat("waitlist", None),
        "c": Seat("block", "RJ/Jaipur/Amer"),
    }


def test_overrides_change_one_unit_each():
    candidates = [cand(f"j{i}", 90 - i, district="Jaipur") for i in range(3)] + [
        cand(f"a{i}", 50 - i, district="Ajmer") for i in range(3)
    ]
    capacities = Capacities(state=1, district=1, block=0, overrides={"RJ": 0, "RJ/Jaipur": 3})
    seats = place_state("RJ", candidates, capacities)
    assert seats == {
        "j0": Seat("district", "RJ/Jaipur"),
        "j1": Seat("district", "RJ/Jaipur"),
        "j2": Seat("district", "RJ/Jaipur"),
        "a0": Seat("district", "RJ/Ajmer"),
        "a1": Seat("waitlist", None),
        "a2": Seat("waitlist", None),
    }


def test_duplicate_application_ids_are_rejected():
    with pytest.raises(ValueError, match="duplicate application_id.*'a'"):
        place_state("RJ", [cand("a", 90), cand("b", 80), cand("a", 70)], Capacities())


def test_no_candidates_no_seats():
    assert place_state("RJ", [], Capacities()) == {}


# --- changes -------------------------------------------------------------------


def test_a_later_better_candidate_displaces_and_every_reason_appears():
    capacities = Capacities(state=1, district=1, block=1)
    before = place_state(
        "RJ",
        [
            cand("top", 90, block="Sanganer"),
            cand("mid", 80, block="Sanganer"),
            cand("low", 70, block="Sanganer"),
            cand("gone", 60, block="Sanganer"),
        ],
        capacities,
    )
    assert before == {
        "top": Seat("state", "RJ"),
        "mid": Seat("district", "RJ/Jaipur"),
        "low": Seat("block", "RJ/Jaipur/Sanganer"),
        "gone": Seat("waitlist", None),
    }
    # "star" arrives later with the best score; "top" is erased; "gone" too.
    after = place_state(
        "RJ",
        [cand("star", 95, minutes=60, block="Sanganer"), cand("mid", 80, block="Sanganer"), cand("low", 70, block="Sanganer")],
        capacities,
    )
    assert changes(before, after) == [
        PlacementChange("gone", "none", None, "waitlist", None, "removed"),
        PlacementChange("star", "state", "RJ", "none", None, "placed"),
        PlacementChange("top", "none", None, "state", "RJ", "removed"),
    ]
    arrivals = [
        cand("star", 95, block="Sanganer"),
        cand("new", 85, block="Sanganer"),
        cand("mid", 80, block="Sanganer"),
        cand("low", 70, block="Sanganer"),
    ]
    demoted = place_state("RJ", arrivals, capacities)
    assert changes(after, demoted) == [
        PlacementChange("low", "waitlist", None, "block", "RJ/Jaipur/Sanganer", "displaced"),
        PlacementChange("mid", "block", "RJ/Jaipur/Sanganer", "district", "RJ/Jaipur", "displaced"),
        PlacementChange("new", "district", "RJ/Jaipur", "none", None, "placed"),
    ]
    # A larger district lets the displaced move back up.
    regrown = place_state("RJ", arrivals, Capacities(state=1, district=2, block=1))
    assert changes(demoted, regrown) == [
        PlacementChange("low", "block", "RJ/Jaipur/Sanganer", "waitlist", None, "promoted"),
        PlacementChange("mid", "district", "RJ/Jaipur", "block", "RJ/Jaipur/Sanganer", "promoted"),
    ]


def test_no_change_no_entry():
    seats = {"a": Seat("state", "RJ"), "b": Seat("waitlist", None)}
    assert changes(seats, dict(seats)) == []


def test_changes_are_sorted_by_application_id():
    delta = changes({}, {"b": Seat("waitlist", None), "a": Seat("waitlist", None), "c": Seat("state", "RJ")})
    assert [change.application_id for change in delta] == ["a", "b", "c"]
    assert {change.reason for change in delta} == {"placed"}


def test_a_move_within_the_same_level_is_reported_as_placed():
    (change,) = changes({"a": Seat("district", "RJ/Jaipur")}, {"a": Seat("district", "RJ/Ajmer")})
    assert change.reason == "placed"
    assert change.previous_unit_id == "RJ/Jaipur"


# --- properties ----------------------------------------------------------------

DISTRICTS = ("Jaipur", "Ajmer", "Kota")
BLOCKS = (None, "", "Sanganer", "Amer")


@st.composite
def candidate_sets(draw, ids=st.text("abcdefgh", min_size=1, max_size=3)):
    application_ids = draw(st.lists(ids, unique=True, max_size=40))
    return [
        Candidate(
            application_id,
            # Few scores and times so that ties are the rule, not the exception.
            draw(st.sampled_from((40, 60, 60, 80, 100))),
            T0 + timedelta(minutes=draw(st.integers(0, 3))),
            draw(st.sampled_from(DISTRICTS)),
            draw(st.sampled_from(BLOCKS)),
        )
        for application_id in application_ids
    ]


capacity_values = st.integers(0, 4)
unit_ids = st.sampled_from(["RJ", *(f"RJ/{d}" for d in DISTRICTS), *(f"RJ/{d}/{b}" for d in DISTRICTS for b in BLOCKS if b)])
capacity_sets = st.builds(
    Capacities,
    state=capacity_values,
    district=capacity_values,
    block=capacity_values,
    overrides=st.dictionaries(unit_ids, capacity_values, max_size=4),
)


@given(candidate_sets(), capacity_sets, st.randoms(use_true_random=False))
def test_placement_does_not_depend_on_input_order(candidates, capacities, random):
    shuffled = list(candidates)
    random.shuffle(shuffled)
    assert place_state("RJ", shuffled, capacities) == place_state("RJ", candidates, capacities)


@given(candidate_sets(), capacity_sets)
def test_every_candidate_gets_one_seat_and_no_unit_is_over_capacity(candidates, capacities):
    seats = place_state("RJ", candidates, capacities)
    assert seats.keys() == {c.application_id for c in candidates}
    filled = Counter(seat.unit_id for seat in seats.values() if seat.unit_id is not None)
    for unit_id, count in filled.items():
        assert count <= capacities.for_unit(unit_id, level_of_unit(unit_id))
    for seat in seats.values():
        assert (seat.level == "waitlist") == (seat.unit_id is None)
        if seat.unit_id is not None:
            assert level_of_unit(seat.unit_id) == seat.level


@given(candidate_sets(), capacity_sets)
def test_the_state_unit_holds_exactly_the_best(candidates, capacities):
    seats = place_state("RJ", candidates, capacities)
    at_state = [c for c in candidates if seats[c.application_id].level == "state"]
    below = [c for c in candidates if seats[c.application_id].level != "state"]
    assert len(at_state) == min(len(candidates), capacities.for_unit("RJ", "state"))
    if at_state and below:
        assert max(map(merit, at_state)) < min(map(merit, below))


@given(candidate_sets(), capacity_sets)
def test_each_candidate_gets_the_best_unit_left_when_their_turn_comes(candidates, capacities):
    seats = place_state("RJ", candidates, capacities)
    ranked = sorted(candidates, key=merit)
    for position, candidate in enumerate(ranked):
        seat = seats[candidate.application_id]
        if seat.level == "state":
            continue
        ahead = Counter(seats[c.application_id].unit_id for c in ranked[:position])
        district = f"RJ/{candidate.district}"
        district_has_room = ahead[district] < capacities.for_unit(district, "district")
        if district_has_room:
            assert seat == Seat("district", district)
            continue
        block = f"RJ/{candidate.district}/{candidate.block}" if candidate.block else None
        if block is not None and ahead[block] < capacities.for_unit(block, "block"):
            assert seat == Seat("block", block)
        else:
            assert seat == Seat("waitlist", None)


@st.composite
def before_and_after(draw):
    pool = draw(candidate_sets())
    before = [c for c in pool if draw(st.booleans())]
    after = [c for c in pool if draw(st.booleans())]
    return before, after, draw(capacity_sets), draw(capacity_sets)


@settings(max_examples=200)
@given(before_and_after())
def test_changes_applied_to_previous_give_current(case):
    before_candidates, after_candidates, before_capacities, after_capacities = case
    previous = place_state("RJ", before_candidates, before_capacities)
    current = place_state("RJ", after_candidates, after_capacities)
    delta = changes(previous, current)
    assert apply(previous, delta) == current
    assert len({change.application_id for change in delta}) == len(delta)
    assert [change.application_id for change in delta] == sorted(change.application_id for change in delta)
    for change in delta:
        before_seat = previous.get(change.application_id, Seat("none", None))
        assert (change.previous_level, change.previous_unit_id) == (before_seat.level, before_seat.unit_id)
        assert (change.level, change.unit_id) != (change.previous_level, change.previous_unit_id)
        expected = (
            "removed"
            if change.level == "none"
            else "placed"
            if change.previous_level == "none"
            else "promoted"
            if LEVEL_ORDER[change.level] > LEVEL_ORDER[change.previous_level]
            else "displaced"
        )
        assert change.reason == expected


# --- the service's fast path and unit listing ------------------------------------


@given(before_and_after())
def test_rerank_of_ranked_rows_equals_changes_of_place_state(case):
    before_candidates, after_candidates, before_capacities, after_capacities = case
    previous = place_state("RJ", before_candidates, before_capacities)
    staying = {c.application_id for c in after_candidates}
    rows = [(c.application_id, c.district, c.block, *_stored(previous.get(c.application_id)))
            for c in rank(after_candidates)]
    departed = {k: seat for k, seat in previous.items() if k not in staying}
    current = place_state("RJ", after_candidates, after_capacities)
    assert rerank("RJ", rows, after_capacities, departed) == changes(previous, current)


def _stored(seat: Seat | None) -> tuple[str, str | None]:
    # A candidate recorded but not yet placed is stored with level "none".
    return (seat.level, seat.unit_id) if seat else ("none", None)


@given(candidate_sets(), capacity_sets)
def test_place_ranked_of_ranked_input_is_place_state(candidates, capacities):
    ranked = [(c.application_id, c.district, c.block) for c in rank(candidates)]
    assert place_ranked("RJ", ranked, capacities) == place_state("RJ", candidates, capacities)


@pytest.mark.parametrize(
    ("unit_id", "parts"),
    [("RJ", ("RJ", None, None)), ("RJ/Jaipur", ("RJ", "Jaipur", None)),
     ("RJ/Sawai Madhopur/Bamanwas", ("RJ", "Sawai Madhopur", "Bamanwas"))],
)
def test_parse_unit_splits_an_id_into_its_places(unit_id, parts):
    assert parse_unit(unit_id) == parts


def test_parse_unit_rejects_malformed_ids():
    with pytest.raises(ValueError, match="not a unit id"):
        parse_unit("RJ//Sanganer")


def test_units_are_the_places_candidates_could_sit_in_plus_overridden_ones():
    places = [("RJ", "Jaipur", "Sanganer"), ("RJ", "Jaipur", None), ("RJ", "Jaipur Rural", None), ("UP", "Agra", "")]
    capacities = Capacities(overrides={"RJ/Kota": 5, "UP/Agra": 2})
    listed = units(places, {"RJ": 1, "RJ/Jaipur": 2}, capacities, states=["RJ"])
    assert listed == [
        Unit("RJ", "state", 50, 1),
        Unit("RJ/Jaipur", "district", 20, 2),
        Unit("RJ/Jaipur/Sanganer", "block", 10, 0),
        Unit("RJ/Jaipur Rural", "district", 20, 0),
        Unit("RJ/Kota", "district", 5, 0),
    ]
    # Every state: an empty block is no block.
    assert [u.unit_id for u in units(places, {}, capacities)][-3:] == ["RJ/Kota", "UP", "UP/Agra"]
