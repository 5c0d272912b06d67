"""Reporting jobs: keeping this process's live view current, and measuring the reporting group's consumer lag."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import Gauge

from services.reporting import usecases
from services.reporting.live_view import TARGET, LiveView
from services.reporting.store import Store
from shared.events import TOPICS
from shared.kafka_offsets import group_lag, group_reader, plain_reader
from shared.service import Job, Runtime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # a change reaches every SSE client and summary read within about this
LAG_POLL_SECONDS = 5.0

CONSUMER_LAG = Gauge("recruit_consumer_lag", "Messages not yet consumed: log end offset minus the group's "
                     "committed offset, summed over partitions", ["consumer", "topic"])


def live_view_job(view: LiveView) -> Job:
    """The job keeping `view` current (it lives in app.state, so the job is made for it)."""

    async def refresh_live_view(runtime: Runtime) -> None:
        TARGET.set(view.target)
        while True:
            try:
                await usecases.refresh_live_view(UnitOfWork(runtime.db(), Store), view)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: keep serving the last numbers
                log.warning("reporting live view: refresh failed: %r", error)
                await asyncio.sleep(1.0)
            await asyncio.sleep(POLL_SECONDS)

    return refresh_live_view


async def measure_consumer_lag(runtime: Runtime) -> None:
    """CONSUMER_LAG for the whole group (every replica): log end offset minus the group's committed
    offset (shared.kafka_offsets). No use case: it reads Kafka only."""
    group = runtime.service
    servers = runtime.settings.kafka_servers()
    while True:
        readers = []
        try:
            readers.append(plain := await plain_reader(servers, f"recruit-{group}-lag"))
            readers.append(committed := await group_reader(servers, group, f"recruit-{group}-lag"))
            while True:
                for topic, value in (await group_lag(plain, committed, TOPICS)).items():
                    CONSUMER_LAG.labels(group, topic).set(value)
                await asyncio.sleep(LAG_POLL_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the broker is away; the gauges keep their last values
            log.warning("reporting: consumer lag unavailable: %r", error)
            await asyncio.sleep(LAG_POLL_SECONDS)
        finally:
            for reader in readers:
                with contextlib.suppress(Exception):
                    await reader.stop()
