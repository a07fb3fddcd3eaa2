"""The operations campaign's judgement of what people did (ops_people), once everything settled.

What the model demands, and what it cannot:

- Content: QBO holds Core's approved content, except a version the admin kept (`accept` answered 200) when
  nothing changed it since: no later bookkeeper change of the timecard's entry (one made before the accept
  but newer than the version accepted counts too), no later push, no switch of company, Core's content
  as it was when the admin accepted, and that content the one the outbox had synced (a Core edit still
  on its way overwrites the kept version, as CrewFlow's edits do). Approvals change no content: after an
  unapproval and a re-approval either version is right (the delete may have gone out or not).
- Every bookkeeper change found (`drift_missed`): a finding of the timecard on that record (any status,
  any source, in the realm the change was made in) that saw it: `deleted` for a delete; `deleted` or a
  QuickBooks SyncToken at least the edit's for an edit (one open finding per timecard is refreshed by later
  changes). Not demanded when a request of the service naming that record reached QBO after the change
  (the realm's request log, which records the ids a write names) and was applied (an update or delete
  over an edit) or answered at all (over a delete: "not found" is how the service learns of it): that
  write supersedes the bookkeeper's version, and the service records the version it replaced only when
  it saw it (a stale-SyncToken re-read or a re-create, with no write of ours in doubt; a delete over a
  bookkeeper's edit, or of a record already deleted, records nothing). Those are counted and listed
  ("unseen: CrewFlow's write came after"). An edit the bookkeeper deleted afterwards is owed a finding only
  as much as that delete is (the edited version is gone by their own hand). Nor after the company switched away from the realm (its
  webhook events are dropped, its findings archived). The end of the day runs a reconciliation, so a
  webhook lost to a disconnect, a killed worker or a Redis restart is no excuse.
- No finding without a change (`drift_false`): a `changed` finding names the SyncToken of a bookkeeper's
  edit of that record; a `deleted` one a record the bookkeeper deleted.
- No write names another realm's record (`foreign_ids`): every update or delete in a realm's request log
  names a TimeActivity created there since the campaign started (not the realm's own entries, not an id
  that realm never issued), and the realm's own entries are as they were.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from common import timeactivity_hours
from sqlalchemy import select

if TYPE_CHECKING:
    from ops_company import OpsCompany
    from ops_people import BkChange

def _ref(ta: dict[str, Any], key: str) -> str | None:
    v = ta.get(key)
    return str(v.get("value")) if isinstance(v, dict) and v.get("value") is not None else None


def content_of(ta: dict[str, Any]) -> dict[str, Any]:
    return {"Description": ta.get("Description"), "CustomerRef": _ref(ta, "CustomerRef"),
            "ItemRef": _ref(ta, "ItemRef"), "EmployeeRef": _ref(ta, "EmployeeRef"), "hours": timeactivity_hours(ta)}


def kept_view(oc: OpsCompany, card: int, core_version: int) -> tuple[str, dict[str, Any]] | None:
    """The version the admin kept for this timecard if nothing changed it since: ("kept", view) when QBO must
    hold it, ("either", view) when Core unapproved and approved it again since with the same content (the
    delete may have gone out, and the entry come back with Core's content, or not); else None (Core's)."""
    k = oc.people.kept.get(card)
    if k is None or k.realm != oc.realm or (card in oc.people.pushed and oc.people.pushed[card] > k.at):
        return None
    changes = [c for c in oc.people.changes if c.card == card and c.realm == k.realm]
    if not changes or (changes[-1].kind, changes[-1].qbo_id, changes[-1].token) != ("edit", k.qbo_id, k.token):
        return None
    if k.synced is None or k.synced != k.content or oc.content_key(card) != k.content:
        return None  # a Core edit on its way when the admin accepted, or one since: CrewFlow's is sent
    return ("kept" if core_version == k.core_version else "either"), k.view


def _realm_at(oc: OpsCompany, at: datetime) -> str:
    switched = oc.people.switched_at
    return oc.realm_b if switched is not None and oc.realm_b and at >= switched else oc.bench.realm_id


async def realm_logs(oc: OpsCompany, since: float) -> dict[str, list[dict[str, Any]]]:
    """The request logs of the realms the company used (the sandbox's, with the ids each write named)."""
    realms = [oc.bench.realm_id] + ([oc.realm_b] if oc.realm_b else [])
    return {realm: await oc.stack.realm_log(realm, since) for realm in realms}


NOT_APPLIED = ("storm", "down", "replayed", "error500", "error503", "timeout")  # injected before QBO acted
LATE = 5.0  # a late commit is applied up to lateCommitSeconds (4 s) after its request arrived


def _crewflow_wrote(log: list[dict[str, Any]], c: BkChange) -> dict[str, Any] | None:
    """The first update or delete of the service that reached this record after the bookkeeper's change:
    applied (an edit) or answered at all (a delete: "not found" is how the service learns of it)."""
    ref, at = f"TimeActivity/{c.qbo_id}", c.at.timestamp()
    for e in log:
        if ref not in (e.get("ids") or []) or e.get("note") in NOT_APPLIED or e.get("status") == 429:
            continue
        # commit-then-drop: QBO may have applied it (its answer was lost); the service's outcome is unknown too
        applied = e.get("status") == 200 or e.get("note") == "commit-then-drop"
        if (e["ts"] > at or (e.get("note") == "late-commit" and e["ts"] > at - LATE)) and \
                (applied or c.kind == "delete"):
            return e
    return None


def _deleted_after(changes: list[BkChange], c: BkChange) -> BkChange | None:
    """The bookkeeper's later delete of the record an edit changed: the edited version is gone by their
    own hand, so it is owed a finding only as much as the delete is."""
    if c.kind != "edit":
        return None
    return next((d for d in changes if d.kind == "delete" and d.qbo_id == c.qbo_id and d.realm == c.realm
                 and d.at > c.at), None)


async def drift_problems(oc: OpsCompany, logs: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """(count, line) for each bookkeeper change never found and each finding no change explains; the
    tallies (found by source, excused) go to the company's notes."""
    from qbo_integration.reconciliation.models import DriftFinding as F

    async with oc.stack.sm() as s:
        findings = (await s.execute(select(F.timecard_id, F.qbo_id, F.kind, F.qbo_sync_token, F.status, F.source,
                                           F.detected_at).where(F.company_id == oc.company_id))).all()
    out: list[tuple[str, str]] = []

    def count(key: str) -> None:
        oc.people.tally[f"bookkeeper's changes {key}"] += 1

    changes = oc.people.changes
    for c in changes:
        i = oc.cards.index(c.tid)
        seen = [f for f in findings if f.timecard_id == c.tid and f.qbo_id == c.qbo_id
                and _realm_at(oc, f.detected_at) == c.realm and (f.kind == "deleted" or (
                    c.kind == "edit" and f.qbo_sync_token is not None and int(f.qbo_sync_token) >= int(c.token or 0)))]
        if seen:
            count(f"found by {'/'.join(sorted({f.source for f in seen}))}")
            continue
        if c.realm != oc.realm:
            count("unseen: switched away")
            continue
        ours = _crewflow_wrote(logs.get(c.realm, []), c)
        gone = _deleted_after(changes, c)
        if ours is None and gone is not None and _crewflow_wrote(logs.get(c.realm, []), gone) is not None:
            count("unseen: the bookkeeper deleted the record afterwards")
            continue
        if ours is not None:
            what = "delete" if "operation=delete" in str(ours.get("path")) else "write"
            count(f"unseen: CrewFlow's {what} came after")
            oc.people.notes.append(
                f"tc{i}: the bookkeeper's {c.kind} of TA {c.qbo_id} at {c.at:%H:%M:%S.%f} was never found; CrewFlow's "
                f"request naming it arrived {ours['ts'] - c.at.timestamp():.2f} s later ({ours['status']}, "
                f"{ours.get('note')})")
            continue
        out.append(("drift_missed", f"tc{i} {c.tid}: the bookkeeper's {c.kind} of TA {c.qbo_id} "
                                    f"(SyncToken {c.token}) at {c.at:%H:%M:%S.%f} in realm {c.realm} was never "
                                    f"found; findings of the timecard: "
                                    f"{[(f.qbo_id, f.kind, f.qbo_sync_token, f.status, f.source) for f in findings if f.timecard_id == c.tid]}"
                                    f"\n      history:\n        " + "\n        ".join(oc.history.get(i, []))))
    for f in findings:
        # A finding the switch archived is of the old realm, even when detected after the harness began the
        # switch (switched_at is when its connect flow started, not when the switch committed).
        realm = oc.bench.realm_id if f.status == "archived" else _realm_at(oc, f.detected_at)
        made = [c for c in changes if c.tid == f.timecard_id and c.qbo_id == f.qbo_id and c.realm == realm]
        if f.kind == "deleted" and any(c.kind == "delete" for c in made):
            continue
        if f.kind == "changed" and any(c.kind == "edit" and c.token == f.qbo_sync_token for c in made):
            continue
        i = oc.cards.index(f.timecard_id) if f.timecard_id in oc.cards else -1
        out.append(("drift_false", f"tc{i} {f.timecard_id}: a {f.status} {f.kind} finding ({f.source}) of TA "
                                   f"{f.qbo_id} at SyncToken {f.qbo_sync_token}, detected {f.detected_at:%H:%M:%S.%f}, "
                                   f"that no bookkeeper change explains; the bookkeeper's: "
                                   f"{[(c.kind, c.token) for c in made]}"
                                   f"\n      history:\n        " + "\n        ".join(oc.history.get(i, []))))
    for f in findings:
        oc.people.tally[f"findings {f.status} ({f.source})"] += 1
    return out


async def foreign_problems(oc: OpsCompany, logs: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    """Writes in a realm's request log naming a record the service did not create there, and changes to a
    realm's own entries."""
    out: list[tuple[str, str]] = []
    for realm, log in logs.items():
        now = await oc._own_entries(realm)
        own = oc.people.own.get(realm, {})
        created = set(now) - set(own)
        for e in log:
            for ref in e.get("ids") or []:
                entity, _, rid = str(ref).partition("/")
                if entity != "TimeActivity" or rid not in created:
                    out.append(("foreign_ids", f"realm {realm}: {e['method']} {e['path']} named {ref}, not a record "
                                               f"created in this realm (answered {e['status']}, note {e.get('note')})"))
        for rid, was in own.items():
            if now.get(rid) != was:
                out.append(("foreign_ids", f"realm {realm}: its own TimeActivity {rid} changed: {was} -> {now.get(rid)}"))
    return out

