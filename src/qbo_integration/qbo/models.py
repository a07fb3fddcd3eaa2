"""Pydantic models for the QBO entities we read and write. Unknown fields are kept (`extra="allow"`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from qbo_integration.clock import utc_now

from .errors import QboError


class QboEntity(BaseModel):
    """QBO field names as QBO spells them; everything else QBO sends is kept as extra fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    Id: str | None = None
    SyncToken: str | None = None
    domain: str | None = None
    sparse: bool | None = None
    status: str | None = None  # "Deleted" on deleted objects in CDC / delete answers
    MetaData: dict[str, Any] | None = None

    def to_qbo(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, by_alias=True)

    @property
    def deleted(self) -> bool:
        return self.status == "Deleted"


class Ref(BaseModel):
    model_config = ConfigDict(extra="allow")
    value: str
    name: str | None = None


class Employee(QboEntity):
    DisplayName: str | None = None
    GivenName: str | None = None
    FamilyName: str | None = None
    PrimaryEmailAddr: dict[str, Any] | None = None
    Active: bool | None = None
    EmployeeNumber: str | None = None


class Vendor(QboEntity):
    DisplayName: str | None = None
    CompanyName: str | None = None
    PrimaryEmailAddr: dict[str, Any] | None = None
    Active: bool | None = None
    Vendor1099: bool | None = None


class Customer(QboEntity):
    DisplayName: str | None = None
    CompanyName: str | None = None
    FullyQualifiedName: str | None = None
    Job: bool | None = None
    ParentRef: Ref | None = None
    Active: bool | None = None


class Item(QboEntity):
    Name: str | None = None
    FullyQualifiedName: str | None = None
    Type: str | None = None
    Active: bool | None = None


class Class(QboEntity):
    Name: str | None = None
    FullyQualifiedName: str | None = None
    Active: bool | None = None


class TimeActivity(QboEntity):
    NameOf: str | None = None
    EmployeeRef: Ref | None = None
    VendorRef: Ref | None = None
    CustomerRef: Ref | None = None
    ItemRef: Ref | None = None
    ClassRef: Ref | None = None
    DepartmentRef: Ref | None = None
    TxnDate: str | None = None
    StartTime: str | None = None
    EndTime: str | None = None
    Hours: int | None = None
    Minutes: int | None = None
    BreakHours: int | None = None
    BreakMinutes: int | None = None
    BillableStatus: str | None = None
    HourlyRate: float | None = None
    CostRate: float | None = None
    Description: str | None = None


class CompanyInfo(QboEntity):
    CompanyName: str | None = None
    LegalName: str | None = None
    Country: str | None = None


ENTITY_MODELS: dict[str, type[QboEntity]] = {
    "Employee": Employee,
    "Vendor": Vendor,
    "Customer": Customer,
    "Item": Item,
    "Class": Class,
    "TimeActivity": TimeActivity,
    "CompanyInfo": CompanyInfo,
}


def entity_model(name: str) -> type[QboEntity]:
    return ENTITY_MODELS.get(name, QboEntity)


def _seconds_or_none(value: Any) -> float | None:
    """An optional field must not fail the answer: the refresh token it carries may already be rotated."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 < seconds < 1e10 else None


class TokenSet(BaseModel):
    """One company's OAuth tokens (plain text in memory only; the store encrypts them)."""

    model_config = ConfigDict(frozen=True)

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None  # the rolling expiry (100 days after the last refresh)
    refresh_hard_expires_at: datetime | None = None  # the grant's hard maximum (5 years after consent)

    def __repr__(self) -> str:  # never print tokens
        return (f"TokenSet(access_expires_at={self.access_expires_at!r}, refresh_expires_at={self.refresh_expires_at!r}, "
                f"refresh_hard_expires_at={self.refresh_hard_expires_at!r})")

    __str__ = __repr__

    @classmethod
    def from_token_response(
        cls, data: dict[str, Any], *, now: datetime | None = None, previous_refresh_token: str | None = None
    ) -> TokenSet:
        now = now or utc_now()
        refresh = data.get("refresh_token") or previous_refresh_token
        if not data.get("access_token") or not refresh:
            raise ValueError("token answer without access_token/refresh_token")
        r_exp = data.get("x_refresh_token_expires_in") or data.get("refresh_token_expires_in")
        hard = _seconds_or_none(data.get("x_refresh_token_hard_expires_in"))  # 0 or absent: not told
        return cls(
            access_token=data["access_token"],
            refresh_token=refresh,
            access_expires_at=now + timedelta(seconds=float(data.get("expires_in") or 3600)),
            refresh_expires_at=now + timedelta(seconds=float(r_exp)) if r_exp else None,
            refresh_hard_expires_at=now + timedelta(seconds=float(hard)) if hard else None,
        )

    def expires_within(self, seconds: float, now: datetime) -> bool:
        return self.access_expires_at - timedelta(seconds=seconds) <= now


BatchOperation = Literal["create", "update", "delete", "query"]


@dataclass
class BatchOp:
    """One operation of a batch. `request_id` makes the write idempotent (it feeds the batch's requestid)."""

    operation: BatchOperation
    entity: str = "TimeActivity"
    payload: dict[str, Any] | None = None
    query: str | None = None
    request_id: str | None = None
    sparse: bool = False

    def to_item(self, bid: str) -> dict[str, Any]:
        if self.operation == "query":
            return {"bId": bid, "Query": self.query}
        body = dict(self.payload or {})
        if self.operation == "update" and self.sparse:
            body["sparse"] = True
        return {"bId": bid, "operation": self.operation, self.entity: body}


@dataclass
class BatchItemResult:
    """The answer for one input op, in input order. `error` set when QBO faulted that item."""

    index: int
    op: BatchOp
    entity: dict[str, Any] | None = None
    query_response: dict[str, Any] | None = None
    error: QboError | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class CallStats:
    calls: int = 0  # HTTP requests sent to QBO (every attempt)
    batches: int = 0  # batch requests sent
    batch_items: int = 0
    retries: int = 0
    refreshes: int = 0
    throttled: int = 0
