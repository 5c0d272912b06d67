"""Erasure across the four services (in-process, on the real broker and PostgreSQL): after DELETE at intake, no
table of any service holds the applicant's name, phone or email."""

from __future__ import annotations

import contextlib

import asyncpg

from tests.support import (
    admin_headers,
    eventually,
    form_key_headers,
    running_all_services,
)

SCHEMAS = ("intake", "screening", "placement", "reporting")
ERASED = {"full_name": "Zoya Erasetest Qureshi", "phone": "+91 93141-59265", "email": "zoya.erasetest@example.org",
          "state": "RJ", "district": "Jaipur", "block": "Sanganer", "age": 29, "consent": True,
          "social": {"instagram": "@zoya_erasetest"}, "skills": ["fact_checking"]}
KEPT = {"full_name": "कमला बैरवा", "phone": "9414100001", "email": "kamla.kept@example.org", "state": "RJ",
        "district": "Jaipur", "age": 35, "consent": True}
# Every way the erased applicant's personal data could have been written down.
ERASED_VALUES = ("Zoya Erasetest", "9314159265", "93141-59265", "zoya.erasetest", "zoya_erasetest")
RUBRIC = {"communication": 9, "content_creation": 8, "social_media_reach": 7, "political_awareness": 8,
          "commitment": 9}


async def tables_holding(conn: asyncpg.Connection, values: tuple[str, ...]) -> list[str]:
    """schema.table of every table, in every service's schema, with a row whose text contains one of `values`."""
    found = []
    for schema, table in await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE' ORDER BY 1, 2", list(SCHEMAS)):
        text = await conn.fetchval(f'SELECT string_agg(t::text, chr(10)) FROM "{schema}"."{table}" t')
        if text and any(value in text for value in values):
            found.append(f"{schema}.{table}")
    return found


async def test_personal_data_is_gone_from_every_service_and_counts_stay(stack) -> None:
    async with contextlib.AsyncExitStack() as services:
        intake, screening, placement, reporting = await services.enter_async_context(running_all_services())
        conn = await asyncpg.connect(stack.database_url)
        services.push_async_callback(conn.close)

        ids = {}
        for name, body in (("erased", ERASED), ("kept", KEPT)):
            response = await intake.post("/v1/applications", json=body, headers=form_key_headers())
            assert response.status_code == 201, response.text
            ids[name] = response.json()["application_id"]
        erased_id = ids["erased"]

        async def queued():
            items = (await screening.get("/v1/queue?state=RJ&limit=50", headers=admin_headers())).json()["items"]
            return {i["application_id"] for i in items} >= set(ids.values())

        await eventually(queued)
        for application_id in ids.values():  # both selected, so both are placed
            result = await screening.post(f"/v1/interviews/{application_id}/result", json={"scores": RUBRIC},
                                          headers=admin_headers())
            assert result.status_code == 200, result.text

        async def placed():
            seats = [await placement.get(f"/v1/placements/{i}", headers=admin_headers()) for i in ids.values()]
            return all(s.status_code == 200 for s in seats)

        async def status_of_erased():
            return (await reporting.get(f"/v1/applications/{erased_id}/status",
                                        params={"phone": ERASED["phone"]})).status_code

        await eventually(placed)
        await eventually(lambda: _equals(status_of_erased, 200))
        # Before erasure the scan finds the data in every service that keeps it: it can fail.
        assert {"intake.applications", "intake.outbox", "screening.cases"} <= set(
            await tables_holding(conn, ERASED_VALUES))

        erased = await intake.request("DELETE", f"/v1/applications/{erased_id}", json={"phone": "09314159265"})
        assert erased.status_code == 204

        async def clean():
            return not await tables_holding(conn, ERASED_VALUES)

        try:
            await eventually(clean, timeout=30)
        except AssertionError:
            raise AssertionError(f"personal data still in {await tables_holding(conn, ERASED_VALUES)}") from None

        # every service has acted on it
        async def seat_of_erased():
            return (await placement.get(f"/v1/placements/{erased_id}", headers=admin_headers())).status_code

        await eventually(lambda: _equals(seat_of_erased, 404))
        await eventually(lambda: _equals(status_of_erased, 404))
        queue = (await screening.get("/v1/queue?state=RJ&limit=50", headers=admin_headers())).json()["items"]
        assert erased_id not in {i["application_id"] for i in queue}
        record = (await intake.get(f"/v1/applications/{erased_id}", headers=admin_headers())).json()
        assert record["erased"] and record["full_name"] is None and record["state"] == "RJ"

        # the other applicant is untouched, and the counts stay
        assert {"intake.applications", "screening.cases"} <= set(
            await tables_holding(conn, ("कमला बैरवा", "9414100001", "kamla.kept")))
        assert (await placement.get(f"/v1/placements/{ids['kept']}", headers=admin_headers())).status_code == 200

        async def counted():
            summary = (await reporting.get("/v1/stats/summary")).json()
            return summary["erased"] == 1 and summary

        summary = await eventually(counted)
        assert summary["applications"] == 2 and summary["funnel"]["selected"] == 2
        assert summary["current"]["placed"] == 1


async def _equals(check, expected) -> bool:
    return await check() == expected
