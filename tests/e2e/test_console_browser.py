"""The staff console (screening GET /console) in headless Chromium against `recruit up`, over real HTTP: sign-in
(a wrong token in both languages), an RJ interviewer who sees nothing of UP, an interviewer who schedules and
scores a candidate (the score and outcome shown before sending; a failed send loses nothing), scheduled interviews
listed by the server (the same on another device, kept nowhere in the browser), the placement on the admin's unit
roster with the name, a capacity change that changes the roster, the calendar and the audit of all three services
(an admin's erasure at intake included); axe-core clean and no sideways scroll on every screen at desktop and
390 px, with screenshots of each."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import httpx
import pytest

from tests.support import (
    ADMIN_TOKEN,
    BASE_ENV,
    CHROMIUM,
    DESKTOP,
    INTERVIEWER_TOKEN,
    PHONE,
    RJ_INTERVIEWER_TOKEN,
    axe_violations,
    bearer,
    chromium,
    eventually,
    no_sideways_scroll,
    screenshot,
    today,
    wait_for,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian package chromium) on this machine"),
]

# The selected candidate's name is in Devanagari: the roster's screenshot shows the web font at work.
PEOPLE = {
    "up_selected": ("सीमा यादव", "UP", "Lucknow", "Malihabad"),
    "up_other": ("Ravi Kumar", "UP", "Varanasi", "Pindra"),
    "rj_one": ("आशा मीणा", "RJ", "Jaipur", "Sanganer"),
    "rj_two": ("Mohan Lal", "RJ", "Ajmer", "Kishangarh"),
    "up_race": ("Geeta Verma", "UP", "Agra", "Etmadpur"),  # decided by someone else while the page has it open
}


def apply(up, name: str, state: str, district: str, block: str) -> str:
    """An application as the public form sends it, through intake's API."""
    response = httpx.post(up.url("intake") + "/v1/applications", headers={"X-Api-Key": up.api_key()}, timeout=10,
                          json={"full_name": name, "phone": f"+9197{random.randrange(10**8):08d}",
                                "email": f"{state.lower()}.{random.randrange(10**6)}@example.org", "state": state,
                                "district": district, "block": block, "age": 27, "consent": True})
    assert response.status_code == 201, response.text
    return response.json()["application_id"]


async def look(page, name: str) -> None:
    """The screen as it is: axe-core clean of serious and critical violations, no sideways scroll, a screenshot."""
    assert await axe_violations(page) == [], name
    assert await no_sideways_scroll(page), f"{name} scrolls sideways"
    await screenshot(page, name)


async def open_console(browser, base: str, viewport: dict):
    context = await browser.new_context(viewport=viewport, locale="en-IN")
    page = await context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    await page.goto(base + "/console")
    await page.wait_for_selector("body.ready")
    return page


async def sign_in(page, token: str) -> None:
    await page.fill("#token", token)
    await page.click("#signin-form button[type=submit]")
    await page.wait_for_selector("#nav:not([hidden])")


async def sign_out(page) -> None:
    await page.click("#sign-out")
    await page.wait_for_selector("#view-signin:not([hidden])")
    assert await page.evaluate("sessionStorage.getItem('console.token')") is None


async def both_languages(page, selector: str) -> tuple[str, str]:
    """The English and the Hindi sentence of a message box (the console shows every refusal in both)."""
    await page.wait_for_selector(f"{selector} [lang=hi]")
    return (await page.inner_text(f"{selector} [lang=en]"), await page.inner_text(f"{selector} [lang=hi]"))


async def case_ids(page, selector: str = "#queue-list li.case") -> list[str]:
    return await page.eval_on_selector_all(selector, "items => items.map(li => li.dataset.id)")


