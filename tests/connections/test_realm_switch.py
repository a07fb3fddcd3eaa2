"""Issue 28, finding 1: one company, one realm. Connecting a QuickBooks company other than the one the
company's sync history belongs to is refused unless the admin switches deliberately; a switch archives
the old realm's history and no write ever names another realm's record. Over HTTP, with the sandbox."""

from __future__ import annotations

from sqlalchemy import select, update

from qbo_integration.connections.crypto import TokenCipher, aad_for
from qbo_integration.connections.models import Integration
from qbo_integration.mapping.models import MappingProfile
from qbo_integration.monitoring.models import AuditLogEntry
from qbo_integration.realms.models import RealmArchive
from qbo_integration.sync import engine, intake
from qbo_integration.sync.models import TimecardSyncRecord
from tests.connections import flow
from tests.connections.flow import API
from tests.support import sync as h


async def _synced_in_a(ctx, sessionmaker, core, sandbox, realm: str):
    tid = await h.add_timecard(sessionmaker, core, notes="ours")
    await intake.handle_event(ctx, h.event("timecard.approved", core, tid, 1))
    assert (await engine.run_company_sync(ctx, core.company_id))["synced"] == 1
    [ta] = await h.activities(sandbox, realm)
    return tid, ta


async def _integration(sessionmaker, company_id) -> Integration:
    async with sessionmaker() as s:
        return (await s.execute(select(Integration).where(Integration.company_id == company_id))).scalar_one()


async def _switch_flow(client, sandbox, company_id, headers, realm_id: str, *, switch: bool):
    params = {"companyId": str(company_id), "format": "json", **({"switchCompany": "true"} if switch else {})}
    started = await client.get(f"{API}/connect", params=params, headers=headers)
    assert started.status_code == 200, started.text
    return await flow.callback(client, await flow.consent(sandbox, started.json()["authorizeUrl"], realm_id))


async def test_another_quickbooks_company_is_refused_unless_the_admin_switches(
        ctx, live, sessionmaker, sandbox, client, make_token):
    cc, core = live
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    tid, ta_a = await _synced_in_a(ctx, sessionmaker, core, sandbox, cc.realm_id)
    assert (await client.delete(f"{API}/disconnect", params={"companyId": str(cc.company_id)},
                                headers=headers)).status_code == 200
    b = (await flow.new_realm(sandbox, "Other Books Inc"))["realmId"]
    b_before = await h.activities(sandbox, b)

    refused = await _switch_flow(client, sandbox, cc.company_id, headers, b, switch=False)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "other_realm"
    assert "Switch QuickBooks company" in refused.json()["error"]["message"]
    integ = await _integration(sessionmaker, cc.company_id)
    assert (integ.realm_id, integ.connection_status) == (cc.realm_id, "disconnected")
    assert (await h.row(sessionmaker, tid)).qbo_id == ta_a["Id"]

    switched = await _switch_flow(client, sandbox, cc.company_id, headers, b, switch=True)
    assert switched.status_code == 200, switched.text
    integ = await _integration(sessionmaker, cc.company_id)
    assert (integ.realm_id, integ.connection_status, integ.enabled) == (b, "connected", False)
    assert await h.row(sessionmaker, tid) is None  # the old realm's row is archived, not applied to B
    tc = await h.core_timecard(sessionmaker, tid)
    assert (tc.sync_status, tc.qbo_id) == ("not_synced", None)
    async with sessionmaker() as s:
        archived = (await s.execute(select(RealmArchive.kind, RealmArchive.realm_id, RealmArchive.ref)
                                    .where(RealmArchive.company_id == cc.company_id))).all()
        assert (await s.execute(select(MappingProfile).where(MappingProfile.company_id == cc.company_id))).first() \
            is None
        [switch_audit] = (await s.execute(select(AuditLogEntry).where(
            AuditLogEntry.company_id == cc.company_id, AuditLogEntry.action == "quickbooks_company_switched"))).scalars()
    assert ("sync_record", cc.realm_id, str(tid)) in archived
    assert ("mapping_profile", cc.realm_id) in {(k, r) for k, r, _ in archived}
    assert switch_audit.response_payload["fromRealmId"] == cc.realm_id
    assert await h.activities(sandbox, b) == b_before  # nothing was written to B
    assert [t["Id"] for t in await h.activities(sandbox, cc.realm_id)] == [ta_a["Id"]]  # A is left as it was


async def test_no_write_names_a_record_of_another_realm(ctx, live, sessionmaker, sandbox, api, clock):
    """Finding 1 as main had it: the company's realm changed under its sync history (no switch), and an
    edit updated B's own time entry that happened to have A's id. The outbox refuses to send it."""
    cc, core = live
    tid, ta_a = await _synced_in_a(ctx, sessionmaker, core, sandbox, cc.realm_id)
    b = (await flow.new_realm(sandbox, "Other Books Inc"))["realmId"]
    grant = await sandbox.post(f"/_sandbox/realms/{b}/grants")
    assert grant.status_code == 200, grant.text
    tokens = grant.json()
    cipher = TokenCipher(ctx["settings"].token_encryption_keys.get_secret_value())
    aad = aad_for(cc.integration_id)
    async with sessionmaker() as s:  # B's grant stored as a connect to B would store it, history untouched
        await s.execute(update(Integration).where(Integration.company_id == cc.company_id).values(
            realm_id=b, access_token_enc=cipher.encrypt(tokens["access_token"], aad),
            refresh_token_enc=cipher.encrypt(tokens["refresh_token"], aad)))
        await s.commit()
    api.tokens.forget(str(cc.company_id))
    b_log = len(await h.sandbox_log(sandbox, b))
    v2 = await h.change_timecard(sessionmaker, tid, notes="edited after the realm changed")
    await intake.handle_event(ctx, h.event("timecard.updated", core, tid, v2))
    await engine.run_company_sync(ctx, core.company_id)
    assert len(await h.sandbox_log(sandbox, b)) == b_log  # no write reached B
    r = await h.row(sessionmaker, tid)
    assert (r.state, r.last_error_code, r.qbo_id, r.realm_id) == ("failed", "other_realm", ta_a["Id"], cc.realm_id)
    assert "another QuickBooks company" in r.last_error
    async with sessionmaker() as s:
        assert (await s.execute(select(TimecardSyncRecord.realm_id).where(
            TimecardSyncRecord.timecard_id == tid))).scalar_one() == cc.realm_id


async def test_reconnecting_while_quickbooks_pauses_the_realm_connects(
        connected_company, sessionmaker, sandbox, client, make_token, redis):
    """Issue 28, finding 6: for up to 60 s after a 429 storm, reconnect's test call failed with "QBO
    throttled this realm: paused" although the grant was good. The connection is stored; the directory
    import that follows reads the name and the books again."""
    cc = connected_company
    headers = {"Authorization": f"Bearer {make_token(cc.company_id)}"}
    assert (await client.delete(f"{API}/disconnect", params={"companyId": str(cc.company_id)},
                                headers=headers)).status_code == 200
    await redis.set(f"qbo:limit:{{{cc.realm_id}}}:pause", "1", px=60_000)  # QBO's 60 s pause after a 429
    done = await _switch_flow(client, sandbox, cc.company_id, headers, cc.realm_id, switch=False)
    assert done.status_code == 200, done.text
    integ = await _integration(sessionmaker, cc.company_id)
    assert (integ.realm_id, integ.connection_status, integ.qbo_company_name) == (
        cc.realm_id, "connected", cc.company_name)
