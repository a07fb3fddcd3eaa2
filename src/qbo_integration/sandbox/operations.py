"""Entity operations shared by single calls and batch items. Each returns the answer's
payload (without `time`) or raises QboFault."""

from __future__ import annotations

from datetime import datetime

from . import books, query_parser, validation
from .responses import QboFault, invalid, not_found, required, stale
from .store import ENTITIES, NAME_LISTS, Realm

WRITABLE = ("TimeActivity", *NAME_LISTS)
CDC_ENTITIES = ("Employee", "Customer", "Item", "Class", "Department", "Vendor")
CDC_MAX = 1000


def entity_name(segment: str) -> str | None:
    return ENTITIES.get(segment.lower())


def read(realm: Realm, entity: str, id_: str) -> dict:
    rec = realm.get(entity, id_)
    if rec is None:
        raise not_found()
    return {entity: realm.view(rec)}


def _validate(realm: Realm, entity: str, body: dict, except_id: str | None = None) -> dict:
    if entity == "TimeActivity":
        data = validation.time_activity(realm, body)
        books.check_open(realm, data["TxnDate"])
        return data
    return validation.name_entity(realm, entity, body, except_id)


def create(realm: Realm, entity: str, body: dict) -> dict:
    if entity not in WRITABLE:
        raise invalid("entity", f"{entity} cannot be created")
    if body.get("Id"):
        # QBO treats a body with Id as an update.
        return update(realm, entity, body)
    data = _validate(realm, entity, body)
    rec = realm.insert(entity, data)
    return {entity: realm.view(rec)}


def _current(realm: Realm, entity: str, body: dict):
    if not body.get("Id"):
        raise required("Id")
    if body.get("SyncToken") is None:
        raise required("SyncToken")
    rec = realm.get(entity, str(body["Id"]))
    if rec is None:
        raise not_found()
    if str(body["SyncToken"]) != rec.data.get("SyncToken"):
        raise stale()
    return rec


def update(realm: Realm, entity: str, body: dict) -> dict:
    if entity not in WRITABLE:
        raise invalid("entity", f"{entity} cannot be updated")
    rec = _current(realm, entity, body)
    if entity == "TimeActivity":
        books.check_open(realm, rec.data.get("TxnDate"))  # nor can a closed one be moved out
    if body.get("sparse") is True:
        merged = {k: v for k, v in rec.data.items() if k not in ("Id", "SyncToken", "domain", "sparse")}
        merged.update({k: v for k, v in body.items() if k not in ("Id", "SyncToken", "sparse", "MetaData")})
    else:
        merged = dict(body)
    data = _validate(realm, entity, merged, except_id=rec.id)
    realm.replace(rec, data)
    _rename_children(realm, entity, rec)
    return {entity: realm.view(rec)}


def _rename_children(realm: Realm, entity: str, parent) -> None:
    """QBO computes FullyQualifiedName from the parent's: a renamed customer renames its jobs' too.
    The children's SyncToken and LastUpdatedTime are left alone (whether QBO bumps them: not confirmed)."""
    fqn = parent.data.get("FullyQualifiedName")
    if not fqn:
        return
    for child in realm.rows(entity, include_deleted=True):
        if (child.data.get("ParentRef") or {}).get("value") != parent.id:
            continue
        leaf = child.data.get("DisplayName" if entity == "Customer" else "Name") or \
            str(child.data.get("FullyQualifiedName", "")).rsplit(":", 1)[-1]
        if child.data.get("FullyQualifiedName") != f"{fqn}:{leaf}":
            child.data["FullyQualifiedName"] = f"{fqn}:{leaf}"
            child.data["ParentRef"] = {**child.data["ParentRef"], "name": fqn}
            _rename_children(realm, entity, child)


def delete(realm: Realm, entity: str, body: dict) -> dict:
    if entity != "TimeActivity":
        raise QboFault("6000", "A business validation error has occurred while processing your request",
                       f"Business Validation Error: {entity} cannot be deleted; make it inactive instead.")
    rec = _current(realm, entity, body)
    books.check_open(realm, rec.data.get("TxnDate"))
    realm.delete(rec)
    return {entity: {"Id": rec.id, "status": "Deleted", "domain": "QBO"}}


def query(realm: Realm, sql: str) -> dict:
    return {"QueryResponse": query_parser.execute(realm, query_parser.parse(sql))}


def cdc(realm: Realm, entities: str | None, changed_since: str | None, lookback_days: int) -> dict:
    if not entities:
        raise required("entities", "Required parameter entities is missing in the request")
    if not changed_since:
        raise required("changedSince", "Required parameter changedSince is missing in the request")
    try:
        since = datetime.fromisoformat(changed_since.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError:
        raise invalid("changedSince", f"{changed_since} is not a valid date time") from None
    if since.tzinfo is None:
        since = since.replace(tzinfo=realm.clock.tz)
    since_ts = since.timestamp()
    if since_ts < realm.clock.now() - lookback_days * 86400:
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Operation cdc with changedSince date {changed_since} which is older than fixed days "
                       "is not supported.", "changedSince")
    names = []
    for raw in entities.split(","):
        name = entity_name(raw.strip())
        if name is None or name not in CDC_ENTITIES:
            raise invalid("entities", f"{raw.strip()} is not supported by change data capture")
        names.append(name)
    out, budget = [], CDC_MAX  # type: ignore[var-annotated]
    for name in names:
        recs = sorted((r for r in realm.rows(name, include_deleted=True) if r.updated >= since_ts),
                      key=lambda r: r.updated)[:budget]
        budget -= len(recs)
        if not recs:
            out.append({})
            continue
        items = [realm.deleted_view(r) if r.deleted else realm.view(r) for r in recs]
        out.append({name: items, "startPosition": 1, "maxResults": len(items), "totalCount": len(items)})
    return {"CDCResponse": [{"QueryResponse": out}]}


def batch_item(realm: Realm, item: dict) -> dict:
    """One BatchItemRequest -> one BatchItemResponse (Fault per item)."""
    bid = item.get("bId")
    try:
        if not isinstance(bid, str) or not bid:
            raise required("bId")
        if "Query" in item:
            return {"bId": bid, **query(realm, item["Query"])}
        op = (item.get("operation") or "").lower()
        names = [k for k in item if k not in ("bId", "operation", "optionsData")]
        entity = entity_name(names[0]) if len(names) == 1 else None
        if entity is None or not isinstance(item.get(names[0]), dict):
            raise invalid("BatchItemRequest", "exactly one entity object is required")
        body = item[names[0]]
        if op == "create":
            result = create(realm, entity, body)
        elif op == "update":
            result = update(realm, entity, body)
        elif op == "delete":
            result = delete(realm, entity, body)
        else:
            raise invalid("operation", f"{op or 'missing'} is not one of create, update, delete")
        return {"bId": bid, **result}
    except QboFault as exc:
        return {"bId": bid, "Fault": exc.as_fault()}
