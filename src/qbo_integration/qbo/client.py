"""QboApi (one per process) and CompanyClient (one company/realm): the typed calls."""

from __future__ import annotations

import asyncio
import hashlib
import json as _json
import re
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

import httpx

from .batch import run_batch, safe_request_id
from .breaker import BreakerState, CompanyBreaker
from .config import QboConfig
from .errors import QboError, TransientError, error_from_fault
from .faults import parse_fault_dict
from .http import RequestLoop
from .limits import RealmLimiter
from .models import (
    BatchItemResult,
    BatchOp,
    CallStats,
    Class,
    CompanyInfo,
    Customer,
    Employee,
    Item,
    QboEntity,
    TimeActivity,
    entity_model,
)
from .oauth import QboOAuth
from .observer import NullObserver, hook
from .resolution import READ_BY_ID
from .tokens import TokenManager, TokenStore

_PAGING_RE = re.compile(r"\b(STARTPOSITION|MAXRESULTS)\b", re.I)
_FROM_RE = re.compile(r"\bFROM\s+(\w+)", re.I)
_SELECT_RE = re.compile(r"^\s*SELECT\s+.+?\s+FROM\s+", re.I | re.S)
MAX_PAGES = 100_000


def _payload(obj: dict[str, Any] | QboEntity) -> dict[str, Any]:
    return obj.to_qbo() if isinstance(obj, QboEntity) else dict(obj)


