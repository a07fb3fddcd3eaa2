"""/metrics (Prometheus text with scrape-time gauges), the QBO observer's metrics, Sentry scrubbing."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY

from qbo_integration.connections.service import integration_id
from qbo_integration.health import scrape
from qbo_integration.monitoring.qbo_observer import MonitoringObserver
from qbo_integration.observability import _before_send
from qbo_integration.sync.models import TimecardSyncRecord


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_metrics_endpoint_refreshes_db_and_breaker_gauges(client, sessionmaker, redis, company):
    async with sessionmaker() as s:
        for state in ("pending", "pending", "dead"):
            s.add(TimecardSyncRecord(id=uuid.uuid4(), company_id=company.id, timecard_id=uuid.uuid4(), state=state))
        await s.commit()
    await redis.hset(f"qbo:breaker:{company.id}", mapping={"state": "open", "failures": 5, "opened_at": 1})
    scrape._last_refresh = 0.0
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'qbo_outbox_rows{state="pending"} 2.0' in text
    assert 'qbo_outbox_rows{state="dead"} 1.0' in text
    assert f'qbo_breaker_open{{company_id="{company.id}"}} 1.0' in text
    assert "qbo_queue_depth" in text
    for name in ("qbo_timecard_syncs_total", "qbo_approve_to_qbo_seconds", "qbo_api_calls_total",
                 "qbo_limiter_wait_seconds", "qbo_token_refresh_total", "qbo_alerts_total"):
        assert f"# HELP {name}" in text


async def test_observer_counts_calls_waits_and_refreshes(sessionmaker, settings):
    obs = MonitoringObserver(sessionmaker, settings, integration_id=integration_id)
    before = sample("qbo_api_calls_total", {"status": "503"})
    await obs.on_call(503)
    await obs.on_call(None)
    await obs.on_limiter_wait(0.2)
    await obs.on_token_refresh("invalid_grant")
    assert sample("qbo_api_calls_total", {"status": "503"}) == before + 1
    assert sample("qbo_api_calls_total", {"status": "network_error"}) >= 1
    assert sample("qbo_token_refresh_total", {"outcome": "invalid_grant"}) >= 1
    assert sample("qbo_limiter_wait_seconds_count") >= 1


def test_sentry_before_send_strips_tokens_and_pii():
    event = {
        "request": {"url": "https://x/api", "query_string": "code=abc&state=xyz", "cookies": {"s": "1"},
                    "data": {"refresh_token": "rt-secret-1"}, "headers": {"Authorization": "Bearer abc.def", "Accept": "json"}},
        "user": {"email": "admin@acme.test", "ip_address": "1.2.3.4"},
        "extra": {"access_token": "at-1", "nested": {"client_secret": "s"}, "companyId": "c1"},
    }
    out = _before_send(event, {})
    flat = repr(out)
    for secret in ("abc.def", "rt-secret-1", "at-1", "admin@acme.test", "1.2.3.4", "code=abc", "xyz"):
        assert secret not in flat.replace("[redacted]", ""), secret
    assert out["request"]["headers"]["Accept"] == "json" and out["extra"]["companyId"] == "c1"
    assert "user" not in out and "cookies" not in out["request"] and "data" not in out["request"]
