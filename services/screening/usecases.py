"""Screening use cases: one function per command and per consumed event type, each owning its
transaction, locks and order (load, decide in the domain, save, queue the events in the outbox, and
for a staff write its audit row, in the same transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import NamedTuple, Protocol

from services.screening import domain
from services.screening.store import DECIDED_START, INTERVIEWS_START, QUEUE_START, Store
from shared import audit, tracing
from shared.events import (
    ApplicationErased,
    ApplicationSubmitted,
    Event,
    EventData,
    new_event,
    new_events,
    runs_by_type,
)
from shared.india_time import today_in_india
from shared.unit_of_work import UnitOfWork

PRODUCER = "screening"
CONSUMER = "screening"

# Cases released per transaction: releasing a large state's backlog in one transaction would
# hold the calendar lock (and so every calendar change) for its whole length.
RELEASE_BATCH = 2000


class OutOfScope(Exception):
    """The caller may not act in the case's state."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class Scope(Protocol):
    """Who acts (shared.auth.Staff): the states they may act in, and who they are for the audit."""

    role: str
    states: frozenset[str] | None
    fingerprint: str | None

    def may_act_in(self, state: str) -> bool: ...

    def visible_states(self) -> list[str] | None: ...


async def _case_to_change(store: Store, application_id: uuid.UUID, scope: Scope) -> domain.Case:
    # In this order: an unknown case is 404 whoever asks, then the scope, then the case's status.
    case = domain.open_for_interview(await store.case_for_update(application_id))
    if not scope.may_act_in(case.state):
        raise OutOfScope(case.state)
    return case


# --- commands ------------------------------------------------------------------------------------


async def schedule_interview(uow: UnitOfWork[Store], scope: Scope, application_id: uuid.UUID,
                             interview_at: datetime, interviewer: str | None) -> None:
    """Book (or re-book) one case's interview: one screening.interview-scheduled."""
    async with uow.transaction() as store:
        case = await _case_to_change(store, application_id, scope)
        scheduled = domain.schedule(case, interview_at, interviewer)
        await store.schedule_interview(application_id, interview_at, interviewer)
        async with tracing.continuing("screening interview scheduled", lambda: store.case_traceparent(application_id)):
            await store.add_events([new_event(PRODUCER, application_id, scheduled)])
        # No interviewer name: the audit holds no names (the event carries it for those who need it).
        await store.record_audit(audit.actor_of(scope), "interview.scheduled", str(application_id),
                                 {"state": case.state, "status": case.status},
                                 {"state": case.state, "status": "scheduled", "interview_at": scheduled.interview_at})


async def record_result(uow: UnitOfWork[Store], scope: Scope, application_id: uuid.UUID,
                        rubric: Mapping[str, int] | None, interviewer: str | None,
                        threshold: int) -> domain.Decision:
    """Decide one case: scored against `threshold`, or a no-show when `rubric` is None. One screening.completed;
    the case remembers the deciding token's fingerprint (GET /v1/cases/decided)."""
    async with uow.transaction() as store:
        case = await _case_to_change(store, application_id, scope)
        decision = domain.decide(case, rubric, threshold, interviewer)
        await store.record_result(application_id, decision.outcome, decision.score, decision.rubric, interviewer,
                                  scope.fingerprint)
        async with tracing.continuing("screening interview result", lambda: store.case_traceparent(application_id)):
            await store.add_events([new_event(PRODUCER, application_id, decision.completed)])
        await store.record_audit(audit.actor_of(scope), "interview.result", str(application_id),
                                 {"state": case.state, "status": case.status},
                                 {"state": case.state, "status": decision.outcome, "score": decision.score,
                                  "rubric": decision.rubric, "threshold": threshold})
    return decision


class Wave(NamedTuple):
    capacity: int
    slots: list[domain.Slot]


