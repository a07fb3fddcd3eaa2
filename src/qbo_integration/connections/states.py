"""OAuth `state`: random, single-use, 10-minute expiry, bound to the company and the user who started.

Only the SHA-256 of a state is stored (a database reader cannot complete someone's connect); the
PKCE verifier, when used, is stored encrypted with the state's hash as associated data.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections.crypto import TokenCipher
from qbo_integration.connections.models import OAuthState
from qbo_integration.errors import InvalidInput

STATE_TTL = timedelta(minutes=10)
PURGE_AFTER = timedelta(days=1)
_STATE_RE = re.compile(r"^[A-Za-z0-9_-]{20,200}$")


class StateError(InvalidInput):
    """The callback's state is unusable. Nothing was changed."""


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def verifier_aad(state_hash: str) -> bytes:
    return b"oauth_state:" + state_hash.encode("ascii")


async def create_state(
    session: AsyncSession,
    cipher: TokenCipher,
    *,
    company_id: uuid.UUID,
    user_sub: str,
    now: datetime,
    code_verifier: str | None = None,
    return_to: str | None = None,
    allow_realm_switch: bool = False,
) -> str:
    """A new state for this company and user; returns the raw value (shown once, in the URL)."""
    state = secrets.token_urlsafe(32)
    state_hash = hash_state(state)
    await session.execute(
        delete(OAuthState).where(OAuthState.company_id == company_id, OAuthState.expires_at < now - PURGE_AFTER)
    )
    session.add(
        OAuthState(
            state_hash=state_hash,
            company_id=company_id,
            user_sub=user_sub[:200],
            code_verifier_enc=cipher.encrypt(code_verifier, verifier_aad(state_hash)) if code_verifier else None,
            return_to=return_to,
            allow_realm_switch=allow_realm_switch,
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    )
    return state


async def take_state(
    session: AsyncSession,
    state: str | None,
    *,
    now: datetime,
    company_id: uuid.UUID | None = None,
    user_sub: str | None = None,
) -> OAuthState:
    """Check the state and mark it used (single use). Raises StateError, changing nothing, when it is
    missing, unknown/forged, expired, already used, or (when the caller is known) someone else's."""
    if not state:
        raise StateError("The callback has no state: start the connection again from CrewFlow", code="missing_state")
    if not _STATE_RE.match(state):
        raise StateError("The callback's state is not one we issued: start the connection again",
                         code="invalid_state")
    row = (
        await session.execute(
            select(OAuthState).where(OAuthState.state_hash == hash_state(state)).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise StateError("The callback's state is not one we issued: start the connection again",
                         code="invalid_state")
    if row.used_at is not None:
        raise StateError("This connection link was already used: start the connection again", code="state_used")
    if row.expires_at <= now:
        raise StateError("This connection link expired (links last 10 minutes): start the connection again",
                         code="state_expired")
    if (company_id is not None and row.company_id != company_id) or (user_sub is not None and row.user_sub != user_sub):
        raise StateError("This connection was started by another user or company", code="state_foreign")
    row.used_at = now
    await session.flush()
    return row


def code_verifier_of(cipher: TokenCipher, row: OAuthState) -> str | None:
    if not row.code_verifier_enc:
        return None
    return cipher.decrypt(row.code_verifier_enc, verifier_aad(row.state_hash))
