"""The operations campaign's checker: QBO (the sandbox's state) against Core, once everything settled.

For every timecard the campaign created:
- approved in Core: exactly one TimeActivity, carrying its current content (hours, customer, item,
  description); Core says `synced` with that TimeActivity's id.   -> else lost / duplicated / stale / status
- not approved (or deleted): no TimeActivity; Core shows no QBO id and not `synced`.  -> else orphaned / status
And the audit log: every failure a sync job counted has its audit row (per job).   -> else audit_missing

"Its current content" is Core's, except where the admin kept QuickBooks' version of the entry (a drift
finding accepted) and nothing changed it since (ops_check_people.kept_view). With `full`, what people did is
judged too (ops_check_people): every bookkeeper change found, no finding without one, and no write to a realm
naming a record the service did not create there.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common import timeactivity_hours
from ops_check_people import content_of, drift_problems, foreign_problems, kept_view, realm_logs
from ops_company import OpsCompany
from sqlalchemy import func, select

COUNTS = ("lost", "duplicated", "orphaned", "stale", "status_mismatch", "audit_missing", "drift_missed",
          "drift_false", "foreign_ids", "switch_failed")


@dataclass
class SeedResult:
    seed: int
    counts: Counter = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)  # one paragraph per bad timecard, with its history

    @property
    def clean(self) -> bool:
        return not any(self.counts[k] for k in COUNTS)


def _tid_of(ta: dict[str, Any]) -> uuid.UUID | None:
    parts = str(ta.get("Description") or "").split()
    if len(parts) >= 2 and parts[0] == "ops":
        try:
            return uuid.UUID(parts[1])
        except ValueError:
            return None
    return None


async def check(oc: OpsCompany, *, full: bool = True, since: float = 0.0) -> SeedResult:
    from qbo_integration.core_platform.models import Timecard
    from qbo_integration.monitoring.models import AuditLogEntry as A
    from qbo_integration.reconciliation.models import DriftFinding as F
    from qbo_integration.sync.models import SyncJob
    from qbo_integration.sync.models import TimecardSyncRecord as Row

    res = SeedResult(oc.seed)
    stack = oc.stack
    async with stack.sm() as s:
        core = {t.id: t for t in (await s.execute(select(Timecard).where(Timecard.company_id == oc.company_id))
                                  ).scalars()}
        rows = {r.timecard_id: r for r in (await s.execute(select(Row).where(Row.company_id == oc.company_id))
                                           ).scalars()}
        jobs = (await s.execute(select(SyncJob.id, SyncJob.timecards_failed).where(
            SyncJob.company_id == oc.company_id, SyncJob.kind == "timecards", SyncJob.timecards_failed > 0))).all()
        audited = dict((await s.execute(select(A.job_id, func.count()).where(
            A.company_id == oc.company_id, A.status == "failure", A.timecard_id.is_not(None))
            .group_by(A.job_id))).all())
        audited_tcs = set((await s.execute(select(A.timecard_id).where(
            A.company_id == oc.company_id, A.status == "failure"))).scalars())
        findings = (await s.execute(select(F).where(F.company_id == oc.company_id).order_by(F.detected_at))).scalars().all()
    tas: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for ta in await stack.activities(oc.realm):
        if ta.get("status") == "Deleted":
            continue
        tid = _tid_of(ta)
        if tid is not None:
            tas.setdefault(tid, []).append(ta)

    item_of = {oc.cost_codes[i]: oc.item_qbo[i] for i in range(2)}
    customer_of = {oc.projects[i]: oc.project_qbo[i] for i in range(2)}
    for i, tid in enumerate(oc.cards):
        tc = core.get(tid)
        found = tas.get(tid, [])
        row = rows.get(tid)
        problems: list[str] = []
        if tc is not None and tc.status == "approved":
            if not found:
                res.counts["lost"] += 1
                problems.append("lost: approved, no TimeActivity")
            elif len(found) > 1:
                res.counts["duplicated"] += len(found) - 1
                problems.append(f"duplicated: {len(found)} TimeActivities")
            kept = kept_view(oc, i, tc.version)
            core_want = {"Description": tc.notes, "CustomerRef": customer_of.get(tc.project_id),
                         "ItemRef": item_of.get(tc.cost_code_id), "EmployeeRef": oc.employee_qbo,
                         "hours": float(tc.total_hours)}
            wants = [core_want] if kept is None else [content_of(kept[1])] + ([core_want] if kept[0] == "either" else [])
            if len(found) == 1:
                got = content_of(found[0])
                if got not in wants:
                    res.counts["stale"] += 1
                    problems.append(f"stale: QBO {got} vs {'the version the admin kept' if kept else 'Core'} "
                                    f"{' or '.join(str(w) for w in wants)}")
            ids = {str(ta["Id"]) for ta in found}
            if tc.sync_status != "synced" or (len(found) == 1 and tc.qbo_id not in ids) or \
                    (len(found) != 1 and tc.qbo_id is not None and tc.qbo_id not in ids):
                res.counts["status_mismatch"] += 1
                problems.append(f"status: Core says {tc.sync_status}/{tc.qbo_id}, QBO holds {sorted(ids)}")
        else:
            if found:
                res.counts["orphaned"] += len(found)
                problems.append(f"orphaned: {'deleted' if tc is None else tc.status} in Core, "
                                f"{len(found)} TimeActivity(ies) {[ta['Id'] for ta in found]}")
            if tc is not None and (tc.qbo_id is not None or tc.sync_status == "synced"):
                res.counts["status_mismatch"] += 1
                problems.append(f"status: {tc.status} in Core but it says {tc.sync_status}/{tc.qbo_id}")
        if row is not None and row.state in ("failed", "dead") and tid not in audited_tcs:
            res.counts["audit_missing"] += 1
            problems.append(f"audit: row {row.state} ({row.last_error}) without a failure audit row")
        if problems:
            outbox = (f"outbox {row.state}/{row.operation} qbo_id={row.qbo_id} SyncToken {row.qbo_sync_token} "
                      f"v{row.timecard_version} synced_v={row.synced_version} err={row.last_error_code}") \
                if row else "no outbox row"
            core_s = f"core {tc.status} v{tc.version} {tc.sync_status}/{tc.qbo_id}" if tc else "deleted in Core"
            tas_s = "; ".join(f"TA {ta['Id']} SyncToken {ta.get('SyncToken')} {ta.get('Description')} "
                              f"{timeactivity_hours(ta)} h" for ta in found)
            drift = "; ".join(f"{f.kind} TA {f.qbo_id} SyncToken {f.our_sync_token}->{f.qbo_sync_token} {f.source} "
                              f"{f.detected_at:%H:%M:%S} {f.status} by {f.resolved_by}"
                              for f in findings if f.timecard_id == tid)
            res.bad.append(f"seed {oc.seed} tc{i} {tid}: " + " | ".join(problems) + f"\n    {core_s}; {outbox}; "
                           f"{tas_s or 'no TA'}\n    drift findings: {drift or 'none'}"
                           f"\n    history:\n      " + "\n      ".join(oc.history.get(i, [])))
    for job_id, failed in jobs:
        if audited.get(job_id, 0) < failed:
            res.counts["audit_missing"] += failed - audited.get(job_id, 0)
            res.bad.append(f"seed {oc.seed}: sync job {job_id} counted {failed} failures, "
                           f"{audited.get(job_id, 0)} failure audit rows")
    if full and oc.people.switch_failed:
        res.counts["switch_failed"] += 1
        res.bad.append(f"seed {oc.seed} switch_failed: the admin could not switch to realm {oc.realm_b}: "
                       + "; ".join(line for line in oc.history.get(None, []) if "switch" in line))
    if full:
        logs = await realm_logs(oc, since)
        for kind, line in await drift_problems(oc, logs) + await foreign_problems(oc, logs):
            res.counts[kind] += 1
            res.bad.append(f"seed {oc.seed} {kind}: {line}")
    if res.bad:
        res.bad.append(f"seed {oc.seed} company-wide steps:\n      " + "\n      ".join(oc.history.get(None, [])))
    return res
