"""Intuit's own clients against the sandbox: intuit-oauth + python-quickbooks (pinned dev deps) and
node-quickbooks (pinned npm package, installed by the `node_quickbooks` fixture). Nothing in those
libraries is patched; each is only told where "Intuit" is: intuit-oauth takes the discovery document's
URL as its environment, python-quickbooks reads its API base from the `api_url_v3` attribute, and
node-quickbooks from `QuickBooks.V3_ENDPOINT_BASE_URL` / `TOKEN_URL` / `REVOKE_URL`."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from qbo_integration.sandbox.config import SandboxConfig
from qbo_integration.sandbox.runner import SandboxServer

CLIENT_ID = "conformance-client"
CLIENT_SECRET = "conformance-secret"
REDIRECT = "http://localhost:9999/callback"
NODE_QUICKBOOKS = "2.0.50"  # pinned, like python-quickbooks and intuit-oauth in pyproject.toml
# These clients do not pace themselves to QBO's 10 requests a second; the per-second limit is tested in
# tests/sandbox. Here it is lifted so a fast machine does not turn a wire check into a 429.
CALLS_PER_SECOND = 1000


@pytest.fixture(scope="session")
def conformance_sandbox():
    config = SandboxConfig(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT],
                           auto_approve=True, sample_realms=1, calls_per_second=CALLS_PER_SECOND)
    with SandboxServer(config=config) as server:
        yield server


@pytest.fixture
def realm(conformance_sandbox) -> str:
    """A fresh sample company per test, the one the consent step (auto-approve) connects."""
    st = conformance_sandbox.state
    realm_id = st.add_realm(None, None, sample=True).realm.realm_id
    st.auto_approve_realm = realm_id
    return realm_id


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "qbo-integration" / "npm" / f"node-quickbooks-{NODE_QUICKBOOKS}"


@pytest.fixture(scope="session")
def node_quickbooks() -> Path:
    """The pinned node-quickbooks installed (once) into a cache dir; fails when node or npm is missing
    or the install fails: a conformance check that silently does not run is no check."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("node and npm are needed for the node-quickbooks conformance tests")
    prefix = _cache_dir()
    installed = prefix / ".installed"  # written last: a half-done or interrupted install has none
    if not installed.exists():
        prefix.parent.mkdir(parents=True, exist_ok=True)
        # Two test runs on one machine share the cache: one installs while the other waits, and a
        # concurrent `npm install` into one prefix leaves it broken (ENOTEMPTY, missing modules).
        with open(prefix.parent / f"{prefix.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not installed.exists():
                shutil.rmtree(prefix, ignore_errors=True)
                prefix.mkdir()
                done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                                       "--no-save", "--loglevel=error", f"node-quickbooks@{NODE_QUICKBOOKS}"],
                                      capture_output=True, text=True, timeout=300)
                manifest = prefix / "node_modules" / "node-quickbooks" / "package.json"
                if done.returncode != 0 or not manifest.exists():
                    pytest.fail(f"npm install node-quickbooks@{NODE_QUICKBOOKS} failed: {done.stderr[-2000:]}")
                installed.write_text(NODE_QUICKBOOKS)
    return prefix / "node_modules"