async def schedule_wave(uow: UnitOfWork[Store], scope: Scope, state: str, day: date, start: time, end: time,
                        slot_minutes: int, interviewers: Sequence[str], today: date | None = None) -> Wave:
    """Book the head of a state's queue into a day's slots, one screening.interview-scheduled per booking.
    OutOfScope unless `scope` may act in `state`."""
    if not scope.may_act_in(state):
        raise OutOfScope(state)
    today = today or today_in_india()
    starts = domain.wave_starts(day, start, end, slot_minutes, today)
    async with uow.transaction() as store:
        await store.lock_waves()
        await store.lock_calendar(exclusive=False)
        domain.ensure_not_deferred(state, today, await store.calendar_entry(state))
        busy = await store.booked_interviews(interviewers, *domain.booking_horizon(starts, slot_minutes))
        cases = await store.queued_for_wave(state, len(starts) * len(interviewers))
        slots = domain.plan_wave(day, start, end, slot_minutes, interviewers, cases, busy=busy)
        await store.schedule_wave(slots)
        await store.add_events([new_event(PRODUCER, slot.application_id, domain.booked(state, slot)) for slot in slots])
        # The wave, not each booking (each has its event): how many interviewers, not who.
        await store.record_audit(audit.actor_of(scope), "wave.scheduled", state, None, {
            "date": day, "start": start, "end": end, "slot_minutes": slot_minutes, "interviewers": len(interviewers),
            "capacity": len(starts) * len(interviewers), "scheduled": len(slots)})
    return Wave(len(starts) * len(interviewers), slots)


class QueuePage(NamedTuple):
    items: list[Mapping]
    more: bool


async def queue_page(uow: UnitOfWork[Store], states: Sequence[str] | None, limit: int,
                     after: tuple[bool, datetime, uuid.UUID] | None = None, today: date | None = None) -> QueuePage:
    """A page of the queue (every state's, or those of `states`) after the keyset position `after`; each
    item with its `reason` (a deferred case's: until when its state's polling runs)."""
    today = today or today_in_india()
    async with uow.reading() as store:
        rows = await store.waiting_cases(states, limit + 1, after or QUEUE_START)
        deferred = any(row["status"] == "deferred" for row in rows[:limit])
        calendar = await store.election_calendar() if deferred else {}
    items = [{**row, "reason": domain.queue_reason(row["status"], row["state"], today, calendar)}
             for row in rows[:limit]]
    return QueuePage(items, len(rows) > limit)


async def interviews_page(uow: UnitOfWork[Store], states: Sequence[str] | None, interviewer: str | None,
                          day: date | None, limit: int, after: tuple[datetime, uuid.UUID] | None = None) -> QueuePage:
    """A page of the scheduled interviews (every state's, or those of `states`; every interviewer's, or the one
    named; on any day, or on that Indian day) in time order, after the keyset position `after`."""
    window = domain.indian_day(day) if day is not None else None
    async with uow.reading() as store:
        rows = await store.scheduled_interviews(states, interviewer, window, limit + 1, after or INTERVIEWS_START)
    return QueuePage(rows[:limit], len(rows) > limit)


async def decided_page(uow: UnitOfWork[Store], scope: Scope, limit: int,
                       before: tuple[datetime, uuid.UUID] | None = None) -> QueuePage:
    """A page of the cases decided with this token (by its fingerprint), newest first, older than the keyset
    position `before`; only of the token's states and not erased."""
    if scope.fingerprint is None:
        return QueuePage([], False)
    async with uow.reading() as store:
        rows = await store.decided_by(scope.fingerprint, scope.visible_states(), limit + 1, before or DECIDED_START)
    return QueuePage(rows[:limit], len(rows) > limit)


async def contacts(uow: UnitOfWork[Store], states: Sequence[str] | None,
                   application_ids: Sequence[uuid.UUID]) -> list[Mapping]:
    """The contact details of the named cases that are in `states` (None: every state) and not erased, in the
    order named; the others are left out, so an id outside the caller's states looks like an unknown one."""
    async with uow.reading() as store:
        found = {row["application_id"]: row for row in await store.contacts(list(dict.fromkeys(application_ids)),
                                                                            states)}
    return [found[i] for i in dict.fromkeys(application_ids) if i in found]


class CalendarEntry(NamedTuple):
    state: str
    polling_ends: date
    deferring: bool


async def election_calendar(uow: UnitOfWork[Store], today: date | None = None) -> tuple[date, list[CalendarEntry]]:
    """Today in India and every calendar entry, with whether it defers its state's cases today."""
    today = today or today_in_india()
    async with uow.reading() as store:
        calendar = await store.election_calendar()
    return today, [CalendarEntry(state, ends, domain.is_deferred(state, today, calendar))
                   for state, ends in calendar.items()]


async def _apply_calendar_to_state(store: Store, state: str, today: date) -> int:
    # Under the exclusive calendar lock; one screening.queued per case whose status changed.
    calendar = await store.election_calendar()
    queued = domain.waiting(state, today, calendar)
    changed = await store.set_waiting_status(state, queued.status)
    await store.add_events(new_events(PRODUCER, [(application_id, queued) for application_id in changed]))
    return len(changed)


