"""Dev-only routes (mounted by create_app only when QBOI_ENV=dev): a ready-made admin token for the console."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from qbo_integration.api.auth import mint_token
from qbo_integration.api.deps import SettingsDep
from qbo_integration.core_platform.demo_seed import DEMO_COMPANY_ID

router = APIRouter(prefix="/dev", tags=["dev"], include_in_schema=False)


@router.get("/token", summary="Dev mode only: an admin token for the demo company")
async def dev_token(settings: SettingsDep) -> Any:
    token = mint_token(settings, company_id=DEMO_COMPANY_ID, role="admin", sub="dev-admin")
    return JSONResponse({"token": token, "companyId": str(DEMO_COMPANY_ID)}, headers={"Cache-Control": "no-store"})
