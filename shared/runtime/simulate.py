"""Simulator: `recruit simulate` — a campaign of realistic Indian applicants sent through the public APIs of a running system, optionally interviewed."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from faker import Faker
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from shared.geography import BLOCKS_BY_DISTRICT, STATES, resolve_state

SKILLS = ("content_writing", "graphic_design", "video_editing", "fact_checking", "data_analysis", "translation",
          "rapid_response")
# A few languages per region, so that applicants read like the places they come from.
REGIONAL_LANGUAGES = {
    "RJ": "Rajasthani", "UP": "Awadhi", "BR": "Bhojpuri", "MH": "Marathi", "GJ": "Gujarati", "WB": "Bengali",
    "TN": "Tamil", "KL": "Malayalam", "KA": "Kannada", "AP": "Telugu", "TG": "Telugu", "OD": "Odia",
    "PB": "Punjabi", "AS": "Assamese", "HR": "Haryanvi", "MP": "Bundeli", "JH": "Santali", "CG": "Chhattisgarhi",
}
RUBRIC = ("communication", "content_creation", "social_media_reach", "political_awareness", "commitment")
NO_SHOW_SHARE = 0.08
# Tries of a request answered 5xx or not at all, waits doubling from half a second to BACKOFF_MAX_SECONDS:
# about a minute, so a run rides out a database failover or a service's restart (tests/e2e/test_faults.py
# restarts PostgreSQL under one) rather than counting its posts as refused.
RETRIES = 18
BACKOFF_MAX_SECONDS = 4.0


@dataclass
class Options:
    applications: int
    intake_url: str
    screening_url: str
    reporting_url: str | None
    api_key: str
    staff_token: str | None
    rate: float | None = None  # applications per second; None: as fast as intake takes them
    interview: bool = False
    interview_share: float = 0.8
    mode: str = "auto"  # auto (bulk when intake has it), bulk, single
    batch_size: int = 500
    concurrency: int = 16
    seed: int | None = None
    wait_seconds: float = 60.0
    json_out: Path | None = None


@dataclass
class Outcome:
    """What the simulator did, as the system answered it."""

    mode: str = ""
    posted: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    by_state: Counter = field(default_factory=Counter)  # applications sent, by state
    scheduled: int = 0
    selected: int = 0
    rejected_at_interview: int = 0
    no_show: int = 0
    not_interviewed: int = 0
    post_seconds: float = 0.0
    interview_seconds: float = 0.0
    reporting: dict | None = None


def credentials(data_dir: Path, environ: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(intake API key, admin staff token) from INTAKE_API_KEYS / STAFF_TOKENS in the environment,
    else from the credentials.json that `recruit up` keeps in its data dir. The simulator's own
    source is preferred, so its applications are told apart from the web form's."""
    environ = os.environ if environ is None else environ
    stored: dict[str, str] = {}
    path = data_dir / "credentials.json"
    if path.exists():
        stored = json.loads(path.read_text())
    keys = environ.get("INTAKE_API_KEYS") or stored.get("INTAKE_API_KEYS", "")
    tokens = environ.get("STAFF_TOKENS") or stored.get("STAFF_TOKENS", "")
    by_source = dict(item.split(":", 1) for item in keys.split(",") if ":" in item)
    api_key = by_source.get("simulator") or next(iter(by_source.values()), None)
    admin = next((item.split(":")[0] for item in tokens.split(",") if item.split(":")[1:2] == ["admin"]), None)
    return api_key, admin


