"""Inputs of the monitoring routes (query strings and bodies), validated strictly."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qbo_integration.api.inputs import ApiDate

MAX_RANGE_DAYS = 366


class CompanyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    company_id: uuid.UUID = Field(alias="companyId", description="The CrewFlow company id (UUID)")


class DateRange(BaseModel):
    start_date: ApiDate | None = Field(None, alias="startDate", description="YYYY-MM-DD, inclusive, company timezone")
    end_date: ApiDate | None = Field(None, alias="endDate", description="YYYY-MM-DD, inclusive, company timezone")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start_date and self.end_date:
            if self.end_date < self.start_date:
                raise ValueError("endDate must be on or after startDate")
            if self.end_date - self.start_date > timedelta(days=MAX_RANGE_DAYS):
                raise ValueError(f"the date range may span at most {MAX_RANGE_DAYS} days")
        return self


class AuditLogFilters(DateRange):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    company_id: uuid.UUID = Field(alias="companyId")
    status: Literal["success", "failure"] | None = None
    action: str | None = Field(None, min_length=1, max_length=50, pattern=r"^[a-z0-9_.:-]+$")
    worker_id: uuid.UUID | None = Field(None, alias="workerId")
    project_id: uuid.UUID | None = Field(None, alias="projectId")
    timecard_id: uuid.UUID | None = Field(None, alias="timecardId")


class AuditLogQuery(AuditLogFilters):
    page: int = Field(1, ge=1, le=100_000)
    limit: int = Field(50, ge=1, le=200)


class CompanyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    company_id: uuid.UUID = Field(alias="companyId")
