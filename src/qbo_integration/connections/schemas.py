"""Request and response shapes of the connection routes (camelCase on the wire, as in the PRD)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from qbo_integration.api.camel import CamelIn as _In
from qbo_integration.api.camel import CamelOut as _Out


class CompanyIn(_In):
    company_id: uuid.UUID = Field(description="The CrewFlow company (must be the caller's)")


class AuthorizeUrlOut(_Out):
    authorize_url: str = Field(description="Send the admin's browser here to approve the connection")


class CallbackOut(_Out):
    success: bool
    realm_id: str


class TestConnectionOut(_Out):
    connected: bool
    company_name: str | None = None
    error: str | None = None


class DisconnectOut(_Out):
    success: bool
    revoked: bool = Field(default=True, description="False when QuickBooks could not be told (tokens deleted anyway)")


ConnectionStatus = Literal["never_connected", "connected", "disconnected", "lost"]


class ConnectionOut(_Out):
    company_id: uuid.UUID
    status: ConnectionStatus
    realm_id: str | None = None
    company_name: str | None = Field(default=None, description="The QuickBooks company's name")
    changed_at: datetime | None = Field(default=None, description="When the status last changed")
    reason: str | None = Field(default=None, description="Why (for disconnected/lost)")
    connected_by: str | None = None
    last_test_at: datetime | None = None
    last_test_ok: bool | None = None
    sync_enabled: bool = False
    refresh_token_expires_at: datetime | None = Field(
        default=None, description="When the grant ends: the earlier of the rolling (100 days unused) and the hard "
                                  "(5 years after consent) expiry; reconnect before then")
    refresh_token_hard_expires_at: datetime | None = Field(
        default=None, description="The grant's hard expiry, when QuickBooks reported it")