class CompanyClient:
    def __init__(self, api: QboApi, company_id: str, realm_id: str) -> None:
        self.api = api
        self.company_id = str(company_id)
        self.realm_id = str(realm_id)
        self.config = api.config
        self.stats = CallStats()
        self._breaker = api.breaker(self.company_id)

    # ------------------------------------------------------------------ plumbing
    async def _token(self, refused: str | None) -> str:
        return await self.api.tokens.access_token(self.company_id, stale_token=refused)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: str | None = None,
        content_type: str | None = None,
        request_id: str | None = None,
        items: int = 1,
        batch: bool = False,
    ) -> dict[str, Any]:
        url = self.config.company_url(self.realm_id, path)

        async def go() -> dict[str, Any]:
            resp = await self.api.loop.send(
                method,
                url,
                realm_id=self.realm_id,
                token=self._token,
                params=params,
                json=json,
                content=content,
                content_type=content_type,
                request_id=request_id,
                items=items,
                batch=batch,
                stats=(self.stats, self.api.stats),
            )
            try:
                data = resp.json()
            except ValueError:
                raise TransientError(
                    "QBO answered 2xx with a body that is not JSON",
                    status=resp.status_code,
                    intuit_tid=resp.headers.get("intuit_tid"),
                ) from None
            if method == "GET" or path == "query":  # reads are metered by Intuit; writes are not
                await hook(self.api.observer, "on_read")(self.company_id)
            fault = parse_fault_dict(data) if isinstance(data, dict) else None
            if fault is not None and not fault.oauth_error:  # a 200 carrying a Fault
                raise error_from_fault(
                    fault, status=resp.status_code, intuit_tid=resp.headers.get("intuit_tid")
                )
            return data

        if self.config.breaker.enabled:
            return await self._breaker.call_async(go)
        return await go()

    async def _write(
        self, entity: str, body: dict[str, Any], request_id: str, **params: Any
    ) -> dict[str, Any]:
        if not request_id:
            raise ValueError("every write needs a request_id (idempotency)")
        return await self._call(
            "POST", entity.lower(), params=params or None, json=body, request_id=safe_request_id(request_id)
        )

    # ------------------------------------------------------------------ reads
    async def company_info(self) -> CompanyInfo:
        data = await self._call("GET", f"companyinfo/{self.realm_id}")
        return CompanyInfo.model_validate(data.get("CompanyInfo", {}))

    async def preferences(self) -> dict[str, Any]:
        """The company's Preferences (AccountingInfoPrefs.BookCloseDate, ClassTrackingPerTxn, TrackDepartments...)."""
        data = await self._call("GET", "preferences")
        prefs = data.get("Preferences")
        return prefs if isinstance(prefs, dict) else {}

    async def _query_page(self, sql: str) -> dict[str, Any]:
        if len(sql) <= 1500:
            data = await self._call("GET", "query", params={"query": sql})
        else:
            data = await self._call("POST", "query", content=sql, content_type="application/text")
        return data.get("QueryResponse") or {}

    async def query(self, sql: str, *, page_size: int | None = None) -> AsyncIterator[QboEntity]:
        """Every row of `sql`, page after page (STARTPOSITION/MAXRESULTS appended here).

        Stops when a page returns fewer rows than asked; stops too when a page repeats one already
        seen (a server that ignores STARTPOSITION must not loop us forever) and skips rows already
        yielded. A statement with its own STARTPOSITION/MAXRESULTS is run once, as given.
        """
        m = _FROM_RE.search(sql)
        entity = m.group(1) if m else None
        model = entity_model(entity or "")
        if _PAGING_RE.search(sql):
            page = await self._query_page(sql)
            for row in self._rows(page, entity):
                yield model.model_validate(row)
            return
        size = max(1, min(page_size or self.config.page_size, 1000))
        start = 1
        seen_pages: set[str] = set()
        seen_ids: set[str] = set()
        for _ in range(MAX_PAGES):
            page = await self._query_page(
                f"{sql.rstrip().rstrip(';')} STARTPOSITION {start} MAXRESULTS {size}"
            )
            rows = self._rows(page, entity)
            signature = hashlib.sha256(
                _json.dumps([r.get("Id") for r in rows] if rows else [], default=str).encode()
            ).hexdigest()
            if rows and signature in seen_pages:
                return  # loop detected
            seen_pages.add(signature)
            for row in rows:
                rid = row.get("Id")
                if rid is not None:
                    if rid in seen_ids:
                        continue
                    seen_ids.add(rid)
                yield model.model_validate(row)
            returned = page.get("maxResults", len(rows))
            if not rows or int(returned) < size:
                return
            start += size

    @staticmethod
    def _rows(page: dict[str, Any], entity: str | None) -> list[dict[str, Any]]:
        if entity and isinstance(page.get(entity), list):
            return page[entity]
        for value in page.values():  # entity names are case-sensitive in answers; be lenient
            if isinstance(value, list):
                return value
        return []

    async def query_all(self, sql: str, *, page_size: int | None = None) -> list[QboEntity]:
        return [row async for row in self.query(sql, page_size=page_size)]

    async def count(self, sql: str) -> int:
        """`SELECT COUNT(*) FROM X ...` (a `SELECT * FROM X ...` is turned into its count)."""
        if not re.match(r"^\s*SELECT\s+COUNT\(\*\)", sql, re.I):
            sql = _SELECT_RE.sub("SELECT COUNT(*) FROM ", sql, count=1)
        page = await self._query_page(sql)
        return int(page.get("totalCount", 0))

    async def employees(self, *, include_inactive: bool = True) -> list[Employee]:
        return await self._directory("Employee", include_inactive)  # type: ignore[return-value]

    async def customers(self, *, include_inactive: bool = True) -> list[Customer]:
        return await self._directory("Customer", include_inactive)  # type: ignore[return-value]

    async def items(self, *, include_inactive: bool = False) -> list[Item]:
        return await self._directory("Item", include_inactive)  # type: ignore[return-value]

    async def classes(self, *, include_inactive: bool = False) -> list[Class]:
        return await self._directory("Class", include_inactive)  # type: ignore[return-value]

    async def _directory(self, entity: str, include_inactive: bool) -> list[QboEntity]:
        where = "WHERE Active IN (true, false) " if include_inactive else "WHERE Active = true "
        return await self.query_all(f"SELECT * FROM {entity} {where}ORDERBY Id")

    async def cdc(self, entities: Iterable[str], changed_since: datetime | str) -> dict[str, list[QboEntity]]:
        """Changed (and deleted: `.deleted`) objects per entity since `changed_since` (≤ 30 days)."""
        names = list(entities)
        since = changed_since.isoformat() if isinstance(changed_since, datetime) else changed_since
        data = await self._call("GET", "cdc", params={"entities": ",".join(names), "changedSince": since})
        out: dict[str, list[QboEntity]] = {n: [] for n in names}
        for block in data.get("CDCResponse") or []:
            for qr in block.get("QueryResponse") or []:
                for name, rows in qr.items():
                    if isinstance(rows, list):
                        model = entity_model(name)
                        out.setdefault(name, []).extend(model.model_validate(r) for r in rows)
        return out

    # ------------------------------------------------------------------ TimeActivity
    async def get_time_activity(self, id: str) -> TimeActivity:
        try:
            data = await self._call("GET", f"timeactivity/{id}")
        except QboError as exc:
            read = exc.resolved_by(READ_BY_ID)  # by id, "Object Not Found" means exactly that
            if read is exc:
                raise
            raise read from None
        return TimeActivity.model_validate(data["TimeActivity"])

    async def create_time_activity(
        self, payload: dict[str, Any] | TimeActivity, request_id: str
    ) -> TimeActivity:
        data = await self._write("TimeActivity", _payload(payload), request_id)
        return TimeActivity.model_validate(data["TimeActivity"])

    async def update_time_activity(
        self, payload: dict[str, Any] | TimeActivity, request_id: str, sparse: bool = False
    ) -> TimeActivity:
        body = _payload(payload)
        if not body.get("Id") or body.get("SyncToken") is None:
            raise ValueError("an update needs Id and SyncToken")
        body["sparse"] = bool(sparse)
        data = await self._write("TimeActivity", body, request_id)
        return TimeActivity.model_validate(data["TimeActivity"])

    async def delete_time_activity(self, id: str, sync_token: str, request_id: str) -> dict[str, Any]:
        data = await self._write(
            "TimeActivity", {"Id": str(id), "SyncToken": str(sync_token)}, request_id, operation="delete"
        )
        return data.get("TimeActivity", data)

    # ------------------------------------------------------------------ batch
    async def batch(self, ops: list[BatchOp], *, concurrency: int = 4) -> list[BatchItemResult]:
        """Run `ops` in batch requests of ≤ `batch_size` (30); one result per op, in input order
        (see batch.run_batch)."""
        return await run_batch(self._call, ops, batch_size=self.config.batch_size, concurrency=concurrency)


