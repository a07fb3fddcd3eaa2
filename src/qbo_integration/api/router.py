"""Assembles every domain's routes under /api/v1/integrations/quickbooks."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/api/v1/integrations/quickbooks"


def build_integrations_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX)
    # Each domain adds one line here: router.include_router(<domain>.endpoints.router)
    return router
