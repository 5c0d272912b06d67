"""The bilingual application form in headless Chromium, served by intake over real HTTP: with JavaScript
(JSON, English and Hindi errors, duplicates) and without (the plain form post and its result pages); the chosen
state's districts offered, the confirmation's link to reporting's status page, the Devanagari web font, and
axe-core clean with no sideways scroll at desktop and 390 px."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.intake.domain.messages import message
from services.intake.domain.validation import FieldError
from shared.settings import get_settings
from tests.support import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    admin_headers,
    axe_violations,
    chromium,
    no_sideways_scroll,
    screenshot,
    service_process,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian package chromium) on this machine"),
]


@pytest.fixture(scope="module")
def intake_url(stack):
    """`recruit service intake` on a free port, with the module's database and broker."""
    # The public form's bot check on, as in production, with a minimum fill time a person filling the
    # form in here always exceeds (the honeypot stays empty: people never see it).
    env = {**stack.env(), "INTAKE_FORM_MIN_FILL_SECONDS": "1"}
    with service_process("intake", env, stack.work_dir / "intake-browser.log") as url:
        yield url


@pytest.fixture
async def browser():
    async with chromium() as browser:
        yield browser


async def watched_page(browser, url: str, **context_options):
    context = await browser.new_context(viewport={"width": 900, "height": 1300}, **context_options)
    page = await context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("request", lambda r: page.problems.append(f"external request: {r.url}")
            if not r.url.startswith(url) and not r.url.startswith("data:") else None)
    return page


async def fill(page, phone: str, *, state_value: str) -> None:
    await page.fill("#full_name", "आशा मीणा")
    await page.fill("#phone", phone)
    await page.fill("#email", "asha.browser@example.com")
    await page.fill("#age", "26")
    await page.fill("#languages", "Hindi, English")
    await page.select_option("#state", state_value)
    await page.fill("#district", "jaipur")
    await page.fill("#block", "Sanganer")
    await page.check("#skill-content_writing")
    await page.check("#skill-translation")
    await page.fill("#social-twitter", "@asha_meena")
    await page.check("#consent")


async def stored(url: str, application_id: str) -> dict:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/v1/applications/{application_id}", headers=admin_headers())
    assert response.status_code == 200, response.text
    return response.json()


