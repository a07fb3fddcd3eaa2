"""Which properties QBO lets a query filter or sort on, per entity (Intuit's "filterable" marks), and
which it knows at all. Names match case-insensitively, as QBO matches them."""

from __future__ import annotations

from .responses import not_queryable, unknown_property

_META = ("Id", "MetaData.CreateTime", "MetaData.LastUpdatedTime")
_PERSON = ("DisplayName", "GivenName", "MiddleName", "FamilyName", "PrintOnCheckName", "Active")
_NAMED = ("Name", "FullyQualifiedName", "Active")

FILTERABLE: dict[str, tuple[str, ...]] = {
    "Employee": (*_META, *_PERSON, "EmployeeNumber"),
    "Customer": (*_META, *_PERSON, "PrimaryEmailAddr", "CompanyName", "Balance", "FullyQualifiedName", "Job"),
    "Vendor": (*_META, *_PERSON, "CompanyName", "Balance"),
    "Item": (*_META, *_NAMED, "Type", "Sku"),
    "Class": (*_META, *_NAMED),
    "Department": (*_META, *_NAMED),
    "TimeActivity": (*_META, "TxnDate"),
}

# Further properties each entity has (readable, not filterable): a clash with these is "not queryable".
_PERSON_MORE = ("SyncToken", "Title", "Suffix", "PrimaryPhone", "Mobile", "AlternatePhone", "Fax",
                "PrimaryEmailAddr", "WebAddr", "OtherContactInfo", "domain", "sparse", "MetaData")
_OTHER: dict[str, tuple[str, ...]] = {
    "Employee": (*_PERSON_MORE, "PrimaryAddr", "SSN", "BillableTime", "BillRate", "CostRate", "BirthDate",
                 "Gender", "HiredDate", "ReleasedDate", "Organization", "V4IDPseudonym"),
    "Customer": (*_PERSON_MORE, "BillAddr", "ShipAddr", "ParentRef", "Level", "BillWithParent", "Taxable",
                 "BalanceWithJobs", "Notes", "CurrencyRef", "IsProject", "PreferredDeliveryMethod"),
    "Vendor": (*_PERSON_MORE, "BillAddr", "Vendor1099", "AcctNum", "TermRef", "TaxIdentifier", "CostRate",
               "BillRate", "CurrencyRef", "APAccountRef"),
    "Item": ("SyncToken", "Description", "UnitPrice", "Taxable", "IncomeAccountRef", "ExpenseAccountRef",
             "ParentRef", "SubItem", "Level", "PurchaseCost", "QtyOnHand", "domain", "sparse", "MetaData"),
    "Class": ("SyncToken", "SubClass", "ParentRef", "domain", "sparse", "MetaData"),
    "Department": ("SyncToken", "SubDepartment", "ParentRef", "domain", "sparse", "MetaData"),
    "TimeActivity": ("SyncToken", "NameOf", "EmployeeRef", "VendorRef", "OtherNameRef", "CustomerRef",
                     "ItemRef", "ClassRef", "DepartmentRef", "PayrollItemRef", "ProjectRef", "StartTime",
                     "EndTime", "BreakHours", "BreakMinutes", "Hours", "Minutes", "BillableStatus",
                     "HourlyRate", "CostRate", "Description", "Taxable", "TimeZone", "domain", "sparse",
                     "MetaData"),
}

_FILTER_LOWER = {e: {f.lower() for f in fs} for e, fs in FILTERABLE.items()}
_KNOWN_LOWER = {e: _FILTER_LOWER[e] | {f.lower() for f in _OTHER[e]} for e in FILTERABLE}


def check_filterable(entity: str, prop: str) -> None:
    """Raises QBO's 4001 for a property the entity lacks or does not let a query filter on."""
    low = prop.lower()
    if low in _FILTER_LOWER[entity]:
        return
    if low in _KNOWN_LOWER[entity] or low.split(".")[0] in _KNOWN_LOWER[entity]:
        raise not_queryable(prop)
    raise unknown_property(prop, entity)
