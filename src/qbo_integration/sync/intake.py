"""Core events → outbox rows, then a nudge. Events carry no data: the current timecard decides.

`timecard.approved`, `.updated`, `.unapproved` and `.deleted` all do the same thing: bring the
timecard's outbox row in line with the timecard as it is *now* (create, update or delete wanted).
That makes duplicates, late and out-of-order events harmless; an event older than what the row
already holds is ignored outright. The job is enqueued only after the commit.
"""

from __future__ import annotations

import logging
from typing import Any

from qbo_integration import logs
from qbo_integration.connections.service import get_integration
from qbo_integration.core_platform.events import CoreEvent
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.sync import core_status, nudge, outbox_repository
from qbo_integration.sync.context import JobContext
from qbo_integration.sync.states import State
from qbo_integration.sync.story import events as story

logger = logging.getLogger(__name__)


async def handle_event(job_ctx: dict[str, Any] | JobContext, event: CoreEvent) -> None:
    ctx = JobContext.of(job_ctx)
    now = ctx.clock()
    async with ctx.sessionmaker() as session:
        integration = await get_integration(session, event.company_id)
        if integration is None or not integration.enabled:
            logger.info("event for a company without live sync ignored", extra=logs.log_fields(event=event.event))
            return
        held = await outbox_repository.held_version(session, event.timecard_id)
        if held is not None and event.version < held:
            logger.info("stale event ignored", extra=logs.log_fields(event=event.event, version=event.version,
                                                                     held=held))
            return
        gateway = CoreGateway(session)
        company = await gateway.get_company(event.company_id)
        timecard = await gateway.get_timecard(event.timecard_id)
        if company is None or (timecard is not None and timecard.company_id != event.company_id):
            logger.warning("event names a timecard of another company; ignored",
                           extra=logs.log_fields(event=event.event))
            return
        row, changed = await outbox_repository.upsert_for_timecard(
            session, company, event.timecard_id, timecard, integration.sync_start_date, now
        )
        if changed and row is not None and timecard is not None:
            await core_status.report(session, [row])
        if changed and row is not None:
            await story.record(session, [story.version(event.company_id, event.timecard_id, timecard, now,
                                                       known_version=row.timecard_version)])
        has_work = row is not None and row.state == State.PENDING
        await session.commit()
    if has_work:
        await nudge.nudge(ctx.redis, ctx.queue, event.company_id)