async def test_with_javascript_english_confirmation_duplicate_and_hindi_errors(intake_url, browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = await watched_page(browser, intake_url, locale="en-IN")
    await page.goto(intake_url + "/?lang=en")
    await page.wait_for_selector('#state option[value="RJ"]', state="attached")  # the states came from the API
    phone = f"98{uuid.uuid4().int % 10**8:08d}"
    await fill(page, f"+91 {phone[:5]} {phone[5:]}", state_value="RJ")
    await page.wait_for_timeout(1100)  # a person takes longer than the minimum fill time (1 s here)
    await page.click("#submit")
    await page.wait_for_selector("#confirmation", state="visible")
    application_id = (await page.text_content("#application-id")).strip()
    assert uuid.UUID(application_id)
    assert await page.get_attribute("#duplicate", "data-value") == "false"
    # reporting's status page (REPORTING_URL: the service runs with this process's settings), with the id.
    status = get_settings().reporting_url.rstrip("/") + "/status"
    assert await page.get_attribute("#status-link", "href") == f"{status}#id={application_id}"
    await page.screenshot(path=str(ARTIFACTS / "intake-form-confirmation.png"), full_page=True)

    saved = await stored(intake_url, application_id)
    assert (saved["full_name"], saved["phone"], saved["state"], saved["district"], saved["block"]) == (
        "आशा मीणा", f"+91{phone}", "RJ", "Jaipur", "Sanganer")
    assert saved["skills"] == ["content_writing", "translation"] and saved["social"] == {"twitter": "@asha_meena"}
    assert saved["languages"] == ["Hindi", "English"] and saved["source"] == "web-form"

    # the same phone again, written differently: the first application, marked as a duplicate
    await fill(page, f"0{phone}", state_value="RJ")
    await page.click("#submit")
    await page.wait_for_selector('#duplicate[data-value="true"]')
    assert (await page.text_content("#application-id")).strip() == application_id

    # in Hindi, a bad phone: the server's Hindi message under the phone field
    await page.click("#lang-hi")
    assert await page.get_attribute("html", "data-lang") == "hi"
    await fill(page, "12345", state_value="UP")
    await page.click("#submit")
    await page.wait_for_function("document.getElementById('error-phone').textContent.trim() !== ''")
    assert (await page.text_content("#error-phone")).strip() == message(FieldError("phone", "invalid_phone"), "hi")
    assert await page.get_attribute("#phone", "aria-invalid") == "true"
    assert (await page.text_content("#form-error")).strip()  # "please correct the highlighted fields", in Hindi
    assert await page.is_hidden("#confirmation")
    await page.screenshot(path=str(ARTIFACTS / "intake-form-hindi-error.png"), full_page=True)
    assert page.problems == []


async def test_without_javascript_the_plain_form_post_works(intake_url, browser, stack) -> None:
    page = await watched_page(browser, intake_url, java_script_enabled=False, locale="hi-IN")
    await page.goto(intake_url + "/")
    # no script: the built-in list of English state names, the key in the hidden field
    assert await page.get_attribute('input[name="api_key"]', "value") not in ("", "__FORM_API_KEY__")
    await fill(page, "12345", state_value="Rajasthan")
    await page.wait_for_timeout(1100)  # a person takes longer than the minimum fill time (1 s here)
    await page.click("#submit")
    await page.wait_for_load_state()
    error = (await page.text_content("#error-phone")).strip()
    assert message(FieldError("phone", "invalid_phone"), "hi") in error
    assert message(FieldError("phone", "invalid_phone"), "en") in error
    assert await page.get_attribute("#phone", "aria-invalid") == "true"
    assert await page.input_value("#full_name") == "आशा मीणा"  # nothing to type again
    assert await page.is_checked("#skill-translation") and await page.is_checked("#consent")
    await page.screenshot(path=str(ARTIFACTS / "intake-form-nojs-error.png"), full_page=True)

    phone = f"97{uuid.uuid4().int % 10**8:08d}"
    await page.fill("#phone", phone)
    await page.click("#submit")
    await page.wait_for_load_state()
    assert await page.is_visible("#confirmation"), (await page.inner_text("body"))[:1500]
    application_id = (await page.text_content("#application-id")).strip()
    assert await page.get_attribute("#duplicate", "data-value") == "false"
    assert (await page.get_attribute("#status-link", "href")).endswith(f"/status#id={application_id}")
    await page.screenshot(path=str(ARTIFACTS / "intake-form-nojs-confirmation.png"), full_page=True)
    saved = await stored(intake_url, application_id)
    assert (saved["phone"], saved["state"], saved["skills"]) == (
        f"+91{phone}", "RJ", ["content_writing", "translation"])
    conn = await asyncpg.connect(stack.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE key = $1", application_id) == 1
    finally:
        await conn.close()
    assert page.problems == []


async def test_districts_font_and_accessibility_on_a_phone_and_a_desk(intake_url, browser) -> None:
    from shared.geography import STATES

    page = await watched_page(browser, intake_url, locale="hi-IN")
    await page.set_viewport_size(PHONE)
    await page.goto(intake_url + "/")
    await page.wait_for_selector('#state option[value="RJ"]', state="attached")
    assert await page.get_attribute("html", "data-lang") == "hi"
    # The chosen state's known districts are offered; the field still takes any other spelling.
    for code in ("RJ", "UP"):
        await page.select_option("#state", code)
        offered = await page.eval_on_selector_all("#district-options option", "os => os.map(o => o.value)")
        assert sorted(offered) == sorted(STATES[code].districts)
    assert await page.get_attribute("#district", "list") == "district-options"
    assert not await page.get_attribute("#district", "pattern")
    # The Devanagari web font is the page's first choice, and it is there (this machine has no other).
    assert (await page.evaluate("getComputedStyle(document.body).fontFamily")).startswith('"Recruit Devanagari"')
    assert await page.evaluate("""document.fonts.ready.then(() => [...document.fonts].some(
        f => f.family.replace(/"/g, '') === 'Recruit Devanagari' && f.status === 'loaded'))""")
    assert await no_sideways_scroll(page)
    assert await axe_violations(page) == []
    await screenshot(page, "form-hi-phone")
    await page.set_viewport_size(DESKTOP)
    assert await no_sideways_scroll(page)
    assert await axe_violations(page) == []
    await page.click("#lang-en")
    await screenshot(page, "form-en-desktop")
    assert page.problems == []
