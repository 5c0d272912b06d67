"""The live dashboard in headless Chromium against `recruit up` after `recruit simulate`: the numbers on
the page are the API's and what was posted, Hindi/English switch, and a change arrives without a reload;
the wall mode fills a 1920x1080 screen with the leaderboard's top above the fold, a 390 px phone shows every
number without sideways scrolling, each series has a chart of its own scale, and axe-core finds nothing serious."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from tests.support import (
    DESKTOP,
    PHONE,
    RecruitUp,
    axe_violations,
    chromium,
    free_port_base,
    no_sideways_scroll,
    run_simulate,
    screenshot,
    wait_for,
)

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


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """One `recruit up` for the module's tests (it takes most of their time)."""
    run = RecruitUp(tmp_path_factory.mktemp("dashboard") / "data", free_port_base())
    try:
        yield run.start()
    finally:
        run.kill()


@pytest.fixture(scope="module")
def campaign(up) -> dict:
    """A simulated campaign of 60, with interviews, once reporting has counted all of it."""
    posted = run_simulate(up, "--applications", "60", "--interview", "--seed", "11")
    reporting = up.url("reporting")

    def settled():
        s = httpx.get(f"{reporting}/v1/stats/summary", timeout=5).json()
        return (s["applications"] == posted["accepted"] == 60 and s["funnel"]["selected"] == posted["selected"]
                and s["current"]["placed"] + s["current"]["waitlisted"] == posted["selected"] and s)
    wait_for(settled, 60, "reporting to count the campaign")
    return posted


async def test_dashboard_shows_the_simulated_campaign_live(up, campaign) -> None:
    posted = campaign
    reporting = up.url("reporting")

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
            # Each series on a chart of its own scale: applications a day, selected and placed a day, the total.
            for chart in ("#timeseries-chart", "#outcomes-chart", "#cumulative-chart"):
                assert await page.eval_on_selector(chart, "c => c.width > 0 && !!Chart.getChart(c)"), chart
            assert await page.eval_on_selector("#cumulative-chart", """c => {
                const data = Chart.getChart(c).data.datasets;
                return data[0].data.at(-1) === 60 && data[0].data[0] === 0 && data[1].data.every(v => v === 500000);
            }""")
            assert await axe_violations(page) == []
            await page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)

            # Hindi, and back.
            await page.click("#lang-toggle")
            assert await page.text_content("h1") == "स्वयंसेवक भर्ती"
            first = states[0]
            row = f'#states-body tr[data-state="{first["state"]}"]'
            assert first["name_hi"] in await page.text_content(f"{row} td.name")
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


async def visible_rows(page) -> list[dict]:
    """The leaderboard's rows on screen: rank and where the row ends."""
    return await page.evaluate("""() => [...document.querySelectorAll('#states-body tr')]
        .filter(tr => tr.getClientRects().length > 0)
        .map(tr => ({rank: Number(tr.querySelector('td.rank').textContent), bottom: tr.getBoundingClientRect().bottom,
                     right: tr.querySelector('td.placed').getBoundingClientRect().right}))""")


async def test_dashboard_as_a_wall_screen_and_on_a_phone(up, campaign) -> None:
    reporting = up.url("reporting")
    states = httpx.get(f"{reporting}/v1/stats/states", timeout=5).json()
    async with chromium() as browser:
        wall = await (await browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-IN")).new_page()
        errors: list[str] = []
        wall.on("pageerror", lambda error: errors.append(str(error)))
        await wall.goto(reporting + "/?wall=1")
        await wall.wait_for_selector('#connection[data-state="live"]', timeout=15_000)
        await wall.wait_for_function(f"document.querySelectorAll('#states-body tr').length === {len(states)}")
        await wall.wait_for_timeout(300)  # the leaderboard's pages are measured after the rows arrive

        # The whole screen and nothing more; the leaderboard's top (or all of it) above the fold, from rank 1.
        assert await wall.evaluate("document.documentElement.scrollHeight <= innerHeight")
        shown = await visible_rows(wall)
        assert [r["rank"] for r in shown] == list(range(1, len(shown) + 1))
        assert len(shown) >= min(10, len(states)) and all(r["bottom"] <= 1080 for r in shown)
        assert await wall.is_visible("#rotation") == (len(shown) < len(states))
        big = await wall.evaluate("parseFloat(getComputedStyle(document.getElementById('applications')).fontSize)")
        assert big >= 64, "the campaign's figure is readable across a room"
        assert await wall.is_visible("#cumulative-chart") and await wall.is_hidden("#timeseries-chart")
        assert await wall.get_attribute("#wall-toggle", "aria-pressed") == "true"
        assert await axe_violations(wall) == []
        await screenshot(wall, "dashboard-wall-1920")
        await wall.click("#lang-toggle")
        await wall.wait_for_timeout(300)
        await screenshot(wall, "dashboard-wall-hi-1920")

        # The toggle leaves wall mode (and the address says so), and comes back.
        await wall.click("#wall-toggle")
        assert "wall" not in wall.url and not await wall.evaluate("document.documentElement.classList.contains('wall')")
        assert len(await visible_rows(wall)) == len(states)
        assert await axe_violations(wall) == []
        await wall.click("#wall-toggle")
        assert wall.url.endswith("?wall=1")

        # A 390 px phone: no sideways scroll, and every number of the leaderboard on screen.
        phone = await (await browser.new_context(viewport=PHONE, locale="en-IN")).new_page()
        phone.on("pageerror", lambda error: errors.append(str(error)))
        await phone.goto(reporting + "/")
        await phone.wait_for_function(f"document.querySelectorAll('#states-body tr').length === {len(states)}")
        assert await no_sideways_scroll(phone)
        assert all(r["right"] <= PHONE["width"] for r in await visible_rows(phone))
        assert await phone.evaluate("document.querySelector('.table-scroll').scrollWidth") <= await phone.evaluate(
            "document.querySelector('.table-scroll').clientWidth")
        assert await axe_violations(phone) == []
        await screenshot(phone, "dashboard-phone")
        await phone.goto(reporting + "/?wall=1")
        await phone.wait_for_function(f"document.querySelectorAll('#states-body tr').length === {len(states)}")
        assert await no_sideways_scroll(phone) and await axe_violations(phone) == []

        desk = await (await browser.new_context(viewport=DESKTOP, locale="en-IN")).new_page()
        await desk.goto(reporting + "/")
        await desk.wait_for_function(f"document.querySelectorAll('#states-body tr').length === {len(states)}")
        assert await no_sideways_scroll(desk) and await axe_violations(desk) == []
        assert errors == []
