"""When a company's job is woken again, so that no row waits for the sweep: after a job (its next retry,
the end of QBO's pause, another job's lease), and while another job holds the company's lock (its
leases, in case it died or stalled). The wake-ups are delayed nudges (nudge.nudge_later)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from qbo_integration.sync import nudge, outbox_repository, policy
from qbo_integration.sync.context import JobContext

# A job stopped by QBO's pause (429) with rows still due runs again at the latest this much later.
PAUSE_WAKE = timedelta(seconds=60)
# A wake-up that takes over a dead job's rows comes this long after their lease ended.
LEASE_WATCH_SLACK = timedelta(seconds=1)


async def schedule_retries(ctx: JobContext, company_id: uuid.UUID, *,
                           next_due: tuple[datetime | None, datetime] | None, paused: bool) -> None:
    """After a job's rounds: wake the company's job at its next retry, at the end of QBO's pause when rows
    were left due (`paused`), or at the end of another job's lease. `next_due`: (earliest retry, read at)
    when the rounds ended on due_or_next."""
    now = ctx.clock()
    async with ctx.sessionmaker() as s:
        if next_due is not None:  # the rounds ended on due_or_next: nothing was due when it was read
            first, seen = next_due
            # a retry that fell due since that read is woken at once (nudge_later: 1 s at the least)
            at = max(first, now) if first is not None and first > seen else None
        else:
            at = await outbox_repository.next_due_at(s, company_id)
            if at is not None and at <= now and paused:
                # The job left with rows still due (the rows the paused round never claimed): wake it when
                # the pause ends (when the rows it held back are due), within QBO's 60 s pause at most.
                ends = await outbox_repository.first_pending_after(s, company_id, now)
                at = min(ends or now + PAUSE_WAKE, now + PAUSE_WAKE)
        _, lease_end = await outbox_repository.leases_in_flight(s, company_id, now)  # another job's rows
    if lease_end is not None:
        at = min(at, lease_end + LEASE_WATCH_SLACK) if at is not None else lease_end + LEASE_WATCH_SLACK
    if at is not None and (at > now or next_due is not None):
        await nudge.nudge_later(ctx.queue, company_id, at, now)


async def watch_leases(ctx: JobContext, company_id: uuid.UUID, at: datetime) -> None:
    """A job soon after `at` (the end of a lease), to take over the rows of a job that died or stalled."""
    await nudge.nudge_later(ctx.queue, company_id, at + LEASE_WATCH_SLACK, ctx.clock())


async def holder_gone(ctx: JobContext, company_id: uuid.UUID) -> bool:
    """Another job holds the company's lock: has it left rows in flight whose lease lapsed (it died or
    stalled, and its lock may last minutes more)? If not, look again when the first lease ends: a chain of
    wake-ups, while a job runs, so that its rows never wait for its lock to expire."""
    now = ctx.clock()
    async with ctx.sessionmaker() as s:
        lapsed, next_end = await outbox_repository.leases_in_flight(s, company_id, now)
    if not lapsed:
        await watch_leases(ctx, company_id, next_end or now + policy.LEASE)
    return lapsed
