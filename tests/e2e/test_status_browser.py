"""The applicant's status page (reporting GET /status) in headless Chromium against `recruit up`, over real HTTP:
an applicant finds their stage from id + phone (the phone in another spelling, never in the address), a wrong phone
and an unknown id answer the very same words, a malformed id its own; the seat once placed; Hindi remembered; the
application form's confirmation links here with the id filled in; axe-core clean and no sideways scroll at desktop
and 390 px, with screenshots."""

from __future__ import annotations

import random
import uuid
from urllib.parse import urlparse

import httpx
import pytest

from tests.support import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    RecruitUp,
    axe_violations,
    bearer,
    chromium,
    free_port_base,
    no_sideways_scroll,
    screenshot,
    wait_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian package chromium) on this machine"),
]

RUBRIC = {"communication": 9, "content_creation": 9, "social_media_reach": 8, "political_awareness": 9,
          "commitment": 9}


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """One `recruit up` for the module's tests (it takes most of their time)."""
    # The form's bot check refuses a submission faster than the minimum fill time: 1 s here, and the
    # form test below takes longer than that, as a person would.
    run = RecruitUp(tmp_path_factory.mktemp("status") / "data", free_port_base(),
                    {"INTAKE_FORM_MIN_FILL_SECONDS": "1"})
    try:
        yield run.start()
    finally:
        run.kill()


def apply(up, phone: str) -> str:
    response = httpx.post(up.url("intake") + "/v1/applications", headers={"X-Api-Key": up.api_key()}, timeout=10,
                          json={"full_name": "आशा मीणा", "phone": phone, "state": "Rajasthan", "district": "Jaipur",
                                "block": "Sanganer", "age": 24, "consent": True})
    assert response.status_code == 201, response.text
    return response.json()["application_id"]


def stage_of(up, application_id: str, phone: str) -> str | None:
    response = httpx.get(f"{up.url('reporting')}/v1/applications/{application_id}/status", params={"phone": phone},
                         timeout=5)
    return response.json()["stage"] if response.status_code == 200 else None


async def open_status(browser, up, viewport: dict, locale: str = "en-IN"):
    context = await browser.new_context(viewport=viewport, locale=locale)
    page = await context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("request", lambda r: page.problems.append(f"external request: {r.url}")
            if not r.url.startswith(up.url("reporting")) else None)
    await page.goto(up.url("reporting") + "/status")
    await page.wait_for_selector("html[data-lang]")
    return page


async def look_up(page, application_id: str, phone: str) -> None:
    await page.fill("#application-id", application_id)
    await page.fill("#phone", phone)
    await page.click("#check")
    await page.wait_for_function("""() => !document.getElementById('check').disabled
        && (!document.getElementById('result').hidden || document.getElementById('message').textContent
            || document.getElementById('id-error').textContent)""")


async def clean(page, name: str) -> None:
    assert await axe_violations(page) == [], name
    assert await no_sideways_scroll(page), f"{name} scrolls sideways"
    await screenshot(page, name)


