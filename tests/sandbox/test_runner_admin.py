"""Runner, CLI helpers and the admin realm API."""

from __future__ import annotations

import httpx

from qbo_integration.sandbox import build_parser, config_from_args
from qbo_integration.sandbox.app import create_sandbox_app
from qbo_integration.sandbox.config import SandboxConfig
from qbo_integration.sandbox.runner import SandboxServer, banner


def test_sandbox_server_context_manager_and_stop():
    with SandboxServer(config=SandboxConfig(sample_realms=3)) as srv:
        assert srv.base_url.startswith("http://127.0.0.1:")
        assert srv.realm_ids == ["9130357766900001", "9130357766900002", "9130357766900003"]
        r = httpx.get(srv.base_url + "/_sandbox/realms")
        assert r.status_code == 200 and len(r.json()) == 3
        url = srv.base_url
    try:
        httpx.get(url + "/_sandbox/realms", timeout=1)
        raise AssertionError("server still answering after stop()")
    except httpx.TransportError:
        pass


def test_sample_company_is_deterministic():
    a = create_sandbox_app(SandboxConfig(seed=7)).state.sandbox
    b = create_sandbox_app(SandboxConfig(seed=7)).state.sandbox
    ra, rb = next(iter(a.slots.values())).realm, next(iter(b.slots.values())).realm
    names = [r.data["DisplayName"] for r in ra.rows("Employee")]
    assert names == [r.data["DisplayName"] for r in rb.rows("Employee")]
    assert len(names) == 25 and sum(not r.active for r in ra.rows("Employee")) >= 1
    assert all(r.data["PrimaryEmailAddr"]["Address"] for r in ra.rows("Employee"))
    parents = [r for r in ra.rows("Customer") if not r.data.get("Job")]
    assert len(parents) == 15
    item_names = {r.data["Name"] for r in ra.rows("Item")}
    assert {"Hours", "Framing Labor", "Concrete", "Electrical"} <= item_names
    assert len(ra.rows("Class")) >= 3


def test_cli_args_and_banner():
    args = build_parser().parse_args(["--port", "9000", "--realms", "2", "--auto-approve",
                                      "--client-id", "cid", "--client-secret", "sec"])
    cfg = config_from_args(args)
    assert (args.port, cfg.sample_realms, cfg.auto_approve, cfg.client_id, cfg.client_secret) == (
        9000, 2, True, "cid", "sec")
    text = banner("http://127.0.0.1:9000", cfg, ["9130357766900001"])
    assert "http://127.0.0.1:9000" in text and "9130357766900001" in text and "cid" in text


async def test_admin_realms_create_reset(http):
    r = await http.post("/_sandbox/realms", json={"realmId": "4620816365000000001", "companyName": "Empty Co",
                                                  "sample": False})
    assert r.json() == {"realmId": "4620816365000000001", "companyName": "Empty Co"}
    assert (await http.post("/_sandbox/realms", json={"realmId": "4620816365000000001"})).status_code == 409
    realms = {x["realmId"]: x for x in (await http.get("/_sandbox/realms")).json()}
    assert realms["4620816365000000001"]["counts"]["Employee"] == 0
    made = await http.post("/_sandbox/realms/4620816365000000001/entities/Employee",
                           json={"DisplayName": "Solo Worker", "Active": True})
    assert made.json()["Id"] == "1"
    await http.post("/_sandbox/realms/4620816365000000001/reset")
    items = (await http.get("/_sandbox/realms/4620816365000000001/entities/Employee")).json()["items"]
    assert items == []
    assert (await http.get("/_sandbox/realms/000/entities/Employee")).status_code == 404
