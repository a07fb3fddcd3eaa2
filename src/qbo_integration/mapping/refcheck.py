"""Check QBO references against QBO itself (read calls only): does each record exist, is it active?

Used by test-mapping and the dry run, so a preview is validated the way QBO would validate it,
without sending anything that writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from qbo_integration.directory.service import ENTITY_LABELS
from qbo_integration.mapping.timeactivity import FieldError
from qbo_integration.qbo.client import CompanyClient
from qbo_integration.qbo.purpose import MAPPING_CHECK, reading_for

CHUNK = 100  # ids per query


@dataclass(frozen=True)
class QboRef:
    exists: bool
    active: bool
    name: str | None


async def check(client: CompanyClient, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], QboRef]:
    by_entity: dict[str, set[str]] = {}
    for entity, qbo_id in keys:
        by_entity.setdefault(entity, set()).add(str(qbo_id))
    out: dict[tuple[str, str], QboRef] = {}
    for entity, ids in by_entity.items():
        ordered = sorted(i for i in ids if i.isdigit())
        for n in range(0, len(ordered), CHUNK):
            chunk = ordered[n:n + CHUNK]
            in_list = ", ".join(f"'{i}'" for i in chunk)
            with reading_for(MAPPING_CHECK):
                rows = await client.query_all(
                    f"SELECT * FROM {entity} WHERE Id IN ({in_list}) AND Active IN (true, false)")
            for row in rows:
                data = row.to_qbo()
                name = data.get("FullyQualifiedName") or data.get("DisplayName") or data.get("Name")
                out[(entity, str(row.Id))] = QboRef(True, data.get("Active") is not False, name)
        for i in ids:
            out.setdefault((entity, i), QboRef(False, False, None))
    return out


_FIELD = {"Employee": "EmployeeRef", "Vendor": "VendorRef", "Customer": "CustomerRef", "Item": "ItemRef", "Class": "ClassRef",
          "Department": "DepartmentRef"}
_PAGE = {"Employee": "Workers", "Vendor": "Workers", "Customer": "Projects", "Item": "Cost codes", "Class": "Cost codes",
         "Department": "Locations"}


def ref_error(entity: str, qbo_id: str, found: QboRef, crewflow_name: str) -> FieldError | None:
    label = ENTITY_LABELS.get(entity, entity.lower())
    page = _PAGE.get(entity, "Mapping")
    if not found.exists:
        return FieldError(_FIELD.get(entity, entity),
                          f"'{crewflow_name}' is mapped to QuickBooks {label} Id {qbo_id}, which QuickBooks does not have",
                          f"Import the directory again and map '{crewflow_name}' to an existing {label} in Mapping → {page}")
    if not found.active:
        return FieldError(_FIELD.get(entity, entity),
                          f"'{crewflow_name}' is mapped to QuickBooks {label} '{found.name}' (Id {qbo_id}), "
                          "which is inactive in QuickBooks",
                          f"Reactivate '{found.name}' in QuickBooks, or map '{crewflow_name}' to another {label} "
                          f"in Mapping → {page}")
    return None
