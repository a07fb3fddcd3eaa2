"""DbTokenStore: the QBO client's TokenStore over the `integrations` table, tokens encrypted.

Each method runs its own short transaction and commits before returning: a rotated refresh token
must be durable before the new access token is used (qbo.tokens). `company_id` is the Core
company's id; the row is the company's `quickbooks` integration.

Disconnect wins: a refresh that was in flight when the company disconnected (or reconnected with a
new grant) finds the row changed and stores nothing; only the connect flow makes a row connected.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.clock import utc_now
from qbo_integration.connections.crypto import TokenCipher, aad_for
from qbo_integration.connections.models import Integration
from qbo_integration.connections.service import kept_hard_expiry
from qbo_integration.qbo import ConnectionLostError, TokenSet, TransientError


class DbTokenStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], cipher: TokenCipher) -> None:
        self.sessionmaker = sessionmaker
        self.cipher = cipher

    async def load(self, company_id: str) -> TokenSet | None:
        i = Integration
        async with self.sessionmaker() as s:
            # The columns a token set needs, not the entity: no ORM object is built for a read-only look.
            row = (
                await s.execute(
                    select(i.id, i.connection_status, i.access_token_enc, i.refresh_token_enc,
                           i.access_token_expires_at, i.refresh_token_expires_at, i.refresh_token_hard_expires_at)
                    .where(i.company_id == uuid.UUID(str(company_id)))
                )
            ).one_or_none()
            if (
                row is None
                or row.connection_status != "connected"
                or not row.access_token_enc
                or not row.refresh_token_enc
                or row.access_token_expires_at is None
            ):
                return None
            aad = aad_for(row.id)
            return TokenSet(
                access_token=self.cipher.decrypt(row.access_token_enc, aad),
                refresh_token=self.cipher.decrypt(row.refresh_token_enc, aad),
                access_expires_at=row.access_token_expires_at,
                refresh_expires_at=row.refresh_token_expires_at,
                refresh_hard_expires_at=row.refresh_token_hard_expires_at,
            )

    async def save(self, company_id: str, tokens: TokenSet, *, replacing: str | None = None) -> None:
        """Store a refreshed token pair on the row and commit, only while the row is still connected
        and (with `replacing`, the refresh token that was used) still holds that grant."""
        async with self.sessionmaker() as s, s.begin():
            row = (
                await s.execute(
                    select(Integration)
                    .where(Integration.company_id == uuid.UUID(str(company_id)))
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if row is None:
                raise LookupError("no QuickBooks integration row for this company")
            if row.connection_status != "connected":
                raise ConnectionLostError("QuickBooks was disconnected while the access token was being refreshed")
            aad = aad_for(row.id)
            if replacing is not None and (
                not row.refresh_token_enc or self.cipher.decrypt(row.refresh_token_enc, aad) != replacing
            ):
                raise TransientError("the QuickBooks connection changed while the access token was being refreshed")
            row.access_token_enc = self.cipher.encrypt(tokens.access_token, aad)
            row.refresh_token_enc = self.cipher.encrypt(tokens.refresh_token, aad)
            row.access_token_expires_at = tokens.access_expires_at
            row.refresh_token_expires_at = tokens.refresh_expires_at
            row.refresh_token_hard_expires_at = kept_hard_expiry(row.refresh_token_hard_expires_at,
                                                                 tokens.refresh_hard_expires_at)

    async def mark_lost(self, company_id: str, reason: str) -> None:
        """The grant is gone (invalid_grant): drop the tokens, flag the connected row `lost` with the
        reason (a disconnected row stays disconnected)."""
        async with self.sessionmaker() as s, s.begin():
            await s.execute(
                update(Integration)
                .where(Integration.company_id == uuid.UUID(str(company_id)),
                       Integration.connection_status == "connected")
                .values(
                    connection_status="lost",
                    connection_reason=reason[:1000],
                    connection_changed_at=utc_now(),
                    access_token_enc=None,
                    refresh_token_enc=None,
                    access_token_expires_at=None,
                )
            )
