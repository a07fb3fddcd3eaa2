"""One record as a readable HTML page (GET /_sandbox/realms/{realm}/entities/{entity}/{id}): where the
console's "Open in QuickBooks" lands under the sandbox, standing in for QuickBooks' own page of it."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from .store import ENTITIES, Realm

router = APIRouter(prefix="/_sandbox")

TITLES = {"TimeActivity": "Time activity", "Employee": "Employee", "Customer": "Customer", "Item": "Product or service",
          "Class": "Class", "Department": "Location", "Vendor": "Vendor"}
# The fields a person looks for first, in words; the rest follow under their QuickBooks names.
LABELS = {
    "TxnDate": "Date", "NameOf": "Who worked", "EmployeeRef": "Employee", "VendorRef": "Vendor",
    "CustomerRef": "Customer or job", "ItemRef": "Service", "ClassRef": "Class", "DepartmentRef": "Location",
    "StartTime": "Start", "EndTime": "End", "Hours": "Hours", "Minutes": "Minutes", "BreakHours": "Break hours",
    "BreakMinutes": "Break minutes", "BillableStatus": "Billable", "HourlyRate": "Bill rate", "CostRate": "Pay rate",
    "Description": "Description", "DisplayName": "Name", "PrimaryEmailAddr": "Email", "Active": "Active",
    "MetaData": "Created and last changed", "SyncToken": "Version",
}
REF_ENTITY = {"EmployeeRef": "Employee", "VendorRef": "Vendor", "CustomerRef": "Customer", "ItemRef": "Item",
              "ClassRef": "Class", "DepartmentRef": "Department"}
HIDDEN = {"domain", "sparse", "Id"}

_STYLE = ("body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f8;color:#1d2330}"
          "header{background:#2ca01c;color:#fff;padding:12px 20px}main{padding:20px;max-width:720px}"
          "table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:8px;"
          "border-bottom:1px solid #dde;vertical-align:top;overflow-wrap:anywhere}th{width:35%;color:#555}"
          ".deleted{color:#b3261e;font-weight:600}")


def _ref_words(realm: Realm, key: str, ref: dict[str, Any]) -> str:
    name = ref.get("name")
    entity = REF_ENTITY.get(key)
    if not name and entity:
        target = realm.get(entity, str(ref.get("value")), include_deleted=True)
        name = (target.data.get("DisplayName") or target.data.get("FullyQualifiedName") or target.data.get("Name")
                if target else None)
    return f"{name} (#{ref.get('value')})" if name else f"#{ref.get('value')}"


def _value(realm: Realm, key: str, value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        return _ref_words(realm, key, value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if not isinstance(v, dict | list))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(realm: Realm, entity: str, data: dict[str, Any], *, deleted: bool) -> str:
    keys = [k for k in LABELS if k in data] + sorted(k for k in data if k not in LABELS and k not in HIDDEN)
    rows = "".join(f"<tr><th>{escape(LABELS.get(k, k))}</th><td>{escape(_value(realm, k, data[k]))}</td></tr>"
                   for k in keys)
    title = f"{TITLES.get(entity, entity)} {data.get('Id')}"
    gone = '<p class="deleted">This record was deleted in QuickBooks.</p>' if deleted else ""
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width, initial-scale=1'><title>{escape(title)} · QuickBooks sandbox</title>"
            f"<style>{_STYLE}</style></head><body><header>{escape(realm.company_name)} · QuickBooks (sandbox)</header>"
            f"<main><h1>{escape(title)}</h1>{gone}<table>{rows}</table></main></body></html>")


@router.get("/realms/{realm}/entities/{entity}/{id_}", response_class=HTMLResponse)
async def record_page(request: Request, realm: str, entity: str, id_: str) -> HTMLResponse:
    slot = request.app.state.sandbox.slots.get(realm)
    name = ENTITIES.get(entity.lower())
    if slot is None or name is None:
        raise HTTPException(404, f"unknown realm or entity: {realm}/{entity}")
    rec = slot.realm.get(name, id_, include_deleted=True)
    if rec is None:
        return HTMLResponse(f"<!doctype html><title>Not found</title><p>No {escape(name)} {escape(id_)} in this "
                            "QuickBooks company.</p>", status_code=404)
    return HTMLResponse(render(slot.realm, name, slot.realm.admin_view(rec), deleted=rec.deleted))
