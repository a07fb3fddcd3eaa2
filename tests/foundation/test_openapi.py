from __future__ import annotations

from pathlib import Path

from qbo_integration.openapi_export import render_openapi

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_is_current():
    committed = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert committed == render_openapi(), "openapi.yaml is stale: run `qbo-integration openapi`"