async def set_polling_ends(uow: UnitOfWork[Store], by: Scope, state: str, polling_ends: date,
                           today: date | None = None) -> tuple[int, bool]:
    """Set a state's last polling day and apply it to the state's waiting cases at once:
    (how many changed status, whether the state is deferred today)."""
    today = today or today_in_india()
    async with uow.transaction() as store:
        await store.lock_calendar(exclusive=True)
        before = (await store.calendar_entry(state)).get(state)
        await store.set_polling_ends(state, polling_ends)
        changed = await _apply_calendar_to_state(store, state, today)
        await store.record_audit(audit.actor_of(by), "calendar.set", state, {"polling_ends": before},
                                 {"polling_ends": polling_ends, "changed": changed})
    return changed, domain.is_deferred(state, today, {state: polling_ends})


async def clear_polling_ends(uow: UnitOfWork[Store], by: Scope, state: str, today: date | None = None) -> None:
    """Clear a state's calendar entry, whether or not it had one: its deferred cases are queued again."""
    today = today or today_in_india()
    async with uow.transaction() as store:
        await store.lock_calendar(exclusive=True)
        before = (await store.calendar_entry(state)).get(state)
        await store.clear_polling_ends(state)
        changed = await _apply_calendar_to_state(store, state, today)
        await store.record_audit(audit.actor_of(by), "calendar.cleared", state, {"polling_ends": before},
                                 {"polling_ends": None, "changed": changed})


# --- the release job -----------------------------------------------------------------------------


async def release_due(uow: UnitOfWork[Store], today: date | None = None) -> int:
    """Queue again every deferred case whose state's polling ended before `today`; how many.

    In transactions of RELEASE_BATCH cases, under the shared calendar lock (only calendar changes
    must not interleave); safe to run from several replicas at once (Store.release_deferred).
    """
    today = today or today_in_india()
    released = 0
    while True:
        async with uow.transaction() as store:
            await store.lock_calendar(exclusive=False)
            calendar = await store.election_calendar()
            cases = await store.release_deferred(domain.released_states(today, calendar), RELEASE_BATCH)
            await store.add_events([new_event(PRODUCER, application_id, domain.waiting(state, today, calendar))
                                    for application_id, state in cases])
        released += len(cases)
        if len(cases) < RELEASE_BATCH:
            return released


# --- consumed events -----------------------------------------------------------------------------


async def open_cases(store: Store, submissions: Sequence[Event], today: date | None) -> None:
    """Open a case per submitted application, each waiting as the election calendar says today
    (an application with a case, or erased, opens none): one calendar read, one insert and one
    outbox write for the run."""
    await store.lock_calendar(exclusive=False)
    calendar, today = await store.election_calendar(), today or today_in_india()
    cases = domain.new_cases(((envelope.application_id, data) for envelope, data in submissions), today, calendar)
    opened = domain.opened_events(cases, await store.open_cases(cases, tracing.traceparents_of(cases)))
    await store.add_events(new_events(PRODUCER, opened))


async def erase_cases(store: Store, erasures: Sequence[Event], today: date | None) -> None:
    """Forget each erased application's contact details; its id is kept, so a submission that
    arrives after its erasure (they travel on different topics) never opens a case. Screening's own
    events carry no name, phone or email, so its outbox has nothing to scrub."""
    for envelope, data in erasures:
        await store.remember_erased(envelope.application_id, data.erased_at)
        await store.erase_case(envelope.application_id)


STEPS: dict[type[EventData], Callable[[Store, Sequence[Event], date | None], Awaitable[None]]] = {
    ApplicationSubmitted: open_cases,
    ApplicationErased: erase_cases,
}


async def apply_events(uow: UnitOfWork[Store], events: Sequence[Event], today: date | None = None) -> None:
    """Apply a consumer batch in one transaction with its inbox rows: the events not applied
    before, in delivery order, a run of one type at a time, so the result is what one event at a
    time gives (an erasure before its submission keeps the case from opening; one after it blanks
    the case)."""
    async with uow.first_deliveries(CONSUMER, events) as (store, new):
        for event_type, run in runs_by_type(new):
            step = STEPS.get(event_type)
            if step is None:
                raise TypeError(f"screening has no use case for {run[0][0].event_type}")
            await step(store, run, today)
