"""Placement use cases: each command's and event run's order of work (transaction, locks, rule, seats, events,
and a staff command's audit row in its transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from services.placement import domain
from services.placement.store import Store
from shared import audit
from shared.auth import Staff
from shared.events import ApplicationErased, Event, EventData, ScreeningCompleted, UnitLevel, new_event, runs_by_type
from shared.unit_of_work import UnitOfWork

PRODUCER = CONSUMER = "placement"

# Lock order, for every event and command: at most one application lock, then state locks in sorted
# order, then the capacity lock, then rows of states_to_re_place; so no two of them deadlock each
# other. (A consumer batch applies its events in turn in one transaction; should two replicas'
# batches deadlock, PostgreSQL aborts one and the consumer applies it again.)
# - The application lock serialises a result and its erasure: without it an erasure could commit
#   its `erased` row while a concurrent result, which had not seen it, inserts the candidate.
# - The state lock serialises the re-placements of one state across replicas.
# - The capacity lock is shared by re-placements while they use the capacities and taken alone by
#   a change of the level defaults: a re-placement that read the old defaults has committed (its
#   state is visible, hence marked) before the change, and one that starts later reads the new ones.


class UnknownUnit(LookupError):
    """No candidate could be placed in the unit and it has no capacity override."""


# --- events ------------------------------------------------------------------------------------------

async def apply_events(uow: UnitOfWork[Store], events: Sequence[Event]) -> None:
    """A consumer batch in one transaction with its inbox rows; each run of one event type to its step, in order."""
    async with uow.first_deliveries(CONSUMER, events) as (store, new):
        for event_type, run in runs_by_type(new):
            await ON_EVENTS[event_type](store, run)


async def on_screening_completed(store: Store, run: Sequence[Event]) -> None:
    """Each selection becomes (or updates) a candidate and re-places their state, unless erased or outdated."""
    for envelope, result in run:
        if not domain.places_a_candidate(result):
            continue
        application_id = envelope.application_id
        await store.lock_application(application_id)
        if await store.is_erased(application_id):
            continue  # erased before (or after) its result arrived: never placed
        before = await store.state_of(application_id)
        # A newer result may name another state (only a correction upstream would): both are re-placed.
        states = sorted({result.state} | ({before} if before else set()))
        for state in states:
            await store.lock_state(state)
        if not await store.record_selection(
                application_id, state=result.state, district=result.district, block=result.block or None,
                score=result.score, submitted_at=result.submitted_at, result_at=envelope.occurred_at,
                result_event=envelope.event_id):
            continue  # an older result than the one placement already has
        for state in states:
            await _re_place(store, state)


async def on_application_erased(store: Store, run: Sequence[Event]) -> None:
    """Each erasure is remembered for good; a candidate's seat frees up and their state is re-placed."""
    for envelope, _ in run:
        application_id = envelope.application_id
        await store.lock_application(application_id)
        await store.mark_erased(application_id)
        state = await store.state_of(application_id)
        if state is None:
            continue  # not (yet) a candidate: the mark keeps a later result from placing them
        await store.lock_state(state)
        departed = await store.forget_candidate(application_id)
        await _re_place(store, state, departed=[departed] if departed else [])


ON_EVENTS: Mapping[type[EventData], Callable[[Store, Sequence[Event]], Awaitable[None]]] = {
    ScreeningCompleted: on_screening_completed,
    ApplicationErased: on_application_erased,
}


# --- commands ------------------------------------------------------------------------------------------

async def set_level_capacities(uow: UnitOfWork[Store], by: Staff,
                               levels: Mapping[str, int]) -> tuple[domain.Capacities, int]:
    """Change level defaults, then re-place every state; returns the capacities and the placement changes.

    The change commits together with a mark on every state that has candidates; the states are then
    re-placed one transaction each (re_place_marked_states), so results of other states keep flowing.
    If this replica dies in between, the marks are left for any replica's job to finish.
    """
    async with uow.transaction() as store:
        await store.lock_capacities(exclusive=True)
        before = await store.capacities()
        await store.set_level_capacities(levels)
        await store.mark_states_with_candidates()
        # Target '*': the defaults apply to every unit of every state. The re-placements' count comes
        # later, in their own transactions; the audit row commits with the change itself.
        await store.record_audit(audit.actor_of(by), "capacity.changed", "*", _levels(before),
                                 {**_levels(before), **levels})
    changed = await re_place_marked_states(uow)
    return await capacities(uow), changed


async def re_place_marked_states(uow: UnitOfWork[Store]) -> int:
    """Re-place every state marked by a change of the level capacities, each in its own transaction.

    One state per transaction keeps each lock short, and any replica may run this at the same time:
    the mark is removed under the state's lock, so each marked state is re-placed once.
    Returns the number of placement changes.
    """
    async with uow.reading() as store:
        marked = await store.marked_states()
    total = 0
    for state in marked:
        async with uow.transaction() as store:
            await store.lock_state(state)
            # The capacity lock before the mark's row: a capacity change writes that row under the
            # lock taken alone, so taking them the other way round would deadlock with it.
            await store.lock_capacities(exclusive=False)
            if await store.unmark_state(state):
                total += await _re_place(store, state)
    return total


