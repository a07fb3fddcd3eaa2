"""The reconciliation report is a CSV a person opens in a spreadsheet: cells that would run as formulas
(QuickBooks' own ids and messages are untrusted) are shown as typed, as the other CSVs do."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

from qbo_integration.reconciliation.models import ReconciliationRun

RECON = "/api/v1/integrations/quickbooks/reconciliation"


async def test_formula_like_cells_are_neutralised(client, make_token, connected_company, sessionmaker):
    cid = connected_company.company_id
    run_id = uuid.uuid4()
    async with sessionmaker() as s:
        s.add(ReconciliationRun(id=run_id, company_id=cid, trigger="admin", status="completed", window_days=14,
                                completed_at=datetime.now(UTC), findings=[
                                    {"kind": "duplicate", "qboId": "=HYPERLINK(\"http://x\",\"y\")", "timecardId": None,
                                     "message": "+1+1", "repair": "@SUM(A1)"},
                                    {"kind": "missing", "qboId": "-2", "timecardId": str(uuid.uuid4()),
                                     "message": "Synced, but QuickBooks no longer has it", "repair": None}]))
        await s.commit()
    r = await client.get(f"{RECON}/{run_id}/report.csv", params={"companyId": str(cid)},
                         headers={"Authorization": f"Bearer {make_token(cid)}"})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert (rows[0]["qbo_id"], rows[0]["message"], rows[0]["repair"]) == (
        "'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'@SUM(A1)")
    assert (rows[1]["qbo_id"], rows[1]["message"], rows[1]["repair"]) == (
        "'-2", "Synced, but QuickBooks no longer has it", "")
