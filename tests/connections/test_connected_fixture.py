"""The shared `connected_company` fixture really is connected: the QBO client reads companyinfo."""

from __future__ import annotations

from sqlalchemy import select

from qbo_integration.connections.models import Integration


async def test_connected_company_fixture_reaches_the_sandbox(services, connected_company, sessionmaker):
    info = await services.qbo.company(connected_company.company_id, connected_company.realm_id).company_info()
    assert info.CompanyName == connected_company.company_name
    assert connected_company.company_name
    async with sessionmaker() as s:
        row = (await s.execute(select(Integration).where(Integration.id == connected_company.integration_id))).scalar_one()
    assert row.connection_status == "connected"
    assert row.access_token_enc and row.access_token_enc.startswith("v1.")
