"""Routes of the mapping domain: the directory's orphans (what the mapping points at that is gone; the
import's own routes are directory/endpoints.py), mapping profiles, suggestions, validation, samples, test
mapping, dry run, the live-sync switch and the wizard's records. Routes only: the logic is in the service modules."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from qbo_integration.api.deps import AdminOf, CompanyAdmin, CompanyReader, QueueDep, SessionDep
from qbo_integration.core_platform.gateway import require_company
from qbo_integration.mapping import records, reports, service, suggest, testing
from qbo_integration.mapping.schemas import (
    CompanyBody,
    DryRunIn,
    DryRunOut,
    LiveSyncIn,
    LiveSyncOut,
    MappingOut,
    MappingPut,
    MappingSaved,
    ProfileCreate,
    ProfileOut,
    TestMappingIn,
    TestMappingOut,
)
from qbo_integration.qbo import QboApi

router = APIRouter(tags=["mapping"])


def _qbo(request: Request) -> QboApi:
    return request.app.state.services.qbo


# ------------------------------------------------------------------------------------------ directory
@router.get("/directory/orphans")
async def list_orphans(reader: CompanyReader, session: SessionDep) -> dict[str, Any]:
    await require_company(session, reader.company_id)
    return await reports.orphans(session, reader.company_id)


# ------------------------------------------------------------------------------------------ mapping
@router.get("/mapping", response_model=MappingOut, response_model_by_alias=True)
async def get_mapping(admin: CompanyAdmin, session: SessionDep,
                      profile_id: Annotated[uuid.UUID | None, Query(alias="profileId")] = None) -> MappingOut:
    # admin only: pay rates or emails (README, "Roles")
    return await service.get_mapping(session, admin.company_id, profile_id)


@router.put("/mapping", response_model=MappingSaved, response_model_by_alias=True)
async def put_mapping(body: MappingPut, admin: AdminOf[MappingPut], session: SessionDep, queue: QueueDep) -> MappingSaved:
    return await service.save_mapping(session, queue, body.company_id, body.mapping, actor=admin.sub,
                                      confirm_duplicates=body.confirm_duplicates)


@router.get("/mapping/profiles", response_model=list[ProfileOut], response_model_by_alias=True)
async def list_profiles(reader: CompanyReader, session: SessionDep) -> list[ProfileOut]:
    return await service.profiles(session, reader.company_id)


@router.post("/mapping/profiles", status_code=status.HTTP_201_CREATED, response_model=ProfileOut,
             response_model_by_alias=True)
async def create_profile(body: ProfileCreate, admin: AdminOf[ProfileCreate], session: SessionDep) -> ProfileOut:
    return await service.create_profile(session, body, actor=admin.sub)


@router.post("/mapping/profiles/{profile_id}/activate", response_model=ProfileOut, response_model_by_alias=True)
async def activate_profile(profile_id: uuid.UUID, body: CompanyBody, admin: AdminOf[CompanyBody], session: SessionDep,
                           queue: QueueDep) -> ProfileOut:
    return await service.activate_profile(session, queue, body.company_id, profile_id, actor=admin.sub)


@router.get("/mapping/suggestions")
async def get_suggestions(admin: CompanyAdmin, session: SessionDep) -> dict[str, Any]:
    # admin only: pay rates or emails (README, "Roles")
    await require_company(session, admin.company_id)
    return await suggest.suggestions(session, admin.company_id)


@router.get("/mapping/validation")
async def get_validation(reader: CompanyReader, session: SessionDep) -> dict[str, Any]:
    await require_company(session, reader.company_id)
    return await reports.validation(session, reader.company_id)


@router.get("/mapping/samples")
async def get_samples(admin: CompanyAdmin, session: SessionDep) -> dict[str, Any]:
    # admin only: pay rates or emails (README, "Roles")
    await require_company(session, admin.company_id)
    return await reports.samples(session, admin.company_id)


# ------------------------------------------------------------------------------------------ test mode
@router.post("/test-mapping", response_model=TestMappingOut, response_model_by_alias=True)
async def test_mapping(body: TestMappingIn, request: Request, admin: AdminOf[TestMappingIn],
                       session: SessionDep) -> TestMappingOut:
    return await testing.test_mapping(session, _qbo(request), body.company_id, body.timecard_id)


@router.post("/dry-run", response_model=DryRunOut, response_model_by_alias=True)
async def dry_run(body: DryRunIn, request: Request, admin: AdminOf[DryRunIn], session: SessionDep) -> DryRunOut:
    return await testing.dry_run(session, _qbo(request), body, actor=admin.sub)


@router.post("/live-sync", response_model=LiveSyncOut, response_model_by_alias=True)
async def live_sync(body: LiveSyncIn, admin: AdminOf[LiveSyncIn], session: SessionDep, queue: QueueDep) -> LiveSyncOut:
    return await testing.set_live_sync(session, queue, body.company_id, body.enabled, actor=admin.sub)


@router.get("/mapping/records", summary="Both sides of the mapping wizard in full, and recent timecards to test")
async def mapping_records(admin: CompanyAdmin,
                          session: SessionDep) -> dict[str, Any]:
    # admin only: pay rates or emails (README, "Roles")
    return await records.mapping_records(session, admin.company_id)
