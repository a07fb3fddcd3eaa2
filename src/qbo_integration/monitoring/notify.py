"""The alerts the service raises, worded once. Each queues an outbox row (never commits).

Other domains call these: sync (`timecards_dead_lettered`),
the QBO observer (`breaker_opened` / `breaker_closed`, `read_budget_reached`), exports (`export_ready`), the
setup SLA cron.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.monitoring import alerts
from qbo_integration.monitoring.models import AlertOutbox

_SIGN = "\n\n— CrewFlow QuickBooks integration"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "unknown"


async def breaker_opened(session: AsyncSession, company_id: uuid.UUID, *, reopens_at: datetime | None,
                         failures: int, cooldown: timedelta | None = None,
                         now: datetime | None = None) -> AlertOutbox | None:
    body = (
        f"QuickBooks sync for your company is paused after {failures} consecutive failed calls to QuickBooks.\n"
        f"It will try again automatically at {_when(reopens_at)}; an admin can also reset it from the "
        "integration dashboard.\n\nNothing is lost: approved timecards stay queued and will sync when "
        "QuickBooks answers again. A CSV of the timecards not yet in QuickBooks follows in a separate email "
        "in case you need to enter them by hand." + _SIGN
    )
    return await alerts.queue_alert(session, company_id, alerts.BREAKER_OPEN,
                                    "QuickBooks sync paused (circuit breaker open)", body,
                                    cooldown=cooldown, now=now)


async def breaker_closed(session: AsyncSession, company_id: uuid.UUID, *, reason: str = "recovered",
                         cooldown: timedelta | None = None,
                         now: datetime | None = None) -> AlertOutbox | None:
    how = "an admin reset it" if reason == "reset" else "QuickBooks is answering again"
    body = (f"QuickBooks sync has resumed ({how}). Queued timecards are being sent now; "
            "if you already imported the fallback CSV, do not import it again." + _SIGN)
    return await alerts.queue_alert(session, company_id, alerts.BREAKER_CLOSED, "QuickBooks sync resumed", body,
                                    cooldown=cooldown, now=now)


async def timecards_dead_lettered(session: AsyncSession, company_id: uuid.UUID, count: int, *,
                                  sample_error: str | None = None,
                                  cooldown: timedelta | None = None,
                                  now: datetime | None = None) -> AlertOutbox | None:
    body = (f"{count} timecard(s) could not be sent to QuickBooks after every retry and need attention.\n"
            + (f"Last error: {sample_error}\n" if sample_error else "")
            + "Open the integration dashboard to see each error and retry them, or use the CSV export." + _SIGN)
    return await alerts.queue_alert(session, company_id, alerts.DEAD_LETTERED,
                                    f"{count} timecard(s) failed to sync to QuickBooks", body,
                                    cooldown=cooldown, now=now)


async def setup_deadline_near(session: AsyncSession, company_id: uuid.UUID, *, threshold_hours: float,
                              elapsed_hours: float, remaining_steps: list[str], deadline_at: datetime,
                              now: datetime | None = None) -> AlertOutbox | None:
    body = (f"Your QuickBooks setup started {elapsed_hours:.0f} hours ago and is not finished yet.\n"
            f"Still to do: {', '.join(remaining_steps)}.\nThe 48-hour setup guarantee ends at "
            f"{_when(deadline_at)}. Reply to this email to book a call with an integration specialist." + _SIGN)
    key = f"{threshold_hours:g}h"
    return await alerts.queue_alert(session, company_id, alerts.SETUP_DEADLINE,
                                    f"QuickBooks setup: {elapsed_hours:.0f} hours elapsed", body,
                                    dedupe_key=key, cooldown=timedelta(days=3650), now=now)


async def refresh_token_expiring(session: AsyncSession, company_id: uuid.UUID, *, at: datetime, hard: bool,
                                 days_left: int, stage: int, reconnect_url: str,
                                 now: datetime | None = None) -> AlertOutbox | None:
    """One alert per threshold (`stage`, in days) per expiry date: the dedupe key holds both, and the
    cool-down is long, so the daily check sends each once; a reconnect (a new date) starts over."""
    when = at.astimezone(UTC).strftime("%Y-%m-%d")
    why = ("QuickBooks ends every connection 5 years after it was authorised, and yours reaches that limit"
           if hard else "QuickBooks ends a connection that has not been used for 100 days, and yours has not "
                        "synced for a long time")
    body = (f"The QuickBooks connection for your company expires on {when} UTC (in {days_left} day(s)).\n"
            f"{why}. After that date nothing syncs to QuickBooks until an admin reconnects.\n\n"
            "To keep syncing, reconnect now (it takes a minute; mappings and history are kept):\n"
            f"{reconnect_url}\n\nSign in to CrewFlow as an admin if asked, then approve the connection in "
            "QuickBooks." + _SIGN)
    return await alerts.queue_alert(session, company_id, alerts.REFRESH_EXPIRING,
                                    f"QuickBooks connection expires on {when}: reconnect", body,
                                    dedupe_key=f"{stage}d:{when}", cooldown=timedelta(days=3650), now=now)


IMPORT_INSTRUCTIONS = (
    "How to import into QuickBooks Online:\n"
    "1. Download the CSV (the link expires; ask for a new export if it has).\n"
    "2. Open it to check it: one row per timecard with Employee, Customer, Date, Start Time, End Time, "
    "Hours and Billable.\n"
    "3. In QuickBooks Online, enter the rows as single time activities (+ New > Single time activity), or "
    "import the file with your time-import app (e.g. SaasAnt, Transaction Pro), mapping the columns by "
    "their names.\n"
    "4. Do not import a timecard that later shows as synced in CrewFlow: it is already in QuickBooks."
)


async def export_ready(session: AsyncSession, company_id: uuid.UUID, *, export_id: uuid.UUID, url: str,
                       row_count: int, reason: str, now: datetime | None = None) -> AlertOutbox | None:
    why = ("because QuickBooks sync is paused" if reason == "breaker_open" else "as requested")
    body = (f"A CSV of {row_count} approved timecard(s) not yet in QuickBooks was prepared {why}.\n\n"
            f"Download: {url}\n\n{IMPORT_INSTRUCTIONS}" + _SIGN)
    return await alerts.queue_alert(session, company_id, alerts.EXPORT_READY,
                                    f"QuickBooks fallback CSV ready ({row_count} timecards)", body,
                                    dedupe_key=str(export_id), cooldown=timedelta(0), now=now)


async def read_budget_reached(session: AsyncSession, *, percent: int, reads: int, budget: int, month: str,
                              now: datetime | None = None) -> AlertOutbox | None:
    """App-wide (no company: it goes to ALERT_FALLBACK_EMAIL), once per threshold per month."""
    deferring = {70: "Nothing is deferred yet.",
                 85: "From now on the nightly reconciliation and directory refreshes are deferred.",
                 95: "From now on drift checks are deferred too; only reads that protect correctness are made."}
    body = (f"The app has made {reads:,} QuickBooks read calls in {month} ({percent}% of its monthly budget of "
            f"{budget:,}). Intuit blocks every customer company once the app's monthly reads run out, until "
            f"the month ends.\n{deferring.get(percent, '')}\nSee /metrics (qbo_app_reads_month) and each "
            "company's health (qboReadsToday, qboReadsDeferredToday) for where the reads go." + _SIGN)
    return await alerts.queue_alert(session, None, alerts.READ_BUDGET,
                                    f"QuickBooks read budget at {percent}% for {month}", body,
                                    dedupe_key=f"{month}:{percent}", cooldown=timedelta(days=62), recipients=[],
                                    now=now)
