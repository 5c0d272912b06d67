"""The thin happy path through all four services, in-process, on the real broker and database."""

from __future__ import annotations

import contextlib

from tests.support import (
    admin_headers,
    eventually,
    form_key_headers,
    running_all_services,
)

APPLICATION = {
    "full_name": "आशा मीणा", "phone": "098290 12345", "state": "Rajasthan", "district": "Jaipur",
    "block": "Sanganer", "age": 24, "consent": True,
}
RUBRIC = {"communication": 8, "content_creation": 7, "social_media_reach": 6, "political_awareness": 9,
          "commitment": 8}


async def test_application_travels_from_intake_to_reporting(stack) -> None:
    async with contextlib.AsyncExitStack() as services:
        intake, screening, placement, reporting = await services.enter_async_context(running_all_services())

        created = await intake.post("/v1/applications", json=APPLICATION, headers=form_key_headers())
        assert created.status_code == 201, created.text
        application_id = created.json()["application_id"]

        async def queued():
            items = (await screening.get("/v1/queue?state=RJ", headers=admin_headers())).json()["items"]
            return [i for i in items if i["application_id"] == application_id]

        [case] = await eventually(queued)
        assert case["status"] == "queued" and case["phone"] == "+919829012345"

        result = await screening.post(f"/v1/interviews/{application_id}/result", json={"scores": RUBRIC},
                                      headers=admin_headers())
        assert result.json() == {"application_id": application_id, "outcome": "selected", "score": 76}

        async def placed():
            response = await placement.get(f"/v1/placements/{application_id}", headers=admin_headers())
            return response.status_code == 200 and response.json()

        seat = await eventually(placed)
        assert (seat["level"], seat["unit_id"]) == ("state", "RJ")

        async def counted():
            summary = (await reporting.get("/v1/stats/summary")).json()
            return summary["current"]["placed"] == 1 and summary

        summary = await eventually(counted)
        assert summary["applications"] == 1
        assert summary["funnel"]["selected"] == 1
        assert summary["placed_by_level"] == {"state": 1, "district": 0, "block": 0}

        # /metrics: requests by route and status, events by consumer and outcome, relayed events.
        metrics = (await intake.get("/metrics")).text
        assert 'route="/v1/applications",service="intake",status="201"' in metrics
        assert (await screening.get("/metrics")).headers["content-type"].startswith("text/plain")
        assert 'recruit_events_consumed_total{consumer="screening",result="applied",topic="applications.submitted"}' \
            in (await screening.get("/metrics")).text
        assert 'recruit_outbox_published_total{service="intake"}' in metrics
