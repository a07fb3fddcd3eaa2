"""QBO's SQL subset: parse a statement, run it against a realm's records."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .query_fields import check_filterable
from .responses import max_results_too_large, query_error, query_invalid
from .store import NAME_LISTS, Realm, Record

QUERYABLE = ("Employee", "Customer", "Item", "Class", "TimeActivity", "Department", "Vendor")
MAX_RESULTS, DEFAULT_RESULTS = 1000, 100
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|"
                    r"(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),*])|(?P<word>[A-Za-z_][\w.]*))")
_KEYWORDS = {"select", "from", "where", "and", "orderby", "order", "by", "asc", "desc", "startposition",
             "maxresults", "in", "like", "count", "or", "true", "false"}


@dataclass
class Cond:
    field: str
    op: str
    value: Any  # scalar, or list for IN


@dataclass
class Query:
    entity: str
    count: bool = False
    columns: list[str] | None = None
    where: list[Cond] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def _tokens(sql: str) -> list[tuple[str, Any]]:
    out, pos, sql = [], 0, sql.strip().rstrip(";")
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if not m or m.end() == pos:
            if sql[pos:].strip() == "":
                break
            raise query_error(f"Encountered \" \"{sql[pos]}\" at line 1, column {pos + 1}.")
        pos = m.end()
        kind = m.lastgroup
        text = m.group(kind)  # type: ignore[arg-type]
        if kind == "str":
            out.append(("val", text[1:-1].replace("''", "'").replace("\\'", "'")))
        elif kind == "num":
            out.append(("val", float(text) if "." in text else int(text)))
        elif kind == "word" and text.lower() in ("true", "false"):
            out.append(("val", text.lower() == "true"))
        elif kind == "word" and text.lower() in _KEYWORDS:
            out.append(("kw", text.lower()))
        else:
            out.append((kind, text))  # type: ignore[arg-type]
    return out


class _Parser:
    def __init__(self, sql: str) -> None:
        self.toks = _tokens(sql)
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str | None = None, value: Any = None) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            got = "<EOF>" if tok is None else str(tok[1])
            raise query_error(f"Encountered \" \"{got}\" \"\" at line 1. Was expecting {value or kind}")
        self.i += 1
        return tok

    def accept(self, kind: str, value: Any = None) -> bool:
        tok = self.peek()
        if tok and tok[0] == kind and (value is None or tok[1] == value):
            self.i += 1
            return True
        return False

    def parse(self) -> Query:
        self.take("kw", "select")
        count, columns = False, None
        if self.accept("kw", "count"):
            self.take("punct", "(")
            self.take("punct", "*")
            self.take("punct", ")")
            count = True
        elif not self.accept("punct", "*"):
            columns = [self.take("word")[1]]
            while self.accept("punct", ","):
                columns.append(self.take("word")[1])
        self.take("kw", "from")
        name = self.take("word")[1]
        entity = next((e for e in QUERYABLE if e.lower() == name.lower()), None)
        if entity is None:
            raise query_invalid(f"Entity {name} is not supported.")
        q = Query(entity=entity, count=count, columns=columns)
        if self.accept("kw", "where"):
            q.where.append(self.cond())
            while self.accept("kw", "and"):
                q.where.append(self.cond())
            if self.accept("kw", "or"):
                raise query_error("Encountered \" \"OR\" \"or\"\" at line 1. OR is not supported.")
            for c in q.where:
                check_filterable(entity, c.field)
        if self.accept("kw", "orderby") or (self.accept("kw", "order") and self.take("kw", "by")):
            while True:
                fld = self.take("word")[1]
                check_filterable(entity, fld)
                desc = self.accept("kw", "desc")
                if not desc:
                    self.accept("kw", "asc")
                q.order.append((fld, desc))
                if not self.accept("punct", ","):
                    break
        while self.peek():
            kw = self.take("kw")[1]
            val = self.take("val")[1]
            if kw == "startposition" and isinstance(val, int):
                q.start = max(1, val)
            elif kw == "maxresults" and isinstance(val, int):
                if val > MAX_RESULTS:
                    raise max_results_too_large(val, MAX_RESULTS)
                q.max_results = max(0, val)
            else:
                raise query_error(f"Encountered \" \"{kw}\" at line 1.")
        return q

    def cond(self) -> Cond:
        fld = self.take("word")[1]
        if self.accept("kw", "in"):
            self.take("punct", "(")
            vals = [self.take("val")[1]]
            while self.accept("punct", ","):
                vals.append(self.take("val")[1])
            self.take("punct", ")")
            return Cond(fld, "in", vals)
        if self.accept("kw", "like"):
            return Cond(fld, "like", self.take("val")[1])
        op = self.take("op")[1]
        return Cond(fld, "!=" if op == "<>" else op, self.take("val")[1])


def parse(sql: str) -> Query:
    if not sql or not sql.strip():
        raise query_error("Encountered \"<EOF>\" at line 1, column 1.")
    return _Parser(sql).parse()


# --- execution -------------------------------------------------------------
def _parse_dt(value: str) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise query_invalid(f"Invalid date time value {value}") from exc


def _field(rec: Record, path: str) -> Any:
    low = path.lower()
    if low in ("metadata.lastupdatedtime", "metadata.createtime"):
        return rec.updated if low.endswith("lastupdatedtime") else rec.created
    cur: Any = rec.data
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        key = next((k for k in cur if k.lower() == part.lower()), None)
        cur = cur.get(key) if key else None
        if isinstance(cur, dict) and "value" in cur and part == path.split(".")[-1]:
            cur = cur["value"]  # CustomerRef = '3'
    if path.lower() == "active" and cur is None:
        return True
    return cur


def _norm(actual: Any, wanted: Any, path: str) -> tuple[Any, Any]:
    if path.lower().startswith("metadata."):
        return actual, _parse_dt(wanted)
    if isinstance(actual, bool) or isinstance(wanted, bool):
        to_bool = {"true": True, "false": False}
        return (to_bool.get(str(actual).lower(), actual) if not isinstance(actual, bool) else actual,
                to_bool.get(str(wanted).lower(), wanted) if not isinstance(wanted, bool) else wanted)
    if isinstance(actual, str) and isinstance(wanted, (int, float)) or \
            str(actual).lstrip("-").isdigit() and str(wanted).lstrip("-").isdigit():
        try:
            return float(actual), float(wanted)
        except (TypeError, ValueError):
            pass
    if isinstance(actual, (int, float)) and isinstance(wanted, str):
        try:
            return actual, float(wanted)
        except ValueError:
            pass
    return str(actual).lower(), str(wanted).lower()


def _match(rec: Record, c: Cond) -> bool:
    actual = _field(rec, c.field)
    if actual is None:
        return False
    if c.op == "in":
        return any(_norm(actual, v, c.field)[0] == _norm(actual, v, c.field)[1] for v in c.value)
    if c.op == "like":
        pattern = "^" + ".*".join(re.escape(p) for p in str(c.value).lower().split("%")) + "$"
        return re.match(pattern, str(actual).lower(), re.S) is not None
    a, w = _norm(actual, c.value, c.field)
    try:
        return {"=": a == w, "!=": a != w, "<": a < w, ">": a > w, "<=": a <= w, ">=": a >= w}[c.op]
    except TypeError:
        return False


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, 0, "")
    if isinstance(value, (int, float)) or str(value).isdigit():
        return (1, float(value), "")
    return (2, 0, str(value).lower())


def execute(realm: Realm, q: Query) -> dict:
    """Returns the QueryResponse object (without the envelope)."""
    conds = list(q.where)
    if q.entity in NAME_LISTS and not any(c.field.lower() == "active" for c in conds):
        conds.append(Cond("Active", "=", True))
    rows = [r for r in realm.rows(q.entity) if all(_match(r, c) for c in conds)]
    if q.count:
        return {"totalCount": len(rows)}
    rows.sort(key=lambda r: _sort_key(r.id))
    for fld, desc in reversed(q.order):
        rows.sort(key=lambda r, f=fld: _sort_key(_field(r, f)), reverse=desc)  # type: ignore[misc]
    page = rows[q.start - 1: q.start - 1 + q.max_results]
    if not page:
        return {}
    items = [realm.view(r) for r in page]
    if q.columns:
        keep = {c.lower() for c in q.columns} | {"id", "synctoken", "metadata", "domain", "sparse"}
        items = [{k: v for k, v in it.items() if k.lower() in keep} for it in items]
    return {q.entity: items, "startPosition": q.start, "maxResults": len(items)}
