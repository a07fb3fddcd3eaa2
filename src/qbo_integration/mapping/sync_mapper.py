"""Mapping's side of `sync.mapper.Mapper`: the payload built with the active profile, and the books' checks.
The composition (`services.Services.mapper`, the tests' worker context) hands it to the sync engine."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.mapping import books
from qbo_integration.mapping.payload import PayloadResult, build_time_activities
from qbo_integration.mapping.profiles import active_config


class TimeActivityMapper:
    async def build(self, session: AsyncSession, company: CompanyView,
                    timecards: list[TimecardView]) -> dict[uuid.UUID, PayloadResult]:
        return await build_time_activities(session, company, timecards, config=await active_config(session, company.id))

    refusal = staticmethod(books.refusal)
    is_closed_refusal = staticmethod(books.is_closed_refusal)
    explain = staticmethod(books.explain)


MAPPER = TimeActivityMapper()
