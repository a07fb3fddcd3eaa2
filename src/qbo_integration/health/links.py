"""Where an admin sees one TimeActivity: QuickBooks' own page of it, or the built-in sandbox's (the
dashboard's "Open in QuickBooks", the timecard page's)."""

from __future__ import annotations

from urllib.parse import urlsplit

from qbo_integration.config import INTUIT_API_BASE, INTUIT_SANDBOX_API_BASE, Settings


def qbo_link(settings: Settings, realm_id: str | None, qbo_id: str) -> str | None:
    base = settings.qbo_api_base_url.rstrip("/")
    if base == INTUIT_API_BASE.rstrip("/"):
        return f"https://app.qbo.intuit.com/app/timeactivity?txnId={qbo_id}"
    if base == INTUIT_SANDBOX_API_BASE.rstrip("/"):
        return f"https://app.sandbox.qbo.intuit.com/app/timeactivity?txnId={qbo_id}"
    if not realm_id:
        return None
    u = urlsplit(base)
    return f"{u.scheme}://{u.netloc}/_sandbox/realms/{realm_id}/entities/TimeActivity/{qbo_id}"
