"""The real stack for browser tests: the API under uvicorn (a thread, real HTTP on a free port) and a
real arq worker (a `qbo-integration worker` subprocess with the same settings)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from qbo_integration.config import Settings

API_PREFIX = "/api/v1/integrations/quickbooks"


def bind_free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveApi:
    """create_app(settings) served by uvicorn in a background thread (its own event loop)."""

    def __init__(self, make_app: Callable[[], FastAPI], sock: socket.socket) -> None:
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.app = make_app()
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", access_log=False,
                                                     lifespan="on", timeout_graceful_shutdown=5))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="console-test-api", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LiveApi:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process read the same settings."""
    values = {
        "QBOI_ENV": settings.env, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
        "QBO_API_BASE_URL": settings.qbo_api_base_url, "QBO_AUTHORIZE_URL": settings.qbo_authorize_url,
        "QBO_TOKEN_URL": settings.qbo_token_url, "QBO_REVOKE_URL": settings.qbo_revoke_url,
        "QBO_DISCOVERY_URL": settings.qbo_discovery_url or "", "QBO_REDIRECT_URI": settings.qbo_redirect_uri,
        "PUBLIC_BASE_URL": settings.public_base_url, "EXPORT_DIR": settings.export_dir,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "TOKEN_ENCRYPTION_KEYS": settings.token_encryption_keys.get_secret_value(),
        "LOG_LEVEL": "WARNING",
    }
    return {k: v for k, v in values.items() if v is not None}


class WorkerProcess:
    """`python -m qbo_integration.cli worker` with the test settings; output goes to a log file."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("QBO")}
        env.update(settings_env(settings))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "qbo_integration.cli", "worker"], env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # arq handles SIGTERM: finishes and runs on_shutdown
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
