"""What a bench run reads back: outbox states, synced times, the sandbox's request log, and the
reconciliation of QBO's TimeActivities against Core's timecards."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core_data import BenchCompany
from sandbox_admin import SandboxAdmin
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass
class Reconciliation:
    expected: int = 0
    present: int = 0
    lost: int = 0
    duplicated: int = 0
    mismatched: int = 0
    extra: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.mismatched or self.extra)

    def rows(self) -> list[tuple[str, Any]]:
        return [("approved timecards", self.expected), ("in QBO exactly once", self.present),
                ("lost", self.lost), ("duplicated", self.duplicated), ("mismatched hours", self.mismatched),
                ("extra (not approved)", self.extra)]


def timeactivity_hours(ta: dict[str, Any]) -> float | None:
    if ta.get("StartTime") and ta.get("EndTime"):
        start = datetime.fromisoformat(ta["StartTime"])
        end = datetime.fromisoformat(ta["EndTime"])
        minutes = (end - start).total_seconds() / 60
        minutes -= int(ta.get("BreakHours") or 0) * 60 + int(ta.get("BreakMinutes") or 0)
        return round(minutes / 60, 2)
    if ta.get("Hours") is not None or ta.get("Minutes") is not None:
        return round(int(ta.get("Hours") or 0) + int(ta.get("Minutes") or 0) / 60, 2)
    return None


@dataclass(frozen=True)
class Readback:
    """Reads the run's database and the sandbox; changes nothing."""

    sm: async_sessionmaker[AsyncSession]
    sandbox: SandboxAdmin

    async def state_counts(self, companies: Sequence[BenchCompany] | None = None) -> dict[str, int]:
        from qbo_integration.sync.models import TimecardSyncRecord as Row

        stmt = select(Row.state, func.count()).group_by(Row.state)
        if companies is not None:
            stmt = stmt.where(Row.company_id.in_([c.company_id for c in companies]))
        async with self.sm() as s:
            return {k: int(v) for k, v in (await s.execute(stmt)).all()}

    async def wait_synced(self, companies: Sequence[BenchCompany], total: int, timeout: float,
                          interval: float = 1.0, on_tick: Any = None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = await self.state_counts(companies)
            if on_tick is not None:
                await on_tick(counts)
            if counts.get("synced", 0) >= total:
                return True
            await asyncio.sleep(interval)
        return False

    async def synced_times(self, companies: Sequence[BenchCompany]) -> dict[uuid.UUID, list[datetime]]:
        """synced_at of every synced row, per company (sorted)."""
        from qbo_integration.sync.models import TimecardSyncRecord as Row

        async with self.sm() as s:
            rows = (await s.execute(select(Row.company_id, Row.synced_at).where(
                Row.company_id.in_([c.company_id for c in companies]), Row.state == "synced"))).all()
        out: dict[uuid.UUID, list[datetime]] = {c.company_id: [] for c in companies}
        for cid, at in rows:
            if at is not None:
                out[cid].append(at)
        for v in out.values():
            v.sort()
        return out

    async def http_stats(self, companies: Sequence[BenchCompany], since: float = 0) -> dict[str, int]:
        """Requests the sandbox saw for TimeActivity writes (single + batch) and 429s, across realms."""
        stats = {"requests": 0, "write_requests": 0, "batch_requests": 0, "items": 0, "throttled": 0,
                 "status_429": 0, "errors": 0}
        for c in companies:
            for e in await self.sandbox.realm_log(c.realm_id, since):
                stats["requests"] += 1
                path = e.get("path", "")
                if "/timeactivity" in path or path.endswith("/batch"):
                    stats["write_requests"] += 1
                    stats["items"] += int(e.get("items") or 1)
                if path.endswith("/batch"):
                    stats["batch_requests"] += 1
                if e.get("throttled"):
                    stats["throttled"] += 1
                if e.get("status") == 429:
                    stats["status_429"] += 1
                elif int(e.get("status") or 0) >= 500:
                    stats["errors"] += 1
        return stats

    async def reconcile(self, companies: Sequence[BenchCompany]) -> Reconciliation:
        """Sandbox TimeActivities vs Core's approved timecards: lost / duplicated / mismatched / extra."""
        from qbo_integration.core_platform.models import Timecard

        rec = Reconciliation()
        for c in companies:
            async with self.sm() as s:
                rows = (await s.execute(select(Timecard.id, Timecard.total_hours, Timecard.status)
                                        .where(Timecard.company_id == c.company_id))).all()
            approved = {tid: float(h) for tid, h, st in rows if st == "approved"}
            found: dict[uuid.UUID, list[dict[str, Any]]] = {}
            for ta in await self.sandbox.activities(c.realm_id):
                desc = str(ta.get("Description") or "")
                if not desc.startswith("bench "):
                    continue  # the sample company's own activities
                try:
                    tid = uuid.UUID(desc.split()[1])
                except (IndexError, ValueError):
                    continue
                found.setdefault(tid, []).append(ta)
            rec.expected += len(approved)
            for tid, hours in approved.items():
                tas = found.get(tid, [])
                if not tas:
                    rec.lost += 1
                    if len(rec.examples) < 10:
                        rec.examples.append(f"lost {tid} ({c.realm_id})")
                    continue
                if len(tas) > 1:
                    rec.duplicated += len(tas) - 1
                    if len(rec.examples) < 10:
                        rec.examples.append(f"duplicated x{len(tas)} {tid} ({c.realm_id})")
                else:
                    rec.present += 1
                got = timeactivity_hours(tas[0])
                if got is None or abs(got - hours) > 0.005:
                    rec.mismatched += 1
                    if len(rec.examples) < 10:
                        rec.examples.append(f"mismatch {tid}: core {hours} h, qbo {got} h")
            rec.extra += sum(len(v) for tid, v in found.items() if tid not in approved)
        return rec

    async def audit_counts(self, companies: Sequence[BenchCompany]) -> dict[tuple[str, str], int]:
        from qbo_integration.monitoring.models import AuditLogEntry as A

        async with self.sm() as s:
            rows = (await s.execute(select(A.action, A.status, func.count()).where(
                A.company_id.in_([c.company_id for c in companies])).group_by(A.action, A.status))).all()
        return {(a, st): int(n) for a, st, n in rows}

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        async with self.sm() as s:
            return list((await s.execute(text(statement), params)).all())
