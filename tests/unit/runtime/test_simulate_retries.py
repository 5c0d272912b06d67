"""`recruit simulate`'s requests ride out an outage of about a minute (a database failover, a restarted
service) with waits that never grow past BACKOFF_MAX_SECONDS, and give the last answer when it lasts longer."""

from __future__ import annotations

import asyncio

import httpx

from shared.runtime import simulate


def answering(statuses: list[int]) -> tuple[httpx.AsyncClient, list[int]]:
    """A client whose server answers `statuses` in turn (the last one for ever after); and the answers sent."""
    sent: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(sent), len(statuses) - 1)]
        sent.append(status)
        return httpx.Response(status, json={})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), sent


def test_an_outage_of_a_minute_is_waited_out_in_waits_of_at_most_four_seconds(monkeypatch) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(simulate.asyncio, "sleep", no_wait)
    client, sent = answering([503] * (simulate.RETRIES - 1) + [201])
    response = asyncio.run(simulate._send(client, "POST", "http://intake/v1/applications"))
    assert response.status_code == 201
    assert len(sent) == simulate.RETRIES
    assert max(waits) == simulate.BACKOFF_MAX_SECONDS
    assert waits[:3] == [0.5, 1.0, 2.0]
    assert sum(waits) >= 55  # about a minute in all


def test_a_longer_outage_gives_its_last_answer(monkeypatch) -> None:
    async def no_wait(seconds: float) -> None:
        pass

    monkeypatch.setattr(simulate.asyncio, "sleep", no_wait)
    client, sent = answering([503])
    response = asyncio.run(simulate._send(client, "POST", "http://intake/v1/applications", retries=3))
    assert response.status_code == 503
    assert len(sent) == 3
