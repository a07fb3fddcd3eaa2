"""Drift in health (issue 16): open drift findings counted and a degraded reason, through the running app
(the composition hands reconciliation's count to monitoring's health); resolving them clears it."""

from __future__ import annotations

from tests.reconciliation.test_reconcile import _reconcile, _synced

P = "/api/v1/integrations/quickbooks"


async def _health(client, headers, cid) -> dict:
    resp = await client.get(f"{P}/health", params={"companyId": str(cid)}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_open_drift_findings_show_in_health_until_resolved(ctx, live, sessionmaker, sandbox, api, client,
                                                                 make_token):
    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    (t1, q1), (t2, q2) = await _synced(ctx, sessionmaker, core, 2)
    clean = await _health(client, headers, cc.company_id)
    assert clean["openDriftFindings"] == 0 and not [r for r in clean["reasons"] if "inside QuickBooks" in r]

    # a bookkeeper edits one entry and deletes the other in QuickBooks; webhooks off: reconciliation finds them
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": q1, "Hours": 1})
    await sandbox.delete(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity/{q2}")
    found = await _reconcile(sessionmaker, api, ctx, cc.company_id)
    assert found["drift"] == 1 and found["missing"] == 1, found  # the deleted one is also a drift finding
    h = await _health(client, headers, cc.company_id)
    assert h["openDriftFindings"] == 2 and h["status"] == "degraded"
    assert "2 TimeActivities were changed or deleted inside QuickBooks since CrewFlow synced them: push " \
           "CrewFlow's version, keep QuickBooks', or dismiss each on the dashboard" in h["reasons"]

    drift = (await client.get(f"{P}/drift", params={"companyId": str(cc.company_id)}, headers=headers)).json()
    by_kind = {f["kind"]: f for f in drift["items"]}
    r = await client.post(f"{P}/drift/{by_kind['changed']['id']}/resolve",
                          json={"companyId": str(cc.company_id), "action": "accept"}, headers=headers)
    assert r.status_code == 200, r.text
    h = await _health(client, headers, cc.company_id)
    assert h["openDriftFindings"] == 1
    assert [x for x in h["reasons"] if "inside QuickBooks" in x][0].startswith("1 TimeActivity was changed or deleted")

    r = await client.post(f"{P}/drift/{by_kind['deleted']['id']}/resolve",
                          json={"companyId": str(cc.company_id), "action": "dismiss"}, headers=headers)
    assert r.status_code == 200, r.text
    h = await _health(client, headers, cc.company_id)
    assert h["openDriftFindings"] == 0 and not [x for x in h["reasons"] if "inside QuickBooks" in x]


async def test_a_drift_resolution_is_in_the_timecards_story(ctx, live, sessionmaker, sandbox, api, client,
                                                            make_token):
    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id, sub='ann')}"}
    [(t1, q1)] = await _synced(ctx, sessionmaker, core, 1)
    await sandbox.post(f"/_sandbox/realms/{cc.realm_id}/entities/TimeActivity", json={"Id": q1, "Hours": 1})
    await _reconcile(sessionmaker, api, ctx, cc.company_id)
    [finding] = (await client.get(f"{P}/drift", params={"companyId": str(cc.company_id)}, headers=headers)
                 ).json()["items"]
    r = await client.post(f"{P}/drift/{finding['id']}/resolve", json={"companyId": str(cc.company_id),
                                                                      "action": "accept"}, headers=headers)
    assert r.status_code == 200, r.text
    story = (await client.get(f"{P}/timecards/{t1}/sync", params={"companyId": str(cc.company_id)},
                              headers=headers)).json()["story"]
    assert (story[0]["code"], story[0]["facts"]["actor"], story[0]["facts"]["finding"]) == (
        "drift_accept", "user:ann", finding["id"])
    assert story[0]["summary"] == "Admin: Drift resolved: QuickBooks' version kept"