class Applicants:
    """Realistic applicants: Hindi (Devanagari) and Latin-script Indian names, the campaign's state
    mix (about one in five from Rajasthan), real districts and blocks, unique mobile numbers
    written the many ways people write them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.hindi, self.latin = Faker("hi_IN"), Faker("en_IN")
        self.hindi.seed_instance(seed)
        self.latin.seed_instance(seed + 1)
        self.codes = list(STATES)
        self.weights = [STATES[c].weight for c in self.codes]
        self.phones: set[str] = set()

    def phone(self) -> tuple[str, str]:
        """(the number as typed, its +91 form)."""
        while True:
            national = str(self.rng.randint(6, 9)) + "".join(str(self.rng.randint(0, 9)) for _ in range(9))
            if national not in self.phones:
                self.phones.add(national)
                break
        typed = self.rng.choice([national, f"+91{national}", f"+91 {national[:5]} {national[5:]}",
                                 f"0{national}", f"{national[:5]}-{national[5:]}", f"91{national}"])
        return typed, "+91" + national

    def one(self) -> tuple[dict, str]:
        """(the application as a form would send it, the normalized phone)."""
        rng = self.rng
        code = rng.choices(self.codes, self.weights)[0]
        state = STATES[code]
        district = rng.choice(state.districts)
        faker = self.hindi if rng.random() < 0.45 else self.latin
        name = f"{faker.first_name()} {faker.last_name()}"
        typed, normalized = self.phone()
        application: dict = {
            "full_name": name,
            "phone": typed,
            # Forms send the state as a code, the English name or the Hindi name.
            "state": rng.choices([code, state.name_en, state.name_hi], [0.6, 0.25, 0.15])[0],
            "district": district,
            "age": min(60, max(18, int(rng.gauss(29, 8)))),
            "languages": ["Hindi"] + (["English"] if rng.random() < 0.6 else [])
                         + ([REGIONAL_LANGUAGES[code]] if code in REGIONAL_LANGUAGES and rng.random() < 0.5 else []),
            "skills": rng.sample(SKILLS, rng.randint(0, 3)),
            "hours_per_week": rng.choice([2, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30]),
            "consent": True,
            "source": "simulator",
        }
        blocks = BLOCKS_BY_DISTRICT.get((code, district))
        if blocks and rng.random() < 0.7:
            application["block"] = rng.choice(blocks)
        if rng.random() < 0.5:
            application["email"] = self.latin.user_name() + str(rng.randint(1, 999)) + "@" + \
                rng.choice(["gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com"])
        if rng.random() < 0.6:
            handle = self.latin.user_name()[:15]
            application["social"] = {rng.choice(["twitter", "instagram", "facebook", "youtube"]): "@" + handle}
            application["followers"] = int(rng.lognormvariate(6, 1.6))
        return application, normalized

    def scores(self) -> dict:
        """A plausible interview: rubric items around 6/10, a candidate's items moving together."""
        talent = self.rng.gauss(6.2, 1.5)
        return {"scores": {item: min(10, max(0, round(self.rng.gauss(talent, 1.2)))) for item in RUBRIC}}


async def _send(client: httpx.AsyncClient, method: str, url: str, retries: int = RETRIES,
                **kwargs) -> httpx.Response:
    """One request, retried through 429s (as told by Retry-After), 5xx and connection errors, `retries` tries
    in all."""
    for attempt in range(retries):
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == retries - 1:
                raise
            await asyncio.sleep(min(0.5 * 2 ** attempt, BACKOFF_MAX_SECONDS))
            continue
        if response.status_code == 429:
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            continue
        if response.status_code >= 500 and attempt < retries - 1:
            await asyncio.sleep(min(0.5 * 2 ** attempt, BACKOFF_MAX_SECONDS))
            continue
        return response
    return response


async def _has_bulk(client: httpx.AsyncClient, intake_url: str) -> bool:
    try:
        spec = (await client.get(f"{intake_url}/openapi.json")).json()
    except (httpx.HTTPError, ValueError):
        return False
    return "/v1/applications/bulk" in spec.get("paths", {})


async def _post_single(client, options: Options, people: list[tuple[dict, str]], outcome: Outcome,
                       progress: Progress, task) -> None:
    limit = asyncio.Semaphore(options.concurrency)
    started = time.monotonic()

    async def post(i: int, application: dict, phone: str) -> None:
        if options.rate:
            await asyncio.sleep(max(0.0, started + i / options.rate - time.monotonic()))
        async with limit:
            response = await _send(client, "POST", f"{options.intake_url}/v1/applications", json=application,
                                   headers={"X-Api-Key": options.api_key})
        outcome.posted += 1
        outcome.by_state[_code(application)] += 1
        if response.status_code == 201:
            outcome.accepted += 1
        elif response.status_code == 200:
            outcome.duplicates += 1
        else:
            outcome.rejected += 1
            if response.status_code in (401, 403):
                raise RuntimeError(f"intake refused the API key: {response.status_code} {response.text[:200]}")
        progress.advance(task)

    await asyncio.gather(*(post(i, a, p) for i, (a, p) in enumerate(people)))