async def test_console_interviewer_admin_and_rj_scope(recruit_up) -> None:
    up = recruit_up(env={"STAFF_TOKENS": BASE_ENV["STAFF_TOKENS"]})
    screening, placement, intake = up.url("screening"), up.url("placement"), up.url("intake")
    ids = {key: apply(up, *person) for key, person in PEOPLE.items()}

    def queued():
        items = httpx.get(f"{screening}/v1/queue?limit=200", headers=bearer(ADMIN_TOKEN), timeout=5).json()["items"]
        return set(ids.values()) <= {item["application_id"] for item in items}
    wait_for(queued, 60, "screening to queue the four applications")

    async with chromium() as browser:
        page = await open_console(browser, screening, DESKTOP)
        sent: list[str] = []
        page.on("request", lambda r: sent.append(f"{r.method} {r.url}") if r.method != "GET" else None)
        outside = []
        page.on("request", lambda r: outside.append(r.url)
                if not r.url.startswith((screening, placement, intake)) else None)

        # --- signed out: a wrong token is refused in both languages, and the token goes nowhere ------------------
        await look(page, "console-signin-desktop")
        await page.fill("#token", "not-a-staff-token")
        await page.click("#signin-form button[type=submit]")
        english, hindi = await both_languages(page, "#signin-error")
        assert "not accepted" in english and "स्वीकार नहीं" in hindi
        assert await page.get_attribute("#token", "aria-invalid") == "true"
        assert "token" not in page.url and await page.evaluate("sessionStorage.length") == 0
        assert await page.get_attribute("#token", "name") is None, "no form post could carry the token"
        await page.click("#lang-toggle")
        assert await page.inner_text("h1") == "स्टाफ़ कंसोल"
        await page.reload()
        await page.wait_for_selector("body.ready")
        assert await page.inner_text("h1") == "स्टाफ़ कंसोल", "the language is remembered by the browser"
        await look(page, "console-signin-hi-desktop")
        await page.click("#lang-toggle")
        assert await page.inner_text("h1") == "Staff console"

        # --- an RJ interviewer: only RJ, offered and shown; UP by hand is a clear 403 --------------------------
        await sign_in(page, RJ_INTERVIEWER_TOKEN)
        await page.wait_for_selector("#queue-list li.case")
        assert set(await case_ids(page)) == {ids["rj_one"], ids["rj_two"]}, "the RJ token sees no UP case"
        assert await page.eval_on_selector_all("#queue-state option", "o => o.map(x => x.value)") == ["RJ"]
        assert await page.eval_on_selector_all("#wave-state option", "o => o.map(x => x.value)") == ["RJ"]
        assert not await page.is_visible("a[data-view=units]")
        await page.evaluate("location.hash = '#queue/UP'")
        english, hindi = await both_languages(page, "#alert")
        assert "does not cover Uttar Pradesh (UP)" in english and "के लिए नहीं है" in hindi
        assert await case_ids(page) == []
        await page.evaluate("location.hash = '#units'")
        await page.wait_for_selector("#view-forbidden:not([hidden])")
        await sign_out(page)
        assert await case_ids(page) == [], "names leave the page with the token"

        # --- an interviewer: keys, schedule, the live score, a failed send that loses nothing, the result --------
        await sign_in(page, INTERVIEWER_TOKEN)
        await page.wait_for_selector("#queue-list li.case")
        queue = await case_ids(page)
        assert set(ids.values()) <= set(queue)
        await look(page, "console-queue-desktop")
        await page.keyboard.press("j")
        await page.keyboard.press("j")
        await page.keyboard.press("k")
        assert await case_ids(page, "#queue-list li.case.selected") == [queue[0]]
        await page.keyboard.press("?")
        assert await page.evaluate("document.getElementById('help').open")
        assert "Next case" in await page.inner_text("#help-keys")
        await look(page, "console-help-desktop")
        await page.keyboard.press("Escape")
        assert not await page.evaluate("document.getElementById('help').open")
        await page.keyboard.press("s")
        assert await page.evaluate("document.activeElement.id") == "schedule-at"
        await page.keyboard.press("?")  # typed into a field: not a shortcut
        assert not await page.evaluate("document.getElementById('help').open")

        chosen = ids["up_selected"]
        await page.click(f'#queue-list li.case[data-id="{chosen}"] button[data-act=schedule]')
        assert await page.inner_text("#case-name") == PEOPLE["up_selected"][0]
        assert not await page.is_visible("#no-show"), "no-show only for a scheduled case"
        await page.click("#schedule-form button[type=submit]")
        await page.wait_for_selector(f'#queue-list li.case[data-id="{chosen}"][data-status=scheduled]')
        assert "Saved" in await page.inner_text("#status")
        assert await page.is_visible("#no-show")

        await page.keyboard.press("r")
        assert await page.evaluate("document.activeElement.id") == "rubric-communication"
        await page.keyboard.type("11")
        english, hindi = await both_languages(page, "#rubric-communication-error")
        assert "0 to 10" in english and "0 से 10" in hindi
        await page.click("#rubric-send")
        english, hindi = await both_languages(page, "#rubric-error")
        assert "whole number from 0 to 10" in english and "पूर्ण अंक" in hindi
        await page.fill("#rubric-communication", "9")
        for item, value in (("content_creation", "8"), ("social_media_reach", "8"), ("political_awareness", "9"),
                            ("commitment", "8")):
            await page.fill(f"#rubric-{item}", value)
        # Live, before anything is sent: mean 8.4 x 10 = 84 against the threshold of 60.
        assert await page.get_attribute("#score-box", "data-score") == "84"
        assert await page.get_attribute("#score-box", "data-outcome") == "selected"
        assert "Score 84 / 100 — selected" in await page.inner_text("#score-out")
        assert not [s for s in sent if "/result" in s]
        await look(page, "console-rubric-desktop")

        await page.route("**/v1/interviews/*/result", lambda route: route.abort())
        await page.click("#rubric-send")
        english, hindi = await both_languages(page, "#rubric-error")
        assert "Could not reach the server" in english and "सर्वर तक नहीं पहुँच" in hindi
        assert await page.input_value("#rubric-commitment") == "8", "a failed send keeps the form's values"
        await page.unroute("**/v1/interviews/*/result")
        await page.click("#rubric-error button")
        await page.wait_for_selector("#case-done:not([hidden])")
        assert "Selected, score 84" in await page.inner_text("#case-done")
        assert "Saved" in await page.inner_text("#status")

        # A case decided elsewhere while open here: the 409 says so in both languages, and the panel catches up.
        race = ids["up_race"]
        await page.click(f'#queue-list li.case[data-id="{race}"] button[data-act=result]')
        for item in ("communication", "content_creation", "social_media_reach", "political_awareness", "commitment"):
            await page.fill(f"#rubric-{item}", "7")
        async with httpx.AsyncClient(timeout=5) as client:
            elsewhere = await client.post(f"{screening}/v1/interviews/{race}/result", headers=bearer(ADMIN_TOKEN),
                                          json={"scores": dict.fromkeys(("communication", "content_creation",
                                                "social_media_reach", "political_awareness", "commitment"), 2)})
            assert elsewhere.status_code == 200, elsewhere.text
        await page.click("#rubric-send")
        english, hindi = await both_languages(page, "#case-error")
        assert "already decided" in english and "निर्णय हो चुका" in hindi
        await page.wait_for_selector("#case-panel[data-status=rejected] #case-done:has-text('Not selected')")

        # A server-side refusal (a wave on a past day) names the field in both languages.
        await page.click("a[data-view=queue]")
        await page.click("#wave-open")
        await page.select_option("#wave-state", "UP")
        await page.fill("#wave-date", "2020-01-06")
        await page.fill("#wave-interviewers", "Meera")
        await page.click("#wave-form button[type=submit]")
        english, hindi = await both_languages(page, "#wave-error")
        assert "Please correct this" in english and "कृपया इसे ठीक करें" in hindi
        assert "in the past" in await page.inner_text("#wave-error .field-errors")
        assert "तारीख" in await page.inner_text("#wave-error .field-errors")
        # One slot in RJ tomorrow: the oldest RJ case is booked, and found again under "Scheduled" for its no-show.
        tomorrow = (today() + timedelta(days=1)).isoformat()
        await page.select_option("#wave-state", "RJ")
        await page.fill("#wave-date", tomorrow)
        await page.fill("#wave-start", "10:00")
        await page.fill("#wave-end", "10:30")
        await page.click("#wave-form button[type=submit]")
        await page.wait_for_selector("#status:has-text('1 of 1 slots booked in Rajasthan (RJ)')")
        await page.click("a[data-view=scheduled]")
        booked = f'#scheduled-list li.case[data-id="{ids["rj_one"]}"]'
        await page.wait_for_selector(booked)
        assert await case_ids(page, "#scheduled-list li.case") == [ids["rj_one"]], "only what is still to be held"
        assert "(Meera)" in await page.inner_text(booked), "the interview's time and interviewer"
        assert await page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('console.booked'))") == [], (
            "nothing of the bookings is kept in the browser")
        # The same interviewer on another device (a fresh browser, nothing stored): the server's list, also for
        # an RJ interviewer; filtered to the day and the interviewer; and still there after a reload.
        other_device = await open_console(browser, screening, PHONE)
        await other_device.evaluate("localStorage.setItem('console.booked.0123456789ab', '[]')")  # an older console's
        await sign_in(other_device, INTERVIEWER_TOKEN)
        assert await other_device.evaluate("localStorage.getItem('console.booked.0123456789ab')") is None
        await other_device.click("a[data-view=scheduled]")
        await other_device.wait_for_selector(booked)
        await other_device.fill("#scheduled-day", tomorrow)
        await other_device.fill("#scheduled-interviewer", "Meera")
        await other_device.click("#scheduled-filter button[type=submit]")
        await other_device.wait_for_selector(booked)
        await look(other_device, "console-scheduled-phone")
        await other_device.fill("#scheduled-interviewer", "Ravi")
        await other_device.click("#scheduled-filter button[type=submit]")
        await other_device.wait_for_selector("#scheduled-empty:not([hidden])")
        await sign_out(other_device)
        await sign_in(other_device, RJ_INTERVIEWER_TOKEN)
        await other_device.click("a[data-view=scheduled]")
        await other_device.wait_for_selector(booked)
        assert other_device.problems == []
        await other_device.context.close()
        await page.reload()
        await page.wait_for_selector(booked)
        await look(page, "console-scheduled-desktop")
        await page.click(f'{booked} button[data-act=result]')
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("#no-show")
        await page.wait_for_selector("#case-done:has-text('No-show')")

        await page.click("a[data-view=decided]")
        await page.wait_for_selector("#decided-body tr")
        decided = await page.inner_text("#decided-body")
        assert PEOPLE["up_selected"][0] in decided and "84" in decided and "Selected" in decided
        assert PEOPLE["rj_one"][0] in decided and "No-show" in decided
        await look(page, "console-decided-desktop")
        await sign_out(page)

        async def placement_of() -> dict:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(f"{placement}/v1/placements/{chosen}", headers=bearer(ADMIN_TOKEN))
            return response.json() if response.status_code == 200 else {}
        unit = (await eventually(placement_of, timeout=60))["unit_id"]
        assert unit is not None

        # --- the admin: the unit's roster with the name; a capacity change moves them out and back --------------
        # An application erased by an admin at intake: its audit row is intake's, shown with the others'.
        erased = apply(up, "Kamla Devi", "UP", "Varanasi", "Pindra")
        async with httpx.AsyncClient(timeout=5) as client:
            erasure = await client.delete(f"{intake}/v1/applications/{erased}", headers=bearer(ADMIN_TOKEN))
            assert erasure.status_code == 204, erasure.text
        await sign_in(page, ADMIN_TOKEN)
        await page.click("a[data-view=units]")
        await page.select_option("#units-state", "UP")
        await page.click("#units-filter button[type=submit]")
        await page.wait_for_selector(f'#units-body a[href="#roster/{unit}"]')
        await look(page, "console-units-desktop")
        await page.click(f'#units-body a[href="#roster/{unit}"]')
        await page.wait_for_selector(f"#roster-body tr:has-text('{PEOPLE['up_selected'][0]}')")
        roster = await page.inner_text("#roster-body")
        assert PEOPLE["up_selected"][2] in roster and "+9197" in roster
        await look(page, "console-roster-desktop")

        await page.fill("#roster-capacity", "0")
        await page.click("#roster-cap-form button[type=submit]")
        await page.wait_for_selector("#roster-empty:not([hidden])")
        assert PEOPLE["up_selected"][0] not in await page.inner_text("#view-roster")
        assert (await placement_of())["unit_id"] != unit
        await page.click("#roster-cap-clear")
        await page.wait_for_selector(f"#roster-body tr:has-text('{PEOPLE['up_selected'][0]}')")

        await page.click("a[data-view=capacity]")
        await page.wait_for_function("document.getElementById('cap-state').value !== ''")
        await look(page, "console-capacity-desktop")

        await page.click("a[data-view=calendar]")
        await page.wait_for_selector("#calendar-today:not(:empty)")
        await page.select_option("#calendar-state", "RJ")
        await page.fill("#calendar-date", "2099-01-05")
        await page.click("#calendar-form button[type=submit]")
        await page.wait_for_selector("#calendar-body tr:has-text('Rajasthan (RJ)')")
        await look(page, "console-calendar-desktop")
        await page.click("#calendar-body tr:has-text('Rajasthan (RJ)') button")
        await page.wait_for_selector("#calendar-body tr:has-text('Rajasthan (RJ)')", state="detached")

        await page.click("a[data-view=audit]")
        await page.wait_for_selector("#audit-body tr")
        actions = await page.eval_on_selector_all("#audit-body tr td:nth-child(3)", "c => c.map(td => td.textContent)")
        assert actions[0] == "Polling day cleared", "newest first"
        assert {"Interview scheduled", "Result recorded", "Unit capacity set", "Unit capacity cleared",
                "Application erased"} <= set(actions)
        erasure_row = await page.inner_text(f"#audit-body tr:has(code:text-is('{erased}'))")
        assert "intake" in erasure_row and "Application erased" in erasure_row and "Admin" in erasure_row
        assert "Kamla" not in await page.inner_text("#audit-body"), "the audit names no one"
        services = await page.eval_on_selector_all("#audit-body tr td:nth-child(2)", "c => c.map(td => td.textContent)")
        assert {"screening", "placement", "intake"} <= set(services)
        assert not await page.is_visible("#alert"), "every service's audit was read"
        await look(page, "console-audit-desktop")
        assert page.problems == [] and outside == []

        # --- 390 px: every screen again, fitting the phone; an election in RJ defers its waiting case -----------
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.put(f"{screening}/v1/election-calendar/RJ", headers=bearer(ADMIN_TOKEN),
                                        json={"polling_ends": "2099-01-05"})
            assert response.status_code == 200, response.text
        phone = await open_console(browser, screening, PHONE)
        await look(phone, "console-signin-phone")
        await phone.click("#lang-toggle")
        await look(phone, "console-signin-hi-phone")
        await phone.click("#lang-toggle")
        await sign_in(phone, INTERVIEWER_TOKEN)
        await phone.wait_for_selector("#queue-list li.case")
        await phone.click("#deferred-box summary")
        reason = f'#deferred-list li.case[data-id="{ids["rj_two"]}"] .case-reason'
        assert "polling in Rajasthan (RJ) ends 5 Jan 2099" in await phone.inner_text(reason)
        assert ids["rj_two"] not in await case_ids(phone)
        await look(phone, "console-queue-phone")
        await phone.click("#lang-toggle")
        assert await phone.inner_text("#h-queue") == "साक्षात्कार कतार"
        assert "राजस्थान (RJ) में मतदान" in await phone.inner_text(reason)
        await look(phone, "console-queue-hi-phone")
        await phone.click("#lang-toggle")
        other = ids["up_other"]
        await phone.click(f'#queue-list li.case[data-id="{other}"] button[data-act=result]')
        for item, value in (("communication", "4"), ("content_creation", "5"), ("social_media_reach", "6"),
                            ("political_awareness", "5"), ("commitment", "5")):
            await phone.fill(f"#rubric-{item}", value)
        assert await phone.get_attribute("#score-box", "data-outcome") == "rejected"
        await look(phone, "console-rubric-phone")
        await phone.click("a[data-view=decided]")
        await phone.wait_for_selector("#decided-body tr")
        await look(phone, "console-decided-phone")
        await sign_out(phone)
        await sign_in(phone, ADMIN_TOKEN)
        for view, ready in (("units", "document.querySelectorAll('#units-body tr').length > 0"),
                            ("capacity", "document.getElementById('cap-state').value !== ''"),
                            ("calendar", "document.getElementById('calendar-today').textContent !== ''"),
                            ("audit", "document.querySelectorAll('#audit-body tr').length > 0")):
            await phone.evaluate(f"location.hash = '#{view}'")
            await phone.wait_for_function(ready)
            await look(phone, f"console-{view}-phone")
        await phone.evaluate(f"location.hash = '#roster/{unit}'")
        await phone.wait_for_selector(f"#roster-body tr:has-text('{PEOPLE['up_selected'][0]}')")
        await look(phone, "console-roster-phone")
        assert phone.problems == []
