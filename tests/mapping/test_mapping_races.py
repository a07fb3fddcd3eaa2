"""Double clicks and concurrent requests on the mapping routes, against the real database: each ends in a
2xx or a clear 409, never a 500, and leaves one consistent state (one active profile, one per name)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from qbo_integration.mapping.models import MappingProfile

API = "/api/v1/integrations/quickbooks"


async def _profiles(sessionmaker, company_id) -> list[MappingProfile]:
    async with sessionmaker() as s:
        return list((await s.execute(select(MappingProfile).where(MappingProfile.company_id == company_id))).scalars())


async def test_concurrent_activations_of_two_profiles(client, auth_headers, imported, sessionmaker):
    """Two inactive-to-active switches at once each cleared the other's flag: [200, 200, 500, 500]."""
    cid = str(imported.company_id)
    ids = []
    for name in ("Field", "Office", "Shop"):
        r = await client.post(f"{API}/mapping/profiles", json={"companyId": cid, "profileName": name},
                              headers=auth_headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["profileId"])
    for _ in range(3):
        answers = await asyncio.gather(*(client.post(f"{API}/mapping/profiles/{ids[n % 3]}/activate",
                                                     json={"companyId": cid}, headers=auth_headers)
                                         for n in range(1, 7)))
        assert {r.status_code for r in answers} <= {200, 409}, [(r.status_code, r.text[:200]) for r in answers]
        active = [p for p in await _profiles(sessionmaker, imported.company_id) if p.active]
        assert len(active) == 1


async def test_a_double_clicked_first_save_makes_one_profile(client, auth_headers, imported, sessionmaker):
    """Six first saves at once each inserted "Default": [200, 500, 500, 500, 500, 500]."""
    cid = str(imported.company_id)
    body = {"companyId": cid, "mapping": {"costCodeField": "ServiceItem", "hourlyRates": {"default": 40}}}
    answers = await asyncio.gather(*(client.put(f"{API}/mapping", json=body, headers=auth_headers) for _ in range(6)))
    assert {r.status_code for r in answers} <= {200, 409}, [(r.status_code, r.text[:200]) for r in answers]
    assert any(r.status_code == 200 for r in answers)
    [profile] = await _profiles(sessionmaker, imported.company_id)
    assert (profile.name, profile.active, profile.revision) == ("Default", True, 1)


async def test_concurrent_profile_creations(client, auth_headers, imported, sessionmaker):
    """The company's first profiles, created at once: one becomes active, a name is used once."""
    cid = str(imported.company_id)
    answers = await asyncio.gather(*(client.post(f"{API}/mapping/profiles",
                                                 json={"companyId": cid, "profileName": name}, headers=auth_headers)
                                     for name in ("A", "B", "a", "C", "A")))
    assert {r.status_code for r in answers} <= {201, 409}, [(r.status_code, r.text[:200]) for r in answers]
    profiles = await _profiles(sessionmaker, imported.company_id)
    assert sorted(p.name.casefold() for p in profiles) == ["a", "b", "c"]
    assert sum(1 for p in profiles if p.active) == 1