class BulkFailed(RuntimeError):
    """A bulk request failed; a bulk import is all or nothing, so rows from `first` on were not imported."""

    def __init__(self, first: int, message: str) -> None:
        super().__init__(message)
        self.first = first


async def _post_bulk(client, options: Options, people: list[tuple[dict, str]], outcome: Outcome,
                     progress: Progress, task) -> None:
    size = options.batch_size if not options.rate else max(1, min(options.batch_size, int(options.rate)))
    started = time.monotonic()
    for first in range(0, len(people), size):
        batch = people[first:first + size]
        if options.rate:
            await asyncio.sleep(max(0.0, started + first / options.rate - time.monotonic()))
        body = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a, _ in batch).encode()
        response = await _send(client, "POST", f"{options.intake_url}/v1/applications/bulk", content=body,
                               headers={"X-Api-Key": options.api_key, "Content-Type": "application/x-ndjson"},
                               timeout=300, retries=2)
        if response.status_code != 200:
            raise BulkFailed(first, f"bulk import failed: {response.status_code} {response.text[:300]}")
        result = response.json()
        outcome.posted += len(batch)
        outcome.accepted += result["accepted"]
        outcome.duplicates += result["duplicates"]
        outcome.rejected += result["rejected"]
        outcome.by_state.update(_code(application) for application, _ in batch)
        progress.advance(task, len(batch))
    if options.rate:  # the last batch's second is part of the run, so the rate holds over the whole
        await asyncio.sleep(max(0.0, started + len(people) / options.rate - time.monotonic()))


def _code(application: dict) -> str:
    return resolve_state(application["state"]) or application["state"]


async def _interview(client, options: Options, people: list[tuple[dict, str]], applicants: Applicants,
                     outcome: Outcome, progress: Progress) -> None:
    """Interview a share of the simulated applicants as screening queues them, oldest first per
    state (screening's order), each with plausible scores or, now and then, a no-show."""
    headers = {"Authorization": f"Bearer {options.staff_token}"}
    ours = {phone for _, phone in people}
    states = sorted({_code(a) for a, _ in people})
    quota = round(len(ours) * options.interview_share)
    task = progress.add_task("interviews", total=quota)
    done: set[str] = set()
    idle_since = time.monotonic()
    when = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
    limit = asyncio.Semaphore(options.concurrency)

    async def interview(item: dict) -> None:
        async with limit:
            application_id = item["application_id"]
            scheduled = await _send(client, "POST", f"{options.screening_url}/v1/interviews", headers=headers, json={
                "application_id": application_id, "interview_at": when.isoformat(), "interviewer": "simulator"})
            if scheduled.status_code != 201:
                return  # decided meanwhile, or erased: nothing to do
            outcome.scheduled += 1
            body = {"outcome": "no_show"} if applicants.rng.random() < NO_SHOW_SHARE else applicants.scores()
            result = await _send(client, "POST", f"{options.screening_url}/v1/interviews/{application_id}/result",
                                 headers=headers, json=body)
            if result.status_code == 200:
                decided = result.json()["outcome"]
                if decided == "selected":
                    outcome.selected += 1
                elif decided == "rejected":
                    outcome.rejected_at_interview += 1
                else:
                    outcome.no_show += 1
            progress.advance(task)

    while len(done) < quota and time.monotonic() - idle_since < options.wait_seconds:
        found = []
        for state in states:
            response = await _send(client, "GET", f"{options.screening_url}/v1/queue", headers=headers,
                                   params={"state": state, "limit": 200})
            if response.status_code in (401, 403):
                raise RuntimeError(f"screening refused the staff token: {response.status_code}")
            found += [item for item in response.json()["items"]
                      if item["status"] == "queued" and item["phone"] in ours and item["application_id"] not in done]
        # Oldest first across states, as a national campaign works through its queues.
        found = sorted(found, key=lambda item: (item["submitted_at"], item["application_id"]))[:quota - len(done)]
        if not found:
            await asyncio.sleep(0.3)
            continue
        idle_since = time.monotonic()
        done.update(item["application_id"] for item in found)
        await asyncio.gather(*(interview(item) for item in found))
    outcome.not_interviewed = quota - len(done)