class QboApi:
    """One per process: shares the HTTP pool, limiter, token manager and breakers across companies."""

    def __init__(
        self,
        config: QboConfig,
        redis,
        token_store: TokenStore,
        http: httpx.AsyncClient | None = None,
        observer: object | None = None,
        *,
        sleep=asyncio.sleep,
        clock=time.time,
        rng=None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.redis = redis
        self.observer = observer or NullObserver()
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 15.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=40),
            transport=transport,
        )
        self.oauth = QboOAuth(config, transport=transport)
        self.limiter = RealmLimiter(
            redis,
            config.limits,
            prefix=config.redis_prefix,
            sleep=sleep,
            on_wait=hook(self.observer, "on_limiter_wait"),
        )
        self.tokens = TokenManager(
            self.oauth,
            token_store,
            redis,
            margin_seconds=config.refresh_margin_seconds,
            lock_seconds=config.refresh_lock_seconds,
            prefix=config.redis_prefix,
            clock=clock,
            on_refresh=hook(self.observer, "on_token_refresh"),
        )
        self.loop = RequestLoop(self.http, config, self.limiter, sleep=sleep, rng=rng, observer=self.observer,
                                clock=clock)
        self.clock = clock
        self.stats = CallStats()

    def company(self, company_id: Any, realm_id: str) -> CompanyClient:
        return CompanyClient(self, str(company_id), realm_id)

    def breaker(self, company_id: Any) -> CompanyBreaker:
        return CompanyBreaker(
            self.redis,
            str(company_id),
            self.config.breaker,
            prefix=self.config.redis_prefix,
            clock=self.clock,
            on_change=hook(self.observer, "on_breaker_change"),
        )

    async def breaker_state(self, company_id: Any) -> BreakerState:
        return await self.breaker(company_id).read()

    async def reset_breaker(self, company_id: Any) -> None:
        await self.breaker(company_id).reset()

    async def rate_usage(self, realm_id: str) -> float:
        """Calls in the last window as a percent of the realm's budget (500/min)."""
        return await self.limiter.usage_percent(realm_id)

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()
        await self.oauth.aclose()

    async def __aenter__(self) -> QboApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
