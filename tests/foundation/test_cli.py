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
