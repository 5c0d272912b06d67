"""`recruit simulate` against `recruit up`: what it posted and decided is what reporting counts, and what
went over the wire is what the services' AsyncAPI documents say."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time

import httpx

from shared.events import APPLICATIONS_ERASED, APPLICATIONS_SUBMITTED, TOPICS
from shared.geography import STATES, resolve_state
from shared.runtime.simulate import SKILLS
from tests.contract.wire import SERVICES, read_every_topic, record_violations, schemas_by_topic
from tests.support import run_simulate, wait_for


def test_simulated_campaign_is_what_reporting_counts(recruit_up) -> None:
    up = recruit_up()
    posted = run_simulate(up, "--applications", "200", "--interview", "--seed", "7")
    assert posted["posted"] == 200
    assert posted["accepted"] == 200 and posted["duplicates"] == 0 and posted["rejected"] == 0
    held = posted["selected"] + posted["rejected_at_interview"] + posted["no_show"]
    assert held == posted["scheduled"] == round(200 * 0.8)
    assert posted["selected"] > 0 and posted["rejected_at_interview"] > 0

    reporting = up.url("reporting")

    def settled():
        s = httpx.get(f"{reporting}/v1/stats/summary", timeout=5).json()
        placed = s["current"]["placed"] + s["current"]["waitlisted"]
        return s["applications"] == 200 and s["funnel"]["interviewed"] + s["funnel"]["no_show"] == held \
            and placed == posted["selected"] and s
    summary = wait_for(settled, 60, "reporting to count the campaign")

    assert summary["funnel"] == {
        "submitted": posted["accepted"], "scheduled": posted["scheduled"],
        "interviewed": posted["selected"] + posted["rejected_at_interview"], "selected": posted["selected"],
        "rejected": posted["rejected_at_interview"], "no_show": posted["no_show"],
    }
    assert summary["current"]["queued"] + summary["current"]["deferred"] == 200 - posted["scheduled"]
    assert summary["current"]["awaiting_result"] == 0
    assert sum(summary["placed_by_level"].values()) == summary["current"]["placed"]
    assert summary["progress"] == 200 / summary["target"]

    # The state mix is the campaign's: every state as sent, Rajasthan the largest.
    states = httpx.get(f"{reporting}/v1/stats/states", timeout=5).json()
    assert {row["state"]: row["applications"] for row in states} == posted["by_state"]
    assert states[0]["state"] == "RJ" and 20 <= states[0]["applications"] <= 60
    assert sum(row["selected"] for row in states) == posted["selected"]
    rj = httpx.get(f"{reporting}/v1/stats/states/RJ", timeout=5).json()
    assert sum(d["applications"] for d in rj["districts"]) == rj["applications"]
    assert {d["district"] for d in rj["districts"]} <= set(STATES["RJ"].districts)
    series = httpx.get(f"{reporting}/v1/stats/timeseries?bucket=day", timeout=5).json()
    assert sum(p["applications"] for p in series["points"]) == 200
    assert sum(p["selected"] for p in series["points"]) == posted["selected"]
    exported = list(csv.DictReader(io.StringIO(httpx.get(f"{reporting}/v1/stats/export.csv", timeout=5).text)))
    assert sum(int(r["applications"]) for r in exported) == 200

    # Sent again with the same seed: the same phones, so every one is a duplicate and nothing moves.
    again = run_simulate(up, "--applications", "20", "--seed", "7", "--mode", "single")
    assert (again["accepted"], again["duplicates"]) == (0, 20)
    time.sleep(1)
    assert httpx.get(f"{reporting}/v1/stats/summary", timeout=5).json()["applications"] == 200

    # What went over the wire is what the AsyncAPI documents say. One application more, erased, so every
    # topic has messages; then every message of every topic, read from the beginning, is checked against
    # the payload, key and headers schemas of each service that sends or receives it.
    created = httpx.post(up.url("intake") + "/v1/applications", headers={"X-Api-Key": up.api_key()}, json={
        "full_name": "Wire Check", "phone": "9876501234", "state": "RJ", "district": "Jaipur", "age": 30,
        "consent": True})
    assert created.status_code == 201, created.text
    erased = httpx.delete(f"{up.url('intake')}/v1/applications/{created.json()['application_id']}",
                          headers={"Authorization": f"Bearer {up.admin_token()}"})
    assert erased.status_code == 204, erased.text
    documents = {service: httpx.get(up.url(service) + "/asyncapi.json", timeout=5).json() for service in SERVICES}
    servers = json.loads((up.data_dir / "run.json").read_text())["kafka_bootstrap_servers"]

    def every_message_including_the_erasure() -> list:
        records = asyncio.run(read_every_topic(servers, TOPICS))
        return any(r.topic == APPLICATIONS_ERASED for r in records) and records
    records = wait_for(every_message_including_the_erasure, 30, "the erasure to reach the broker")
    assert {r.topic for r in records} == set(TOPICS)
    assert len({json.loads(r.value)["event_id"] for r in records if r.topic == APPLICATIONS_SUBMITTED}) == 201
    assert record_violations(schemas_by_topic(documents), records) == []


def test_applicants_look_like_the_campaign() -> None:
    """The simulator's people, without a running system: the seed's state mix, real places,
    unique valid mobiles in the formats people type, Devanagari and Latin names, adults."""
    from shared.phone import normalize_phone
    from shared.runtime.simulate import Applicants

    people = Applicants(seed=3)
    sample = [people.one() for _ in range(4000)]
    codes = [resolve_state(a["state"]) for a, _ in sample]
    assert None not in codes
    assert 0.17 <= codes.count("RJ") / len(codes) <= 0.23
    assert len(set(codes)) >= 25
    assert all(a["district"] in STATES[c].districts for (a, _), c in zip(sample, codes))
    phones = [normalize_phone(a["phone"]) for a, _ in sample]
    assert phones == [p for _, p in sample] and len(set(phones)) == len(phones)
    assert len({a["phone"][:3] for a, _ in sample}) > 3  # +91…, 91…, 0…, bare numbers
    assert all(18 <= a["age"] <= 60 and a["consent"] for a, _ in sample)
    devanagari = sum(any("\u0900" <= ch <= "\u097f" for ch in a["full_name"]) for a, _ in sample)
    assert 0.3 < devanagari / len(sample) < 0.6
    assert all(set(a["skills"]) <= set(SKILLS) for a, _ in sample)
