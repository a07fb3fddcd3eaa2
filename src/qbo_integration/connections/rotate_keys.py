"""Re-encrypt every stored token with the newest key (`TokenCipher.current_kid`).

Run after putting a new key first in the key setting; once it reports 0 rows left on old keys,
the old key can be removed from the setting. Each row is updated in its own short transaction,
locked `FOR UPDATE` so a concurrent refresh (which saves under the same lock) is not overwritten.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qbo_integration.connections.crypto import TokenCipher, aad_for
from qbo_integration.connections.models import Integration

ENCRYPTED_COLUMNS = ("access_token_enc", "refresh_token_enc")


async def reencrypt_all(sessionmaker: async_sessionmaker[AsyncSession], cipher: TokenCipher) -> int:
    """Returns how many integration rows were changed. (Pending OAuth states expire within minutes:
    they are not rotated; a verifier encrypted with a removed key just fails that one connect.)"""
    changed = 0
    async with sessionmaker() as s:
        ids = (
            (
                await s.execute(
                    select(Integration.id).where(
                        or_(
                            Integration.access_token_enc.is_not(None),
                            Integration.refresh_token_enc.is_not(None),
                        )
                    )
                )
            )
            .scalars()
            .all()
        )
    for integration_id in ids:
        async with sessionmaker() as s, s.begin():
            row = await s.get(Integration, integration_id, with_for_update=True)
            if row is None:
                continue
            aad = aad_for(row.id)
            touched = False
            for col in ENCRYPTED_COLUMNS:
                blob = getattr(row, col)
                if blob and cipher.needs_rotation(blob):
                    setattr(row, col, cipher.reencrypt(blob, aad))
                    touched = True
            changed += int(touched)
    return changed
