"""QuickBooks' own data is untrusted input: a synced time entry edited inside QuickBooks to hold a NUL or a
lone surrogate (through the sandbox, read back by the real client) is found as drift and stored safely, by
the webhook job and by a reconciliation run, and stops neither for the company."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from qbo_integration.reconciliation import service as reconciliation
from qbo_integration.reconciliation.models import ReconciliationRun
from qbo_integration.untrusted import storable_text
from qbo_integration.webhooks import reactions
from qbo_integration.webhooks.models import WebhookEvent
from qbo_integration.webhooks.signature import sign
from tests.webhooks.test_drift import _findings, _synced_timecard
from tests.webhooks.test_sandbox_delivery import URL


def _now() -> str:
    """An event is dated by the change it reports (an event older than our own write is its echo)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


BAD = {"nul": "Fixed by the bookkeeper\x00 twice", "surrogate": "Fixed \ud800 by the bookkeeper"}


async def _edit_in_quickbooks(sandbox, realm: str, qbo_id: str, description: str) -> None:
    body = json.dumps({"Id": qbo_id, "Description": description}).encode()  # \u0000 / \ud800 escapes
    edit = await sandbox.post(f"/_sandbox/realms/{realm}/entities/TimeActivity", content=body,
                              headers={"content-type": "application/json"})
    assert edit.status_code == 200, edit.text


@pytest.mark.parametrize("kind", list(BAD))
async def test_the_webhook_job_stores_the_finding_safely(ctx, live, sessionmaker, sandbox, api, queue, client,
                                                         settings, kind):
    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    await _edit_in_quickbooks(sandbox, cc.realm_id, qbo_id, BAD[kind])
    delivery = json.dumps([{"specversion": "1.0", "id": f"bad-{kind}", "type": "qbo.timeactivity.updated.v1",
                            "time": _now(), "intuitentityid": qbo_id,
                            "intuitaccountid": cc.realm_id}]).encode()
    posted = await client.post(URL, content=delivery, headers={"content-type": "application/json",
                                                               "intuit-signature": sign(delivery, settings.webhook_verifier())})
    assert posted.status_code == 200 and posted.json()["stored"] == 1, posted.text

    out = await reactions.process(sessionmaker, api, queue, ctx["redis"], cc.company_id)
    assert out["timeActivities"] == {"changed": 1}, out
    [finding] = await _findings(sessionmaker, cc.company_id)
    assert (finding.kind, finding.timecard_id) == ("changed", tid)
    assert finding.qbo_view["Description"] == storable_text(BAD[kind]) != BAD[kind]
    async with sessionmaker() as s:
        events = (await s.execute(select(WebhookEvent.status, WebhookEvent.error))).all()
    assert [tuple(e) for e in events] == [("done", None)]


@pytest.mark.parametrize("kind", list(BAD))
async def test_a_reconciliation_run_completes_with_the_finding(ctx, live, sessionmaker, sandbox, api, kind):
    cc, core = live
    tid, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    await _edit_in_quickbooks(sandbox, cc.realm_id, qbo_id, BAD[kind])
    out = await reconciliation.run(sessionmaker, api, ctx["queue"], ctx["redis"], cc.company_id, None,
                                   reconciliation.Budget(window_days=400, max_reads=50), trigger="admin")
    assert out["status"] == "completed" and out["drift"] == 1, out
    async with sessionmaker() as s:
        assert [r.status for r in (await s.execute(select(ReconciliationRun))).scalars()] == ["completed"]
    [finding] = await _findings(sessionmaker, cc.company_id)
    assert finding.timecard_id == tid and finding.qbo_view["Description"] == storable_text(BAD[kind])


async def test_a_run_whose_findings_cannot_be_recorded_ends_failed(ctx, live, sessionmaker, sandbox, api,
                                                                  monkeypatch):
    """Before, whatever broke the last transaction left the run `running` for ever."""
    from qbo_integration.reconciliation import drift

    cc, core = live
    _, qbo_id = await _synced_timecard(ctx, sessionmaker, core)
    await _edit_in_quickbooks(sandbox, cc.realm_id, qbo_id, "edited")

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug recording a finding")

    monkeypatch.setattr(drift, "record", broken)
    with pytest.raises(RuntimeError):
        await reconciliation.run(sessionmaker, api, ctx["queue"], ctx["redis"], cc.company_id, None,
                                 reconciliation.Budget(window_days=400, max_reads=50), trigger="admin")
    async with sessionmaker() as s:
        [run] = (await s.execute(select(ReconciliationRun))).scalars().all()
    assert (run.status, run.error) == ("failed", "the findings could not be recorded")


async def test_an_audit_row_quoting_quickbooks_is_stored_whatever_it_holds(connected_company, sessionmaker):
    from qbo_integration.monitoring import audit
    from qbo_integration.monitoring.models import AuditLogEntry

    async with sessionmaker() as s:
        await audit.record(s, integration_id=connected_company.integration_id, company_id=connected_company.company_id,
                           action="qbo_drift_detected", status="failure", qbo_id="7\x00" + "9" * 80,
                           error_message="QuickBooks said: bad\x00 \udfff", response_payload={
                               "Description": "a\x00b", "k\ud800": [float("nan"), {"x": "\udc00"}]})
        await s.commit()
        row = (await s.execute(select(AuditLogEntry))).scalar_one()
    assert row.qbo_id == "7\ufffd" + "9" * 62
    assert row.error_message == "QuickBooks said: bad\ufffd \ufffd"
    assert row.response_payload == {"Description": "a\ufffdb", "k\ufffd": [None, {"x": "\ufffd"}]}
