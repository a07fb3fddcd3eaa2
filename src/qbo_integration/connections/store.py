"""The token store the service runs with: DbTokenStore, plus the connection bookkeeping on loss.

When the QBO client gets `invalid_grant` it calls `mark_lost`; here that becomes
`connections.service.mark_lost` (status `lost` with the reason, live sync off, audit row, alert),
in its own committed transaction.
"""

from __future__ import annotations

import uuid

from qbo_integration.connections import service
from qbo_integration.connections.token_store import DbTokenStore


class ConnectionTokenStore(DbTokenStore):
    async def mark_lost(self, company_id: str, reason: str) -> None:
        async with self.sessionmaker() as s, s.begin():
            await service.mark_lost(s, uuid.UUID(str(company_id)), reason)
