"""Which companies sync: the connection rules sync uses, owned by connections/ (its service functions)."""

from __future__ import annotations

from qbo_integration.connections.service import get_integration, is_connected, is_live, live_integrations

__all__ = ["get_integration", "is_connected", "is_live", "live_integrations"]
