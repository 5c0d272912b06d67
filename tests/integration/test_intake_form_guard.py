"""The public form's key is in its page, so intake guards it per client: one abusive address is refused
while another still gets in, X-Forwarded-For counts only from TRUSTED_PROXIES, and the honeypot and the
minimum fill time refuse bots (one 400, the same whichever check it was), storing nothing."""

from __future__ import annotations

import asyncio
import re
import urllib.parse

import httpx
import pytest

from services.intake.api import NOT_ACCEPTED
from shared.settings import Settings
from tests.support import TEST_SIMULATOR_KEY, form_key_headers, running

BURST, MIN_FILL = 3, 1.0
A, B, C, PROXY = "203.0.113.7", "198.51.100.9", "192.0.2.44", "10.0.0.1"
phones = iter(f"+9187{n:08d}" for n in range(10**8))


def application(**extra) -> dict:
    return {"full_name": "Asha Meena", "phone": next(phones), "state": "RJ", "district": "Jaipur", "age": 24,
            "consent": True, **extra}


@pytest.fixture(scope="module")
async def intake(stack):
    from services.intake.app import create_app

    settings = Settings(intake_form_address_burst=BURST, intake_form_address_rate_per_second=0.01,
                        intake_form_min_fill_seconds=MIN_FILL, trusted_proxies=f"{PROXY},172.16.0.0/12")
    async with running(lambda: create_app(settings)) as client:
        yield client


def from_address(intake, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=intake.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=form_key_headers())


async def page_stamp(client) -> str:
    page = (await client.get("/")).text
    return re.search(r'name="form_stamp" id="form_stamp" value="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
async def stamp(intake) -> str:
    """A stamp from the page, old enough to pass the minimum fill time."""
    value = await page_stamp(intake)
    await asyncio.sleep(MIN_FILL + 0.1)
    return value


async def applications(intake) -> int:
    return await intake.app.state.runtime.db().fetchval("SELECT count(*) FROM applications")


async def test_one_abusive_address_is_refused_while_another_gets_in(intake, stamp) -> None:
    async with from_address(intake, A) as a, from_address(intake, B) as b:
        for _ in range(BURST):
            assert (await a.post("/v1/applications", json=application(form_stamp=stamp))).status_code == 201
        refused = await a.post("/v1/applications", json=application(form_stamp=stamp))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert isinstance(refused.json()["detail"], str)
        # Claiming another address is no way out for a client that is not a trusted proxy.
        spoofed = await a.post("/v1/applications", json=application(form_stamp=stamp),
                               headers={"X-Forwarded-For": C})
        assert spoofed.status_code == 429
        assert (await b.post("/v1/applications", json=application(form_stamp=stamp))).status_code == 201
        # An upstream's own key is not the public form's: no per-address limit.
        upstream = await a.post("/v1/applications", json=application(), headers={"X-Api-Key": TEST_SIMULATOR_KEY})
        assert upstream.status_code == 201


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(intake, stamp) -> None:
    async with from_address(intake, PROXY) as proxy, from_address(intake, "172.20.1.2") as inner:
        for _ in range(BURST):  # a client behind the proxy spends its own bucket, not the proxy's
            answer = await proxy.post("/v1/applications", json=application(form_stamp=stamp),
                                      headers={"X-Forwarded-For": f"{C}, 172.20.1.2"})
            assert answer.status_code == 201
        answer = await inner.post("/v1/applications", json=application(form_stamp=stamp),
                                  headers={"X-Forwarded-For": C})
        assert answer.status_code == 429
        answer = await proxy.post("/v1/applications", json=application(form_stamp=stamp),
                                  headers={"X-Forwarded-For": "192.0.2.45"})
        assert answer.status_code == 201


async def test_the_honeypot_and_the_minimum_fill_time_refuse_alike(intake, stamp) -> None:
    before = await applications(intake)
    fresh = await page_stamp(intake)
    attempts = [application(form_stamp=stamp, website="http://cheap.example"), application(form_stamp=fresh),
                application(), application(form_stamp=stamp.split(".")[0] + ".0" * 32)]
    for n, body in enumerate(attempts):
        async with from_address(intake, f"192.0.2.{100 + n}") as client:
            answer = await client.post("/v1/applications", json=body)
            assert (answer.status_code, answer.json()) == (400, {"detail": NOT_ACCEPTED}), body
    async with from_address(intake, "192.0.2.99") as client:  # a form post without JavaScript gets its page
        fields = {**application(form_stamp=fresh), "consent": "true", "api_key": form_key_headers()["X-Api-Key"]}
        answer = await client.post("/v1/applications", content=urllib.parse.urlencode(fields),
                                   headers={"Content-Type": "application/x-www-form-urlencoded",
                                            "Accept": "text/html"})
        assert answer.status_code == 400 and "This submission was not accepted" in answer.text
    assert await applications(intake) == before
    assert (await intake.get("/readyz")).status_code == 200


async def test_a_page_shown_again_with_its_errors_keeps_the_stamp_it_was_sent_with(intake, stamp) -> None:
    """Fixing one field is not filling the form again: the resent page may go at once (the browser test
    takes this path too, through a real form post)."""
    async with from_address(intake, "192.0.2.98") as client:
        fields = {**application(form_stamp=stamp, phone="12345"), "consent": "true",
                  "api_key": form_key_headers()["X-Api-Key"]}
        answer = await client.post("/v1/applications", content=urllib.parse.urlencode(fields),
                                   headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
        assert answer.status_code == 422
        shown = re.search(r'name="form_stamp" id="form_stamp" value="([^"]+)"', answer.text).group(1)
        assert shown == stamp
        fixed = {**fields, "phone": next(phones), "form_stamp": shown}
        again = await client.post("/v1/applications", content=urllib.parse.urlencode(fixed),
                                  headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
        assert again.status_code == 201, again.text[:500]


async def test_the_page_hides_the_honeypot_from_people(intake) -> None:
    page = (await intake.get("/")).text
    trap = re.search(r'<div class="trap" aria-hidden="true">(.*?)</div>', page, re.S).group(1)
    assert 'name="website"' in trap and 'tabindex="-1"' in trap and 'autocomplete="off"' in trap