async def test_the_applicant_finds_their_stage_and_nothing_else(up) -> None:
    digits = f"98{random.randrange(10**8):08d}"
    application_id = apply(up, f"+91 {digits[:5]} {digits[5:]}")
    wait_for(lambda: stage_of(up, application_id, digits) in ("queued", "deferred"), 60,
             "reporting to know the application")

    async with chromium() as browser:
        page = await open_status(browser, up, PHONE)
        await clean(page, "status-form-phone")
        phone_sent: list[str] = []
        page.on("request", lambda r: phone_sent.append(r.resource_type) if digits[-5:] in r.url else None)
        history = await page.evaluate("history.length")

        # The phone in another spelling than the one applied with; the id in capitals, with spaces around.
        await look_up(page, f"  {application_id.upper()} ", f"0{digits[:5]}-{digits[5:]}")
        assert await page.get_attribute("#result", "data-stage") == "queued"
        assert await page.text_content("#stage-title") == "Waiting for an interview"
        assert (await page.text_content("#stage-next")).strip()
        assert await page.get_attribute("#steps li[aria-current=step]", "data-step") == "2"
        assert await page.evaluate("document.activeElement.id") == "stage-title"
        # The phone went only into the look-up's fetch: not into the address, the history or a navigation.
        assert phone_sent == ["fetch"] and digits[-5:] not in page.url
        assert await page.evaluate("history.length") == history
        await clean(page, "status-en-phone")

        # A wrong phone and an unknown id: the very same words, and nothing shown.
        await look_up(page, application_id, f"97{random.randrange(10**8):08d}")
        wrong_phone = await page.text_content("#message")
        assert await page.get_attribute("#message", "data-kind") == "not_found"
        assert await page.is_hidden("#result")
        await look_up(page, str(uuid.uuid4()), digits)
        assert await page.text_content("#message") == wrong_phone
        assert await page.is_hidden("#result")
        await clean(page, "status-not-found-phone")

        # A malformed id says so at its field (and asks nobody).
        await look_up(page, application_id[:-3], digits)
        malformed = (await page.text_content("#id-error")).strip()
        assert malformed and malformed != wrong_phone and "not an application ID" in malformed
        assert await page.get_attribute("#application-id", "aria-invalid") == "true"
        assert await page.text_content("#message") == ""

        # Selected at interview and placed on merit: the page shows the seat.
        admin = bearer(up.admin_token())
        scheduled = httpx.post(f"{up.url('screening')}/v1/interviews", headers=admin, timeout=10,
                               json={"application_id": application_id, "interview_at": "2026-12-01T10:00:00+05:30"})
        assert scheduled.status_code in (200, 201), scheduled.text
        result = httpx.post(f"{up.url('screening')}/v1/interviews/{application_id}/result", headers=admin,
                            timeout=10, json={"scores": RUBRIC})
        assert result.status_code == 200, result.text
        wait_for(lambda: stage_of(up, application_id, digits) == "placed", 60, "the placement to reach reporting")
        await look_up(page, application_id, digits)
        assert await page.get_attribute("#result", "data-stage") == "placed"
        await page.wait_for_function("document.getElementById('unit-name').textContent.includes('Rajasthan')")
        assert "(state unit)" in await page.text_content("#stage-unit")
        assert await page.is_visible("#stage-unit")

        # Hindi, remembered by the browser.
        desktop = await open_status(browser, up, DESKTOP)
        await desktop.click("#lang-hi")
        await desktop.reload()
        await desktop.wait_for_selector("html[data-lang=hi]")
        assert await desktop.text_content("h1") == "आवेदन की स्थिति"
        await look_up(desktop, application_id, digits)
        assert await desktop.text_content("#stage-title") == "इकाई में स्थान मिला"
        await desktop.wait_for_function("document.getElementById('unit-name').textContent.includes('राजस्थान')")
        await clean(desktop, "status-hi-desktop")
        assert page.problems == [] and desktop.problems == []


async def test_the_form_confirmation_links_to_the_status_page(up) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport=PHONE, locale="en-IN")
        page = await context.new_page()
        await page.goto(up.url("intake") + "/?lang=en")
        await page.wait_for_selector('#state option[value="RJ"]', state="attached")
        digits = f"96{random.randrange(10**8):08d}"
        await page.wait_for_timeout(1100)
        await page.fill("#full_name", "Mohan Lal")
        await page.fill("#phone", digits)
        await page.fill("#age", "31")
        await page.select_option("#state", "RJ")
        await page.fill("#district", "Ajmer")
        await page.check("#consent")
        await page.click("#submit")
        await page.wait_for_selector("#confirmation:not([hidden])")
        application_id = (await page.text_content("#application-id")).strip()
        href = await page.get_attribute("#status-link", "href")
        assert href.endswith(f"/status#id={application_id}")
        wait_for(lambda: stage_of(up, application_id, digits), 60, "reporting to know the application")

        await page.click("#status-link")
        await page.wait_for_selector("html[data-lang]")
        opened = urlparse(page.url)
        assert (opened.port, opened.path) == (urlparse(up.url("reporting")).port, "/status")
        assert not opened.fragment, "the id is taken from the address, then dropped from it"
        assert await page.input_value("#application-id") == application_id
        assert await page.evaluate("document.activeElement.id") == "phone"
        await page.fill("#phone", digits)
        await page.click("#check")
        await page.wait_for_selector("#result:not([hidden])")
        assert await page.get_attribute("#result", "data-stage") in ("submitted", "queued")

        # Without a script there is no form that could put the phone in the address: a note says why.
        plain = await (await browser.new_context(viewport=PHONE, java_script_enabled=False)).new_page()
        await plain.goto(up.url("reporting") + "/status")
        assert await plain.is_hidden("#lookup")
        assert "JavaScript" in await plain.inner_text("main")
        assert await plain.eval_on_selector_all("#lookup input[name]", "inputs => inputs.length") == 0
