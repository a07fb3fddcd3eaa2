"""In-memory company data: one Realm per QBO company. Touched only from the event loop."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .preferences import DEFAULT_TIME_ZONE, default_preferences
from .request_ids import RequestIdMemory
from .responses import Clock

# Entity names as QBO spells them, keyed by the lower-case URL segment.
ENTITIES = {name.lower(): name for name in
            ("TimeActivity", "Employee", "Customer", "Item", "Class", "Department", "Vendor")}
NAME_LISTS = ("Employee", "Customer", "Item", "Class", "Department", "Vendor")
# Employee/Customer/Vendor share one display-name namespace in QBO.
SHARED_NAMES = ("Employee", "Customer", "Vendor")
CLASS_ID_BASE = 5000000000000000000


@dataclass
class Record:
    data: dict[str, Any]
    created: float
    updated: float
    deleted: bool = False

    @property
    def id(self) -> str:
        return self.data["Id"]

    @property
    def active(self) -> bool:
        return self.data.get("Active", True) is not False


@dataclass
class Realm:
    realm_id: str
    company_name: str
    clock: Clock
    created: float
    entities: dict[str, dict[str, Record]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    request_ids: RequestIdMemory = field(default_factory=RequestIdMemory)
    sample: bool = False
    # (entity, id, Create|Update|Delete, LastUpdatedTime as epoch seconds) after every write: the webhook hub
    # listens here.
    on_change: Callable[[str, str, str, float], None] | None = None
    preferences: dict[str, Any] = field(default_factory=default_preferences)
    time_zone: str = DEFAULT_TIME_ZONE  # CompanyInfo.DefaultTimeZone
    preferences_updated: float | None = None
    billable_needs_hourly_rate: bool = True  # a sandbox rule (QBO always applies it), not a preference

    def __post_init__(self) -> None:
        for name in ENTITIES.values():
            self.entities.setdefault(name, {})

    def preferences_view(self) -> dict:
        out = copy.deepcopy(self.preferences)
        out["MetaData"] = {"CreateTime": self.clock.meta(self.created),
                           "LastUpdatedTime": self.clock.meta(self.preferences_updated or self.created)}
        return out

    # --- ids and metadata -------------------------------------------------
    def next_id(self, entity: str) -> str:
        n = self.counters.get(entity, 0) + 1
        self.counters[entity] = n
        if entity == "Class":
            return str(CLASS_ID_BASE + 7280 + n)
        return str(n)

    def _meta(self, rec: Record) -> dict:
        return {"CreateTime": self.clock.meta(rec.created), "LastUpdatedTime": self.clock.meta(rec.updated)}

    # --- reads ----------------------------------------------------------
    def get(self, entity: str, id_: str, include_deleted: bool = False) -> Record | None:
        rec = self.entities[entity].get(str(id_))
        if rec is None or (rec.deleted and not include_deleted):
            return None
        return rec

    def rows(self, entity: str, include_deleted: bool = False) -> list[Record]:
        return [r for r in self.entities[entity].values() if include_deleted or not r.deleted]

    def view(self, rec: Record) -> dict:
        """The entity as QBO answers it."""
        out = copy.deepcopy(rec.data)
        out["MetaData"] = self._meta(rec)
        return out

    def deleted_view(self, rec: Record) -> dict:
        return {"Id": rec.id, "status": "Deleted", "domain": "QBO",
                "MetaData": {"LastUpdatedTime": self.clock.meta(rec.updated)}}

    def admin_view(self, rec: Record) -> dict:
        out = self.view(rec)
        if rec.deleted:
            out["status"] = "Deleted"
        return out

    # --- writes ----------------------------------------------------------
    def insert(self, entity: str, data: dict, id_: str | None = None) -> Record:
        now = self.clock.now()
        data = dict(data)
        data["Id"] = str(id_) if id_ else self.next_id(entity)
        if id_ and str(id_).isdigit() and entity != "Class":
            self.counters[entity] = max(self.counters.get(entity, 0), int(id_))
        data.setdefault("SyncToken", "0")
        data.setdefault("domain", "QBO")
        data.setdefault("sparse", False)
        data.pop("MetaData", None)
        rec = Record(data=data, created=now, updated=now)
        self.entities[entity][data["Id"]] = rec
        self._changed(entity, rec, "Create")
        return rec

    def replace(self, rec: Record, data: dict) -> Record:
        """Full or merged data already computed by the caller; bumps SyncToken."""
        data = dict(data)
        data.pop("MetaData", None)
        data["Id"] = rec.id
        data["SyncToken"] = str(int(rec.data.get("SyncToken", "0")) + 1)
        data["domain"] = "QBO"
        data["sparse"] = False
        rec.data = data
        rec.updated = self.clock.now()
        self._changed(self._entity_of(rec), rec, "Update")
        return rec

    def delete(self, rec: Record) -> None:
        rec.deleted = True
        rec.data["SyncToken"] = str(int(rec.data.get("SyncToken", "0")) + 1)
        rec.updated = self.clock.now()
        self._changed(self._entity_of(rec), rec, "Delete")

    def _entity_of(self, rec: Record) -> str:
        return next(e for e, recs in self.entities.items() if recs.get(rec.id) is rec)

    def _changed(self, entity: str, rec: Record, operation: str) -> None:
        if self.on_change is not None:
            self.on_change(entity, rec.id, operation, rec.updated)

    def name_taken(self, entity: str, name: str, except_id: str | None = None) -> bool:
        if entity in SHARED_NAMES:
            pools, key = SHARED_NAMES, "DisplayName"
        else:
            pools, key = (entity,), "FullyQualifiedName" if entity in ("Class", "Department") else "Name"  # type: ignore[assignment]
        wanted = name.strip().lower()
        for pool in pools:
            for rec in self.entities[pool].values():
                if rec.deleted or rec.id == except_id and pool == entity:
                    continue
                if str(rec.data.get(key, "")).strip().lower() == wanted:
                    return True
        return False

    def summary(self) -> dict:
        return {"realmId": self.realm_id, "companyName": self.company_name, "sample": self.sample,
                "counts": {e: len(self.rows(e)) for e in ENTITIES.values()}}

    def company_info(self) -> dict:
        ts = self.created
        return {
            "CompanyName": self.company_name, "LegalName": self.company_name,
            "CompanyAddr": {"Id": "1", "Line1": "1200 Builder Way", "City": "Sacramento",
                            "CountrySubDivisionCode": "CA", "PostalCode": "95814"},
            "Country": "US", "Email": {"Address": "office@example.com"},
            "CompanyStartDate": self.clock.dt(ts).date().isoformat(),
            "FiscalYearStartMonth": "January", "SupportedLanguages": "en", "DefaultTimeZone": self.time_zone,
            "NameValue": [{"Name": "NeoEnabled", "Value": "true"}, {"Name": "IndustryType",
                                                                    "Value": "Construction"}],
            "domain": "QBO", "sparse": False, "Id": "1", "SyncToken": "0",
            "MetaData": {"CreateTime": self.clock.meta(ts), "LastUpdatedTime": self.clock.meta(ts)},
        }
