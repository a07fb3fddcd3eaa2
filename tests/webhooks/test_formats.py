"""Signature and the two delivery formats, as pure functions."""

from __future__ import annotations

import json

import pytest

from qbo_integration.sandbox import webhooks as sandbox_webhooks
from qbo_integration.webhooks import formats, signature


def test_signature_good_bad_missing_and_matches_the_sandboxs():
    body = b'[{"id":"1"}]'
    header = signature.sign(body, "verifier")
    assert header == sandbox_webhooks.sign(body, "verifier")
    assert signature.verify(body, header, "verifier")
    assert not signature.verify(body + b" ", header, "verifier")  # the raw body is what is signed
    assert not signature.verify(body, header, "other-verifier")
    assert not signature.verify(body, None, "verifier")
    assert not signature.verify(body, "", "verifier")
    assert not signature.verify(body, "nön-ascii", "verifier")
    assert not signature.verify(body, header, "")


def _ce(id_: str, realm: str, type_: str, entity_id: str = "7") -> dict:
    return {"specversion": "1.0", "id": id_, "source": "intuit", "type": type_, "datacontenttype": "application/json",
            "time": "2026-12-01T10:00:00Z", "intuitentityid": entity_id, "intuitaccountid": realm, "data": {}}


def test_cloudevents_of_several_realms():
    body = json.dumps([_ce("a", "111", "qbo.timeactivity.updated.v1"), _ce("b", "222", "qbo.employee.created.v1", "3"),
                       _ce("c", "111", "qbo.invoice.created.v1"), _ce("d", "222", "qbo.customer.deleted.v2")]).encode()
    events = formats.parse(body)
    assert [(e.event_id, e.realm_id, e.entity, e.entity_id, e.operation) for e in events] == [
        ("ce:a", "111", "TimeActivity", "7", "Update"), ("ce:b", "222", "Employee", "3", "Create"),
        ("ce:d", "222", "Customer", "7", "Delete")]  # the Invoice is not ours to act on
    assert events[0].occurred_at is not None and events[0].occurred_at.tzinfo is not None


def test_legacy_format_and_its_stable_event_ids():
    doc = {"eventNotifications": [
        {"realmId": "111", "dataChangeEvent": {"entities": [
            {"name": "Employee", "id": "5", "operation": "Update", "lastUpdated": "2026-12-01T10:00:00.000Z"},
            {"name": "Vendor", "id": "9", "operation": "Merge", "lastUpdated": "2026-12-01T10:00:01.000Z"}]}},
        {"realmId": "222", "dataChangeEvent": {"entities": [
            {"name": "TimeActivity", "id": "14", "operation": "Delete", "lastUpdated": "2026-12-01T10:00:02.000Z"}]}}]}
    first, again = formats.parse(json.dumps(doc).encode()), formats.parse(json.dumps(doc).encode())
    assert [(e.realm_id, e.entity, e.entity_id, e.operation) for e in first] == [
        ("111", "Employee", "5", "Update"), ("111", "Vendor", "9", "Merge"), ("222", "TimeActivity", "14", "Delete")]
    assert [e.event_id for e in first] == [e.event_id for e in again]  # a redelivery dedupes
    assert len({e.event_id for e in first}) == 3


@pytest.mark.parametrize("body", [
    b"", b"not json", b"{}", b'{"eventNotifications": 3}', b"[1]", b'[{"type": "qbo.x"}]',
    json.dumps([{"id": "a", "type": "qbo.employee.updated.v1", "intuitaccountid": "1"}]).encode(),  # no entity id
    json.dumps([{"id": "a\x00", "type": "qbo.employee.updated.v1", "intuitaccountid": "1",
                 "intuitentityid": "2"}]).encode(),
    b"[" * 100_000,  # nesting deep enough to hit the recursion limit
])
def test_malformed_deliveries_are_refused(body):
    with pytest.raises(formats.MalformedDelivery):
        formats.parse(body)
