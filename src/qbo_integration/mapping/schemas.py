"""Request and response bodies of the mapping routes (camelCase on the wire, as in the PRD)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StringConstraints, model_validator

from qbo_integration.api.camel import CamelIn as Camel
from qbo_integration.api.camel import CamelOut as Out
from qbo_integration.api.inputs import STORABLE, ApiDate

QboId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[0-9]+$")]
ProfileName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), STORABLE]
CostCodeField = Literal["ServiceItem", "Class"]


# ----------------------------------------------------------------------------- mapping config
class EmployeeMap(Camel):
    crewflow_worker_id: uuid.UUID
    qbo_employee_id: QboId
    source: Literal["profile", "import"] | None = None


class CustomerMap(Camel):
    crewflow_project_id: uuid.UUID
    qbo_customer_id: QboId
    source: Literal["profile", "import"] | None = None


class CostCodeMap(Camel):
    """`qboServiceItemId` when the profile maps cost codes to service items, `qboClassId` for classes."""

    crewflow_cost_code_id: uuid.UUID
    qbo_service_item_id: QboId | None = None
    qbo_class_id: QboId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CostCodeMap:
        if (self.qbo_service_item_id is None) == (self.qbo_class_id is None):
            raise ValueError("give exactly one of qboServiceItemId or qboClassId")
        return self

    @property
    def target(self) -> str:
        return str(self.qbo_service_item_id or self.qbo_class_id)


class LocationMap(Camel):
    crewflow_project_id: uuid.UUID
    qbo_department_id: QboId


Rate = Annotated[Decimal, Field(ge=0, le=100000, max_digits=10, decimal_places=2)]


class VendorMap(Camel):
    """A subcontractor: the worker's time goes out as NameOf Vendor + VendorRef (no EmployeeRef)."""

    crewflow_worker_id: uuid.UUID
    qbo_vendor_id: QboId


class ProjectRate(Camel):
    crewflow_project_id: uuid.UUID
    rate: Rate


class HourlyRates(Camel):
    """Bill rates (TimeActivity HourlyRate): billable time needs one, per project or the default."""

    default: Rate | None = None
    projects: list[ProjectRate] = Field(default_factory=list, max_length=10000)


class WorkerRate(Camel):
    crewflow_worker_id: uuid.UUID
    rate: Rate


class CostRates(Camel):
    """Pay rates (TimeActivity CostRate, for QBO's job-costing reports), per worker or the default."""

    default: Rate | None = None
    workers: list[WorkerRate] = Field(default_factory=list, max_length=20000)


class MappingConfigIn(Camel):
    profile_id: uuid.UUID | None = None
    profile_name: ProfileName | None = None
    cost_code_field: CostCodeField = "ServiceItem"
    employee_mapping: list[EmployeeMap] = Field(default_factory=list, max_length=20000)
    vendor_mapping: list[VendorMap] = Field(default_factory=list, max_length=20000)
    customer_mapping: list[CustomerMap] = Field(default_factory=list, max_length=20000)
    cost_code_mapping: list[CostCodeMap] = Field(default_factory=list, max_length=20000)
    location_mapping: list[LocationMap] = Field(default_factory=list, max_length=20000)
    hourly_rates: HourlyRates | None = None
    cost_rates: CostRates | None = None
    map_start_end: StrictBool = True


class MappingPut(Camel):
    company_id: uuid.UUID
    mapping: MappingConfigIn
    confirm_duplicates: StrictBool = Field(
        False, description="Save even though two CrewFlow workers would get one QuickBooks employee (audited)")


class MappingOut(Out):
    company_id: uuid.UUID
    profile_id: uuid.UUID | None
    profile_name: str | None
    revision: int | None
    active: bool
    cost_code_field: CostCodeField
    employee_mapping: list[dict[str, Any]]
    vendor_mapping: list[dict[str, Any]]
    customer_mapping: list[dict[str, Any]]
    cost_code_mapping: list[dict[str, Any]]
    location_mapping: list[dict[str, Any]]
    hourly_rates: dict[str, Any]
    cost_rates: dict[str, Any]
    map_start_end: bool


class MappingSaved(Out):
    success: bool = True
    profile_id: uuid.UUID
    revision: int
    changed: bool
    requeued: int
    warnings: list[str] = Field(default_factory=list)


# ----------------------------------------------------------------------------- profiles
class ProfileCreate(Camel):
    company_id: uuid.UUID
    profile_name: ProfileName
    cost_code_field: CostCodeField = "ServiceItem"
    copy_from: uuid.UUID | None = None


class CompanyBody(Camel):
    company_id: uuid.UUID


class ProfileOut(Out):
    profile_id: uuid.UUID
    profile_name: str
    active: bool
    cost_code_field: str
    revision: int
    created_at: datetime
    updated_at: datetime


# ----------------------------------------------------------------------------- test mapping / dry run
class TestMappingIn(Camel):
    company_id: uuid.UUID
    timecard_id: uuid.UUID


class FieldErrorOut(Out):
    field: str
    message: str
    fix: str
    kind: str


class TestMappingOut(Out):
    valid: bool
    preview: dict[str, Any] | None
    errors: list[FieldErrorOut]
    profile_id: uuid.UUID | None = None
    profile_revision: int | None = None


class DryRunIn(Camel):
    company_id: uuid.UUID
    start_date: ApiDate
    end_date: ApiDate

    @model_validator(mode="after")
    def _range(self) -> DryRunIn:
        if self.end_date < self.start_date:
            raise ValueError("endDate must be on or after startDate")
        if (self.end_date - self.start_date).days > 92:
            raise ValueError("a dry run covers at most 93 days; pick a shorter range")
        return self


class DryRunTimecard(Out):
    timecard_id: uuid.UUID
    valid: bool
    operation: str
    preview: dict[str, Any] | None
    errors: list[FieldErrorOut]
    sync: dict[str, Any] | None = None  # its sync state now in plain words {state, sentence, until, actions}


class DryRunOut(Out):
    dry_run_id: uuid.UUID
    passed: bool
    profile_id: uuid.UUID
    profile_revision: int
    timecards_checked: int
    timecards_valid: int
    message: str
    timecards: list[DryRunTimecard]


class LiveSyncIn(Camel):
    company_id: uuid.UUID
    enabled: StrictBool


class LiveSyncOut(Out):
    enabled: bool
    queued: int = Field(description="Approved timecards waiting for QuickBooks when live sync was turned on "
                                    "(from the sync start date), queued at once; 0 when turning it off")
    message: str
