"""The live dashboard in headless Chromium against `recruit up` after `recruit simulate`: the numbers on
the page are the API's and what was posted, Hindi/English switch, and a change arrives without a reload."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from tests.support import run_simulate, wait_for

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (Debian package chromium) on this machine"),
]

SUMMARY_IDS = {
    "applications": lambda s: s["applications"], "target": lambda s: s["target"], "erased": lambda s: s["erased"],
    **{f"funnel-{k}": (lambda s, k=k: s["funnel"][k]) for k in
       ("submitted", "scheduled", "interviewed", "selected", "rejected", "no_show")},
    **{f"current-{k}": (lambda s, k=k: s["current"][k]) for k in
       ("queued", "deferred", "awaiting_result", "placed", "waitlisted")},
    **{f"level-{k}": (lambda s, k=k: s["placed_by_level"][k]) for k in ("state", "district", "block")},
}


async def page_numbers(page) -> dict[str, int]:
    return await page.evaluate("""ids => Object.fromEntries(ids.map(id => {
        const v = document.getElementById(id).getAttribute('data-value');
        return [id, v === '' ? null : Number(v)];
    }))""", list(SUMMARY_IDS))


async def leaderboard(page) -> dict[str, dict[str, int]]:
    return await page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#states-body tr')].map(tr => [
        tr.dataset.state,
        Object.fromEntries(['applications', 'interviewed', 'selected', 'placed'].map(
            k => [k, Number(tr.querySelector('td.' + k).getAttribute('data-value'))]))]))""")


async def test_dashboard_shows_the_simulated_campaign_live(recruit_up) -> None:
    up = recruit_up()
    posted = run_simulate(up, "--applications", "60", "--interview", "--seed", "11")
    reporting = up.url("reporting")

    def settled():
        s = httpx.get(f"{reporting}/v1/stats/summary", timeout=5).json()
        return (s["applications"] == posted["accepted"] == 60 and s["funnel"]["selected"] == posted["selected"]
                and s["current"]["placed"] + s["current"]["waitlisted"] == posted["selected"] and s)
    wait_for(settled, 60, "reporting to count the campaign")

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-IN")
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            external: list[str] = []
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(reporting) else None)
            await page.goto(reporting + "/")
            await page.wait_for_selector('#connection[data-state="live"]', timeout=15_000)
            await page.wait_for_function("document.getElementById('applications').dataset.value === '60'")
            await page.wait_for_function("document.querySelectorAll('#states-body tr').length > 0")
            await page.evaluate("window.__notReloaded = true")

            # Every number on the page is the API's, and the API's are what was posted.
            summary = httpx.get(f"{reporting}/v1/stats/summary", timeout=5).json()
            assert await page_numbers(page) == {id_: get(summary) for id_, get in SUMMARY_IDS.items()}
            assert summary["funnel"]["selected"] == posted["selected"]
            assert summary["funnel"]["no_show"] == posted["no_show"]
            assert float(await page.get_attribute("#progress", "data-value")) == pytest.approx(summary["progress"])
            states = httpx.get(f"{reporting}/v1/stats/states", timeout=5).json()
            assert await leaderboard(page) == {r["state"]: {k: r[k] for k in ("applications", "interviewed",
                                                                             "selected", "placed")} for r in states}
            assert {r["state"]: r["applications"] for r in states} == posted["by_state"]
            order = await page.eval_on_selector_all("#states-body tr", "rows => rows.map(r => r.dataset.state)")
            assert order == [r["state"] for r in states]
            assert await page.eval_on_selector("#timeseries-chart", "c => c.width > 0 && !!Chart.getChart(c)")
            await page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)

            # Hindi, and back.
            await page.click("#lang-toggle")
            assert await page.text_content("h1") == "स्वयंसेवक भर्ती"
            first = states[0]
            assert first["name_hi"] in await page.text_content(f'#states-body tr[data-state="{first["state"]}"] td.name')
            await page.screenshot(path=str(ARTIFACTS / "dashboard-hi.png"), full_page=True)
            await page.click("#lang-toggle")
            assert await page.text_content("h1") == "Volunteer recruitment"

            # More applications arrive: the page follows over SSE, without a reload.
            more = run_simulate(up, "--applications", "7", "--seed", "12", "--mode", "single")
            assert more["accepted"] == 7
            await page.wait_for_function("document.getElementById('applications').dataset.value === '67'",
                                         timeout=15_000)
            await page.wait_for_function(
                "[...document.querySelectorAll('#states-body td.applications')]"
                ".reduce((n, td) => n + Number(td.dataset.value), 0) === 67", timeout=15_000)
            assert await page.evaluate("window.__notReloaded === true")
            assert await page.get_attribute("#connection", "data-state") == "live"
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            assert errors == []
            assert external == [], "the page loaded something from outside reporting"
        finally:
            await browser.close()
