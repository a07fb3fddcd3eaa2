"""Which companies sync: the integration row (live sync on, connected) and its sync start date."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import get_integration

__all__ = ["get_integration", "is_connected", "is_live", "live_integrations"]


def is_connected(integration: Integration | None) -> bool:
    return integration is not None and integration.connection_status == "connected" and bool(integration.realm_id)


def is_live(integration: Integration | None) -> bool:
    """Live sync: enabled by the admin and connected."""
    return integration is not None and bool(integration.enabled) and is_connected(integration)


async def live_integrations(session: AsyncSession) -> list[Integration]:
    stmt = select(Integration).where(
        Integration.enabled.is_(True), Integration.connection_status == "connected", Integration.type == "quickbooks"
    )
    return list((await session.execute(stmt)).scalars())
