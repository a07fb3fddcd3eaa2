"""node-quickbooks (npm, pinned), unpatched, against the sandbox: one script runs every check once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from .conftest import CLIENT_ID, CLIENT_SECRET

SCRIPT = Path(__file__).with_name("node_quickbooks_checks.js")
CHECKS = ["oauth_refresh", "query_and_paging", "create_read_update_stale_delete", "requestid_replay",
          "batch_of_thirty", "change_data_capture", "fault_shapes", "revoke"]


@pytest.fixture(scope="module")
def results(conformance_sandbox, node_quickbooks) -> dict:
    st = conformance_sandbox.state
    realm = st.add_realm(None, None, sample=True).realm.realm_id
    tokens = httpx.post(f"{conformance_sandbox.base_url}/_sandbox/realms/{realm}/grants", timeout=10).json()
    cfg = {"base": conformance_sandbox.base_url, "realm": realm, "clientId": CLIENT_ID,
           "clientSecret": CLIENT_SECRET, "accessToken": tokens["access_token"],
           "refreshToken": tokens["refresh_token"]}
    done = subprocess.run(["node", str(SCRIPT), json.dumps(cfg)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(node_quickbooks)})
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(out) == sorted(CHECKS)
    return out


@pytest.mark.parametrize("check", CHECKS)
def test_node_quickbooks(results, check):
    assert results[check]["ok"], results[check]["detail"]