def _levels(capacities: domain.Capacities) -> dict[str, int]:
    return {"state": capacities.state, "district": capacities.district, "block": capacities.block}


async def set_unit_capacity(uow: UnitOfWork[Store], by: Staff, unit_id: str,
                            capacity: int) -> tuple[domain.Unit, int]:
    """Give one unit its own capacity and re-place its state (one transaction); the unit and the changes.

    Raises UnknownUnit when no candidate could sit in the unit and it has no override.
    """
    return await _change_unit_capacity(uow, by, unit_id, capacity)


async def clear_unit_capacity(uow: UnitOfWork[Store], by: Staff, unit_id: str) -> tuple[domain.Unit, int]:
    """Return one unit to its level default and re-place its state (one transaction); as set_unit_capacity."""
    return await _change_unit_capacity(uow, by, unit_id, None)


async def re_place_state(uow: UnitOfWork[Store], state: str) -> int:
    """Make one state's seats equal the rule's result again (one transaction); the placement changes."""
    async with uow.transaction() as store:
        await store.lock_state(state)
        return await _re_place(store, state)


async def _change_unit_capacity(uow: UnitOfWork[Store], by: Staff, unit_id: str,
                                capacity: int | None) -> tuple[domain.Unit, int]:
    state, _, _ = domain.parse_unit(unit_id)
    async with uow.transaction() as store:
        await store.lock_state(state)
        if not await store.unit_exists(unit_id):
            raise UnknownUnit(unit_id)
        before = await store.capacities()
        if capacity is None:
            await store.clear_unit_capacity(unit_id)
        else:
            await store.set_unit_capacity(unit_id, capacity)
        changed = await _re_place(store, state)
        # As the units listing shows it; an override just cleared on a unit nobody can sit in any
        # more still answers, empty.
        answer = domain.Unit(unit_id, domain.level_of_unit(unit_id), (await store.capacities()).for_unit(unit_id),
                             await store.seats_taken(unit_id))
        await store.record_audit(
            audit.actor_of(by), "unit-capacity.cleared" if capacity is None else "unit-capacity.set", unit_id,
            {"capacity": before.for_unit(unit_id), "override": before.overrides.get(unit_id)},
            {"capacity": answer.capacity, "override": capacity, "filled": answer.filled, "changed": changed})
    return answer, changed


async def _re_place(store: Store, state: str, departed: Iterable[domain.Departure] = ()) -> int:
    """Make the state's stored seats equal the rule's result, one placement.changed per moved candidate.

    Call with the state's lock held. `departed` are candidates deleted in this transaction (erased):
    seated before, gone now. Writes only the seats that moved; returns how many moved.
    """
    # The database clock after the lock: later re-placements of a state get later timestamps,
    # whichever replica runs them, so consumers may order a candidate's events by occurred_at.
    at = await store.clock()
    ranked = await store.ranked_seats(state)
    departed = list(departed)
    await store.lock_capacities(exclusive=False)
    moves = domain.rerank(state, ranked, await store.capacities(), {d.application_id: d.seat for d in departed})
    if not moves:
        return 0
    seated = [m for m in moves if m.level != "none"]
    scores = {d.application_id: d.score for d in departed}
    if seated:
        scores.update(await store.scores([m.application_id for m in seated]))
        await store.move_seats(seated)
    await store.add_events([
        new_event(PRODUCER, m.application_id, domain.placement_changed(state, m, scores[m.application_id]),
                  occurred_at=at)
        for m in moves
    ])
    return len(moves)


# --- reads ---------------------------------------------------------------------------------------------

async def placement_of(uow: UnitOfWork[Store], application_id: uuid.UUID) -> dict | None:
    """{application_id, state, level, unit_id, score} of a candidate, or None (not selected, not yet, or erased)."""
    async with uow.reading() as store:
        return await store.placement_of(application_id)


async def units(uow: UnitOfWork[Store], states: Sequence[str] | None,
                level: UnitLevel | None = None) -> list[domain.Unit]:
    """The units that exist in `states` (None: every state), of one level or all, with seats taken."""
    async with uow.snapshot() as store:  # so `filled` and the places agree
        places = await store.places(states)
        filled = await store.filled(states)
        current = await store.capacities()
    return [u for u in domain.units(places, filled, current, states) if level is None or u.level == level]


async def unit_members(uow: UnitOfWork[Store], unit_id: str) -> list[dict]:
    """Who sits in a unit, in merit order: [{application_id, score, rank}], rank 1 the best there.
    UnknownUnit when no candidate could sit in it and it has no override (as for its capacity)."""
    async with uow.snapshot() as store:  # so the unit's existence and its members agree
        if not await store.unit_exists(unit_id):
            raise UnknownUnit(unit_id)
        members = await store.unit_members(unit_id)
    return [{"application_id": row["application_id"], "score": row["score"], "rank": rank}
            for rank, row in enumerate(members, start=1)]


async def capacities(uow: UnitOfWork[Store]) -> domain.Capacities:
    """The level defaults and the per-unit overrides."""
    async with uow.reading() as store:
        return await store.capacities()
