"""Assembles every domain's routes under /api/v1/integrations/quickbooks."""

from __future__ import annotations

from fastapi import APIRouter

from qbo_integration.connections import endpoints as connections_endpoints
from qbo_integration.console import names as console_names
from qbo_integration.console import zones as console_zones
from qbo_integration.directory import endpoints as directory_endpoints
from qbo_integration.exports import endpoints as exports_endpoints
from qbo_integration.health import endpoints as health_endpoints
from qbo_integration.mapping import endpoints as mapping_endpoints
from qbo_integration.monitoring import endpoints as monitoring_endpoints
from qbo_integration.reconciliation import endpoints as reconciliation_endpoints
from qbo_integration.sync import endpoints as sync_endpoints
from qbo_integration.sync.story import endpoints as story_endpoints
from qbo_integration.webhooks import endpoints as webhooks_endpoints

PREFIX = "/api/v1/integrations/quickbooks"
WEBHOOKS_PATH = f"{PREFIX}{webhooks_endpoints.PATH}"


def build_integrations_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    # Each domain adds one line here: router.include_router(<domain>.endpoints.router)
    router.include_router(connections_endpoints.router)
    router.include_router(health_endpoints.router)
    router.include_router(monitoring_endpoints.router)
    router.include_router(exports_endpoints.router)
    router.include_router(sync_endpoints.router)
    router.include_router(story_endpoints.router)
    router.include_router(directory_endpoints.router)  # before mapping's: the API document's order stays
    router.include_router(mapping_endpoints.router)
    router.include_router(webhooks_endpoints.router)
    router.include_router(reconciliation_endpoints.router)
    router.include_router(console_names.router)
    router.include_router(console_zones.router)
    return router
