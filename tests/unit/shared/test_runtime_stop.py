"""Stopping a service is bounded even when its consumers never finish stopping."""

from __future__ import annotations

import asyncio
import time

from shared import service
from shared.service import Runtime
from shared.settings import get_settings


class StuckBroker:
    """A broker whose consumers never finish stopping: a group re-join that hangs, as seen when another
    member of the group was killed."""

    stopped = False

    async def stop(self) -> None:
        await asyncio.Event().wait()


async def test_a_consumer_that_never_stops_does_not_hold_the_service(monkeypatch, caplog) -> None:
    monkeypatch.setattr(service, "CONSUMER_STOP_SECONDS", 0.2)
    runtime = Runtime("reporting", get_settings())
    runtime.broker = StuckBroker()
    job = asyncio.create_task(asyncio.sleep(3600))
    runtime.tasks.append(job)
    started = time.monotonic()
    await asyncio.wait_for(runtime.stop(), 5)
    assert time.monotonic() - started < 2
    assert job.cancelled(), "the jobs are still stopped after the consumers gave up"
    assert "did not stop within" in caplog.text
