"""The sandbox's requestid memory: keyed by the id, configurable per realm and by flag, then forgotten."""

from __future__ import annotations

import asyncio

import pytest

from qbo_integration.sandbox import build_parser, config_from_args
from qbo_integration.sandbox.app import create_sandbox_app
from qbo_integration.sandbox.config import SandboxConfig

from .conftest import time_activity


async def _count(company) -> int:
    return len((await company.admin("GET", "/entities/TimeActivity")).json()["items"])


async def test_forgets_a_request_id_after_the_memory_and_executes_it_again(company, clock):
    assert (await company.admin("GET", "/request-ids")).json() == {"memorySeconds": None, "remembered": 0}
    r = await company.admin("PUT", "/request-ids", json={"memorySeconds": 5})
    assert r.status_code == 200 and r.json() == {"memorySeconds": 5.0, "remembered": 0}
    body = time_activity()
    first = await company.post("/timeactivity", body, requestid="mem-1")
    clock.advance(4)
    again = await company.post("/timeactivity", body, requestid="mem-1")
    assert again.json() == first.json() and await _count(company) == 1  # still remembered: replayed
    assert (await company.admin("GET", "/request-ids")).json()["remembered"] == 1
    clock.advance(1.5)
    later = await company.post("/timeactivity", body, requestid="mem-1")
    assert later.status_code == 200
    assert later.json()["TimeActivity"]["Id"] != first.json()["TimeActivity"]["Id"]
    assert await _count(company) == 2  # QBO forgot the id: the same request made a second record
    notes = [e["note"] for e in await company.log()][-3:]
    assert notes == [None, "replayed", None]
    # the new answer is remembered in its turn
    replay = await company.post("/timeactivity", body, requestid="mem-1")
    assert replay.json() == later.json() and await _count(company) == 2


async def test_a_held_resend_is_recognised_when_it_arrives_not_when_it_is_applied(company, clock):
    """A re-send QBO holds (a late commit) is recognised by its request id on arrival: checking only
    once it is applied let the id's memory lapse meanwhile and made a second record (the operations
    campaign's seed 5 in CI: a commit-then-drop, its re-send held past a 4 s memory)."""
    await company.admin("PUT", "/request-ids", json={"memorySeconds": 5})
    body = time_activity()
    first = await company.post("/timeactivity", body, requestid="mem-held")
    clock.advance(4)
    r = await company.admin("PUT", "/faults", json={"lateCommitRate": 1, "lateCommitSeconds": 0.5})
    assert r.status_code == 200, r.text
    resend = asyncio.create_task(company.post("/timeactivity", body, requestid="mem-held"))
    await asyncio.sleep(0.2)
    clock.advance(2)  # the memory lapses while the re-send would be held
    assert (await resend).json() == first.json() and await _count(company) == 1


async def test_same_id_with_another_body_gets_the_stored_answer_and_changes_nothing(company):
    first = await company.post("/timeactivity", time_activity(), requestid="mem-2")
    other = await company.post("/timeactivity", time_activity(Hours=3, Description="other"), requestid="mem-2")
    assert other.json() == first.json() and await _count(company) == 1


async def test_forget_now_and_bad_settings(company):
    await company.post("/timeactivity", time_activity(), requestid="mem-3")
    r = await company.admin("DELETE", "/request-ids")
    assert r.json() == {"forgotten": 1, "memorySeconds": None, "remembered": 0}
    await company.post("/timeactivity", time_activity(), requestid="mem-3")
    assert await _count(company) == 2
    for bad in ({"memorySeconds": -1}, {"memorySeconds": "5"}, {"memorySeconds": True}, {}, {"seconds": 5},
                {"memorySeconds": 5, "extra": 1}, [5]):
        r = await company.admin("PUT", "/request-ids", json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert "memorySeconds" in r.json()["detail"]
    assert (await company.admin("GET", "/request-ids")).json()["memorySeconds"] is None  # nothing changed
    assert (await company.admin("PUT", "/request-ids", json={"memorySeconds": 0})).json()["memorySeconds"] == 0
    await company.post("/timeactivity", time_activity(), requestid="mem-4")
    await company.post("/timeactivity", time_activity(), requestid="mem-4")
    assert await _count(company) == 4  # memory 0: nothing is ever replayed
    r = await company.http.put("/_sandbox/realms/nope/request-ids", json={"memorySeconds": 1})
    assert r.status_code == 404


async def test_reset_clears_ids_but_keeps_the_setting(company):
    await company.admin("PUT", "/request-ids", json={"memorySeconds": 30})
    await company.post("/timeactivity", time_activity(), requestid="mem-5")
    await company.admin("POST", "/reset")
    assert (await company.admin("GET", "/request-ids")).json() == {"memorySeconds": 30.0, "remembered": 0}


def test_cli_flag_and_config_set_the_memory_of_new_realms():
    cfg = config_from_args(build_parser().parse_args(["--request-id-memory", "2.5"]))
    assert cfg.request_id_memory_seconds == 2.5
    assert config_from_args(build_parser().parse_args([])).request_id_memory_seconds is None
    for bad in ("-1", "soon"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--request-id-memory", bad])
    st = create_sandbox_app(SandboxConfig(sample_realms=2, request_id_memory_seconds=7)).state.sandbox
    assert [s.realm.request_ids.seconds for s in st.slots.values()] == [7.0, 7.0]
    assert st.add_realm(None, None, sample=False).realm.request_ids.seconds == 7.0
