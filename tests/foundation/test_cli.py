from __future__ import annotations

import subprocess
import sys

import pytest

SUBCOMMANDS = ["serve", "worker", "migrate", "dev", "token", "keygen", "rotate-keys", "openapi", "sandbox"]


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_every_subcommand_has_help(sub):
    r = subprocess.run([sys.executable, "-m", "qbo_integration.cli", sub, "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower()


def test_token_refuses_outside_dev_mode():
    env = {"QBOI_ENV": "production", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "qbo_integration.cli", "token", "--company",
                        "00000000-0000-0000-0000-000000000001"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    assert "dev mode" in r.stderr


def test_serve_refuses_placeholder_secrets_in_production():
    env = {"QBOI_ENV": "production", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "qbo_integration.cli", "serve"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2
    assert "configuration error" in r.stderr


def test_serve_runs_the_api_on_asyncios_loop(monkeypatch):
    # uvloop (uvicorn's "auto") accepts one connection per loop pass: on a busy API the last of 100
    # connections opened at once waited ~2 s for its first answer (docs/benchmarks.md, company health).
    import uvicorn

    from qbo_integration import cli
    from qbo_integration.config import get_settings

    seen: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    monkeypatch.setenv("QBOI_ENV", "dev")
    get_settings.cache_clear()
    try:
        assert cli.main(["serve", "--port", "8123"]) == 0
    finally:
        get_settings.cache_clear()
    assert seen["app"] == "qbo_integration.app:create_served_app" and seen["factory"] is True
    assert seen["loop"] == "asyncio"
    assert seen["port"] == 8123
