"""The sandbox's webhook events carry the record's LastUpdatedTime, as QBO's do (the echo of a write of
ours is recognised by it, reconciliation/versions.py), even under a test's movable clock."""

from __future__ import annotations

from datetime import UTC, datetime

from qbo_integration.sandbox.responses import Clock
from qbo_integration.sandbox.store import Realm
from qbo_integration.sandbox.webhooks import Subscription, WebhookHub


def test_an_event_is_dated_by_the_records_last_update_not_the_hubs_clock():
    hub = WebhookHub()
    hub.subscribe("r1", Subscription(url="http://127.0.0.1:9/hook", verifier_token="t"))
    moved = datetime(2031, 5, 4, 3, 2, 1, 900_000, tzinfo=UTC).timestamp()
    realm = Realm(realm_id="r1", company_name="Moved Clock Co", clock=Clock(lambda: moved, "-08:00"), created=moved)
    realm.on_change = lambda entity, id_, op, at: hub.notify("r1", entity, id_, op, at)
    rec = realm.insert("TimeActivity", {"NameOf": "Employee", "Hours": 1})
    [change] = hub._pending["http://127.0.0.1:9/hook"]
    assert change.at == datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC)  # LastUpdatedTime's seconds
    assert datetime.fromisoformat(realm._meta(rec)["LastUpdatedTime"]) == change.at
