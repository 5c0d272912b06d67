"""Retention across the four services (in-process, real broker and PostgreSQL): `POST /v1/admin/purge` erases the
applications whose case ended rejected or no_show long enough ago — after it no text or JSON column of any table in
any schema holds their name, phone, e-mail or handle, the others' data stays, and no count in reporting moves; a
dry run counts and changes nothing. Published outbox rows past OUTBOX_RETENTION_DAYS keep their envelope and lose
their data (every service runs the job)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from types import SimpleNamespace

import asyncpg
import httpx

from shared import db as shared_db
from shared.retention import trim_outbox_payloads, trim_published_outbox
from tests.support import (
    INTERVIEWER_TOKEN,
    admin_headers,
    bearer,
    eventually,
    form_key_headers,
    running_all_services,
)

SCHEMAS = ("intake", "screening", "placement", "reporting")
LOW = {"communication": 2, "content_creation": 3, "social_media_reach": 2, "political_awareness": 3, "commitment": 2}
HIGH = {"communication": 9, "content_creation": 8, "social_media_reach": 7, "political_awareness": 8, "commitment": 9}


def applicant(name: str, phone: str, handle: str) -> dict:
    return {"full_name": name, "phone": phone, "email": f"{handle}@example.org", "state": "RJ", "district": "Jaipur",
            "age": 30, "consent": True, "social": {"instagram": f"@{handle}"}}


# name -> (application, its interview's result, ended long ago?)
PEOPLE = {
    "rejected_long_ago": (applicant("Purvi Retentiontest", "+91 93141-11111", "purvi_retention"), {"scores": LOW}, True),
    "no_show_long_ago": (applicant("नीरज पर्जटेस्ट", "9314122222", "neeraj_retention"), {"outcome": "no_show"}, True),
    "selected_long_ago": (applicant("Kavya Keptselected", "9314133333", "kavya_kept"), {"scores": HIGH}, True),
    "rejected_lately": (applicant("Rohan Keptrecent", "9314144444", "rohan_kept"), {"scores": LOW}, False),
}
PURGED = ("rejected_long_ago", "no_show_long_ago")
# Every way a purged applicant's personal data could have been written down.
PURGED_VALUES = ("Purvi Retentiontest", "पर्जटेस्ट", "9314111111", "93141-11111", "9314122222", "purvi_retention",
                 "neeraj_retention")
KEPT_VALUES = ("Kavya Keptselected", "9314133333", "kavya_kept", "Rohan Keptrecent", "9314144444", "rohan_kept")


async def columns_holding(conn: asyncpg.Connection, values: tuple[str, ...]) -> list[str]:
    """schema.table.column of every text or JSON column, of every table in the four schemas, with a value
    containing one of `values`."""
    found = []
    for schema, table, column in await conn.fetch(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = ANY($1) AND t.table_type = 'BASE TABLE'"
            " AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')"
            " ORDER BY 1, 2, 3", list(SCHEMAS)):
        # ::text of jsonb escapes nothing but quotes, so Devanagari and @handles are found as written
        hits = await conn.fetchval(
            f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text LIKE ANY($1::text[])',
            [f"%{value}%" for value in values])
        if hits:
            found.append(f"{schema}.{table}.{column}")
    return found


async def every_row(conn: asyncpg.Connection) -> dict[str, list[str]]:
    tables = await conn.fetch("SELECT table_schema, table_name FROM information_schema.tables"
                              " WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE'", list(SCHEMAS))
    return {f"{s}.{t}": sorted(await conn.fetchval(f'SELECT array_agg(x::text) FROM "{s}"."{t}" x') or [])
            for s, t in tables}


async def counts(reporting: httpx.AsyncClient) -> dict:
    summary = (await reporting.get("/v1/stats/summary")).json()
    summary.pop("as_of")
    return {"summary": summary, "states": (await reporting.get("/v1/stats/states")).json(),
            "rj": (await reporting.get("/v1/stats/states/RJ")).json(),
            "days": (await reporting.get("/v1/stats/timeseries?bucket=day")).json()}


async def test_a_purge_erases_the_long_ended_everywhere_keeps_the_others_and_every_count(stack) -> None:
    async with contextlib.AsyncExitStack() as running_stack:
        intake, screening, placement, reporting = await running_stack.enter_async_context(running_all_services())
        conn = await asyncpg.connect(stack.database_url)
        running_stack.push_async_callback(conn.close)

        ids = {}
        for name, (body, _, _) in PEOPLE.items():
            response = await intake.post("/v1/applications", json=body, headers=form_key_headers())
            assert response.status_code == 201, response.text
            ids[name] = response.json()["application_id"]

        async def queued():
            items = (await screening.get("/v1/queue?state=RJ&limit=50", headers=admin_headers())).json()["items"]
            return {i["application_id"] for i in items} >= set(ids.values())

        await eventually(queued)
        for name, (_, result, _) in PEOPLE.items():
            booked = await screening.post("/v1/interviews", headers=admin_headers(), json={
                "application_id": ids[name], "interview_at": "2026-12-01T10:00:00+05:30"})
            assert booked.status_code == 201, booked.text
            answer = await screening.post(f"/v1/interviews/{ids[name]}/result", json=result, headers=admin_headers())
            assert answer.status_code == 200, answer.text

        # intake hears how each case ended; the ones "long ago" are moved back in time.
        outcomes = await eventually(lambda: _outcomes(conn, 4))
        assert outcomes == {ids["rejected_long_ago"]: "rejected", ids["no_show_long_ago"]: "no_show",
                            ids["selected_long_ago"]: "selected", ids["rejected_lately"]: "rejected"}
        await conn.execute("UPDATE intake.case_outcomes SET ended_at = ended_at - interval '100 days'"
                           " WHERE application_id = ANY($1::uuid[])",
                           [ids[name] for name, (_, _, long_ago) in PEOPLE.items() if long_ago])

        async def settled():
            found = await counts(reporting)
            funnel = found["summary"]["funnel"]
            placed = (await placement.get(f"/v1/placements/{ids['selected_long_ago']}",
                                          headers=admin_headers())).status_code == 200
            return placed and found["summary"]["current"]["placed"] == 1 and (
                funnel["rejected"], funnel["no_show"], funnel["selected"]) == (2, 1, 1) and found

        before_counts = await eventually(settled)
        assert set(await columns_holding(conn, PURGED_VALUES)) >= {
            "intake.applications.full_name", "intake.outbox.payload", "screening.cases.full_name"}, \
            "before the purge the scan finds the data: it can fail"

        # Only an admin may purge; a bad body is the documented 422.
        purge = {"older_than_days": 90}
        assert (await intake.post("/v1/admin/purge", json=purge)).status_code == 401
        assert (await intake.post("/v1/admin/purge", json=purge, headers=bearer(INTERVIEWER_TOKEN))).status_code == 403
        refused = await intake.post("/v1/admin/purge", json={"older_than_days": -1}, headers=admin_headers())
        assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "older_than_days"

        # A dry run says how many, and changes nothing anywhere.
        rows_before = await every_row(conn)
        dry = await intake.post("/v1/admin/purge", json={**purge, "dry_run": True}, headers=admin_headers())
        assert dry.status_code == 200 and dry.json() == {"older_than_days": 90, "dry_run": True, "applications": 2}
        assert await every_row(conn) == rows_before

        done = await intake.post("/v1/admin/purge", json=purge, headers=admin_headers())
        assert done.status_code == 200 and done.json() == {"older_than_days": 90, "dry_run": False, "applications": 2}

        async def clean():
            return not await columns_holding(conn, PURGED_VALUES)

        try:
            await eventually(clean, timeout=30)
        except AssertionError:
            raise AssertionError(f"still in {await columns_holding(conn, PURGED_VALUES)}") from None

        for name in PURGED:  # every consumer has acted: the status look-up is gone, as after erasure on request
            phone = PEOPLE[name][0]["phone"]
            await eventually(lambda: _status(reporting, ids[name], phone, 404))
            record = (await intake.get(f"/v1/applications/{ids[name]}", headers=admin_headers())).json()
            assert record["erased"] and record["full_name"] is None and record["state"] == "RJ"
        erasures = await conn.fetch("SELECT payload FROM intake.outbox WHERE event_type = 'application.erased'")
        assert sorted(json.loads(row["payload"])["data"]["reason"] for row in erasures) == ["retention", "retention"]

        # The others stay whole, and no count in reporting moved (not even `erased`: a retention
        # purge is housekeeping, not an erasure on request).
        assert {"intake.applications.full_name", "screening.cases.full_name"} <= set(
            await columns_holding(conn, KEPT_VALUES))
        await eventually(lambda: _status(reporting, ids["rejected_lately"], PEOPLE["rejected_lately"][0]["phone"], 200))
        assert await counts(reporting) == before_counts
        assert before_counts["summary"]["erased"] == 0

        # One audit row of counts per batch, no personal data in it.
        audit = (await intake.get("/v1/audit", headers=admin_headers())).json()["items"]
        [purged] = [row for row in audit if row["action"] == "applications.purged"]
        assert (purged["before"], purged["after"], purged["actor"]["role"]) == (
            {"older_than_days": 90}, {"erased": 2}, "admin")
        again = await intake.post("/v1/admin/purge", json=purge, headers=admin_headers())
        assert again.json()["applications"] == 0

        # Outbox retention: every published row keeps its envelope and loses its data, in every schema;
        # then no outbox holds anyone's personal data, and a second round has nothing left to do.
        await eventually(lambda: _all_published(conn))
        envelopes_before = await _envelopes(conn)
        for schema in ("intake", "placement", "reporting"):
            pool = await shared_db.create_pool(stack.database_url, schema)
            try:
                assert await trim_published_outbox(pool, timedelta(days=1)) == 0, "nothing is that old"
                rows = await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox')  # reporting's: none
                assert await trim_published_outbox(pool, timedelta(0), batch=3) == rows
                assert await trim_published_outbox(pool, timedelta(0)) == 0
            finally:
                await pool.close()
        # Screening's by the Runtime's own job (every service runs it), with a retention of a moment.
        for client in (intake, screening, placement, reporting):
            runtime = client.app.state.runtime
            assert f"{runtime.service}-trim_outbox_payloads" in {task.get_name() for task in runtime.tasks}
        runtime = screening.app.state.runtime
        moment = SimpleNamespace(service="screening", db=runtime.db, settings=runtime.settings.model_copy(
            update={"outbox_retention_days": 1e-9, "outbox_trim_seconds": 0.1}))
        job = asyncio.create_task(trim_outbox_payloads(moment))
        try:
            await eventually(lambda: _none_left(conn, "screening"))
        finally:
            job.cancel()
        trimmed = await _envelopes(conn)
        assert len(trimmed) > 10
        assert {key: {k: v for k, v in e.items() if k != "data"} for key, e in trimmed.items()} == {
            key: {k: v for k, v in e.items() if k != "data"} for key, e in envelopes_before.items()}
        assert all(e["data"] == {} for e in trimmed.values())
        assert not [c for c in await columns_holding(conn, KEPT_VALUES) if c.endswith(".outbox.payload")]


async def _outcomes(conn: asyncpg.Connection, expected: int) -> dict | None:
    rows = await conn.fetch("SELECT application_id::text, outcome FROM intake.case_outcomes")
    return len(rows) == expected and {row["application_id"]: row["outcome"] for row in rows}


async def _status(reporting: httpx.AsyncClient, application_id: str, phone: str, expected: int) -> bool:
    answer = await reporting.get(f"/v1/applications/{application_id}/status", params={"phone": phone})
    return answer.status_code == expected


async def _none_left(conn: asyncpg.Connection, schema: str) -> bool:
    return not await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE payload::jsonb->\'data\' <> \'{{}}\'')


async def _all_published(conn: asyncpg.Connection) -> bool:
    return all([not await conn.fetchval(f'SELECT count(*) FROM "{s}".outbox_pending')
                for s in SCHEMAS])


async def _envelopes(conn: asyncpg.Connection) -> dict[tuple[str, int], dict]:
    found = {}
    for schema in SCHEMAS:
        for row in await conn.fetch(f'SELECT id, payload, event_id::text, topic, key FROM "{schema}".outbox'):
            envelope = json.loads(row["payload"])
            assert envelope["event_id"] == row["event_id"]
            found[schema, row["id"]] = envelope
    return found