async def _reporting_caught_up(client, options: Options, before: dict | None, outcome: Outcome) -> dict | None:
    """Reporting's summary once it shows everything simulated (or when the wait runs out)."""
    if not options.reporting_url or before is None:
        return None
    want = {"applications": before["applications"] + outcome.accepted,
            "selected": before["funnel"]["selected"] + outcome.selected,
            "rejected": before["funnel"]["rejected"] + outcome.rejected_at_interview,
            "no_show": before["funnel"]["no_show"] + outcome.no_show}
    deadline = time.monotonic() + options.wait_seconds
    summary = before
    while time.monotonic() < deadline:
        summary = await _summary(client, options)
        if summary and summary["applications"] >= want["applications"] and all(
                summary["funnel"][k] >= v for k, v in want.items() if k != "applications"):
            break
        await asyncio.sleep(0.5)
    return summary


async def _summary(client, options: Options) -> dict | None:
    try:
        response = await client.get(f"{options.reporting_url}/v1/stats/summary")
        return response.json() if response.status_code == 200 else None
    except httpx.HTTPError:
        return None


async def simulate(options: Options, console: Console | None = None) -> Outcome:
    console = console or Console()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2 ** 31)
    applicants = Applicants(seed)
    people = [applicants.one() for _ in range(options.applications)]
    outcome = Outcome()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=options.concurrency + 4)) as client:
        bulk = await _has_bulk(client, options.intake_url)
        if options.mode == "bulk" and not bulk:
            raise RuntimeError("intake has no bulk import (POST /v1/applications/bulk)")
        outcome.mode = "bulk" if options.mode == "bulk" or (options.mode == "auto" and bulk) else "single"
        before = await _summary(client, options) if options.reporting_url else None
        columns = (TextColumn("[bold]{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
                   TaskProgressColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("applications", total=len(people))
            started = time.monotonic()
            if outcome.mode == "bulk":
                try:
                    await _post_bulk(client, options, people, outcome, progress, task)
                except BulkFailed as error:
                    if options.mode == "bulk":
                        raise
                    # auto: the rest goes one by one, so a broken bulk endpoint does not stop a run
                    console.print(f"[yellow]{error}; sending the remaining {len(people) - error.first} one by one[/]")
                    outcome.mode = "bulk, then single"
                    await _post_single(client, options, people[error.first:], outcome, progress, task)
            else:
                await _post_single(client, options, people, outcome, progress, task)
            outcome.post_seconds = time.monotonic() - started
            if options.interview:
                started = time.monotonic()
                if not options.staff_token:
                    raise RuntimeError("--interview needs an admin staff token (--staff-token, STAFF_TOKENS, "
                                       "or credentials.json in --data-dir)")
                await _interview(client, options, people, applicants, outcome, progress)
                outcome.interview_seconds = time.monotonic() - started
        outcome.reporting = await _reporting_caught_up(client, options, before, outcome)
    _print(console, options, outcome, seed)
    if options.json_out:
        document = asdict(outcome) | {"by_state": dict(outcome.by_state), "seed": seed}
        options.json_out.write_text(json.dumps(document, ensure_ascii=False, indent=2))
    return outcome


def _print(console: Console, options: Options, outcome: Outcome, seed: int) -> None:
    table = Table(title=f"simulated campaign (seed {seed}, {outcome.mode} posts)", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rate = outcome.posted / outcome.post_seconds if outcome.post_seconds else 0
    rows = [("applications sent", outcome.posted), ("accepted", outcome.accepted),
            ("duplicates", outcome.duplicates), ("rejected", outcome.rejected),
            ("sending took", f"{outcome.post_seconds:.1f} s ({rate:,.0f} applications/s)")]
    if options.interview:
        rows += [("interviews held", outcome.scheduled), ("selected", outcome.selected),
                 ("rejected at interview", outcome.rejected_at_interview), ("no-show", outcome.no_show),
                 ("interviews took", f"{outcome.interview_seconds:.1f} s")]
        if outcome.not_interviewed:
            rows.append(("not reached in time", outcome.not_interviewed))
    for label, value in rows:
        table.add_row(label, f"{value:,}" if isinstance(value, int) else value)
    top = ", ".join(f"{code} {n}" for code, n in outcome.by_state.most_common(5))
    if top:
        table.add_row("top states", top)
    if outcome.reporting:
        r = outcome.reporting
        table.add_row("reporting now shows", f"{r['applications']:,} applications, {r['funnel']['selected']:,} selected, "
                                            f"{r['current']['placed']:,} placed")
    console.print(table)
