"""Prometheus metrics shared by API and worker. Each process exposes its own registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_RECEIVED = Counter("qbo_events_received_total", "Core events received by the listener", ["event", "outcome"])
SYNCS = Counter("qbo_timecard_syncs_total", "Timecard sync attempts by outcome", ["operation", "outcome"])
APPROVE_TO_QBO = Histogram(
    "qbo_approve_to_qbo_seconds", "Time from timecard approval to the TimeActivity existing in QBO",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 14400),
)
QBO_CALLS = Counter("qbo_api_calls_total", "HTTP calls to QuickBooks by status", ["status"])
QBO_READS = Counter("qbo_api_read_calls_total", "Read calls to QuickBooks (metered by Intuit) by company",
                    ["company_id"])
QBO_READS_BY_PURPOSE = Counter("qbo_api_read_calls_by_purpose_total", "Read calls to QuickBooks by why they were made",
                               ["purpose"])
APP_READS_MONTH = Gauge("qbo_app_reads_month", "The app's QuickBooks reads this month (all processes, Redis)",
                        ["purpose"])
APP_READ_BUDGET = Gauge("qbo_app_read_budget", "The app's monthly QuickBooks read budget (QBO_READ_BUDGET_MONTHLY)")
APP_READS_DEFERRED = Gauge("qbo_app_reads_deferred_month", "Reads deferred this month near the budget, by purpose",
                           ["purpose"])
LIMITER_WAIT = Histogram("qbo_limiter_wait_seconds", "Time spent waiting for the per-realm rate limit",
                         buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60))
BREAKER_STATE = Gauge("qbo_breaker_open", "1 when a company's circuit breaker is open", ["company_id"])
OUTBOX_BACKLOG = Gauge("qbo_outbox_rows", "Timecard sync records by state", ["state"])
QUEUE_DEPTH = Gauge("qbo_queue_depth", "Jobs waiting in the arq queue")
TOKEN_REFRESHES = Counter("qbo_token_refresh_total", "OAuth token refreshes by outcome", ["outcome"])
ALERTS_SENT = Counter("qbo_alerts_total", "Alert emails by outcome", ["kind", "outcome"])
SETUP_SECONDS = Histogram("qbo_setup_duration_seconds", "Time from setup start to first synced timecard",
                          buckets=(600, 1800, 3600, 7200, 14400, 43200, 86400, 172800, 345600))
ALERT_OUTBOX = Gauge("qbo_alert_outbox_rows", "Alert emails waiting in the outbox by state", ["state"])
EXPORTS = Counter("qbo_csv_exports_total", "Fallback CSV exports by reason", ["reason"])
SCRAPE_REFRESH_ERRORS = Counter("qbo_metrics_refresh_errors_total", "Failed scrape-time gauge refreshes", ["part"])
