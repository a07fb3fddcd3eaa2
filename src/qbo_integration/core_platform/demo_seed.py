"""Demo data for `qbo-integration dev`: a construction company with workers, projects, cost codes
and a week of approved timecards. Stands in for Core Platform; idempotent (fixed ids)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.clock import utc_now
from qbo_integration.core_platform.models import Company, CostCode, Project, Timecard, User

DEMO_COMPANY_ID = uuid.UUID("0c0ffee0-0000-4000-8000-000000000001")
DEMO_NAMESPACE = uuid.UUID("0c0ffee0-0000-4000-8000-0000000000ff")

DEFAULT_WORKERS = [("Emily Platt", "emily.platt@example.com"), ("Marcus Lee", "marcus.lee@example.com"),
                   ("Ana Torres", "ana.torres@example.com"), ("Dev Patel", "dev.patel@example.com"),
                   ("Sam Okafor", "sam.okafor@example.com"), ("Grace Kim", "grace.kim@example.com")]
DEFAULT_PROJECTS = ["Cool Cars Showroom", "Riverside Lofts", "Hillcrest Clinic Remodel", "Maple Street Duplex"]
# The demo's default rates (the dev stack seeds them into a mapping profile: QBO refuses billable time
# without a bill rate, and the pay rate is what shows labour in QBO's job-costing reports).
DEMO_BILL_RATE = 65
DEMO_PAY_RATE = 32
DEFAULT_COST_CODES = [("01-100", "Framing"), ("03-300", "Concrete"), ("16-100", "Electrical"), ("09-900", "Painting")]


def _id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"{kind}:{key}")


async def seed_demo_company(
    session: AsyncSession,
    *,
    workers: list[tuple[str, str | None]] | None = None,
    projects: list[str] | None = None,
    cost_codes: list[tuple[str, str]] | None = None,
    today: date | None = None,
) -> uuid.UUID:
    """Create the demo company if missing. Returns its id. The caller commits."""
    if await session.get(Company, DEMO_COMPANY_ID) is not None:
        return DEMO_COMPANY_ID
    tz = "America/Denver"
    session.add(Company(id=DEMO_COMPANY_ID, name="Summit Ridge Construction", timezone=tz,
                        admin_email="admin@summitridge.example"))
    await session.flush()
    worker_ids = []
    for name, email in workers or DEFAULT_WORKERS:
        wid = _id("worker", name)
        session.add(User(id=wid, company_id=DEMO_COMPANY_ID, name=name, email=email, role="field_worker"))
        worker_ids.append(wid)
    session.add(User(id=_id("user", "admin"), company_id=DEMO_COMPANY_ID, name="Dana Admin",
                     email="admin@summitridge.example", role="admin"))
    project_ids = []
    for name in projects or DEFAULT_PROJECTS:
        pid = _id("project", name)
        session.add(Project(id=pid, company_id=DEMO_COMPANY_ID, name=name, status="active"))
        project_ids.append(pid)
    cost_code_ids = []
    for code, name in cost_codes or DEFAULT_COST_CODES:
        cid = _id("cost_code", code)
        session.add(CostCode(id=cid, company_id=DEMO_COMPANY_ID, code=code, name=name))
        cost_code_ids.append(cid)
    await session.flush()

    rng = random.Random(7)
    zone = ZoneInfo(tz)
    start_day = (today or utc_now().astimezone(zone).date()) - timedelta(days=7)
    for offset in range(7):
        day = start_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for wid in worker_ids:
            clock_in = datetime.combine(day, time(7, rng.choice([0, 15, 30])), zone)
            hours = rng.choice([8, 8.5, 9, 10])
            break_minutes = rng.choice([30, 30, 45])
            clock_out = clock_in + timedelta(hours=hours, minutes=break_minutes)
            session.add(Timecard(
                id=_id("timecard", f"{wid}:{day}"), company_id=DEMO_COMPANY_ID, worker_id=wid,
                project_id=rng.choice(project_ids), cost_code_id=rng.choice(cost_code_ids),
                clock_in=clock_in.astimezone(UTC), clock_out=clock_out.astimezone(UTC), break_minutes=break_minutes,
                total_hours=Decimal(str(hours)), billable=rng.random() < 0.7,
                notes=rng.choice([None, "Framing, level 2", "Pour prep", "Rough-in", "Punch list"]),
                status="approved", approved_at=clock_out.astimezone(UTC) + timedelta(hours=2), version=1,
            ))
    return DEMO_COMPANY_ID
