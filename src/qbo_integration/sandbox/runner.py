"""Run the sandbox: SandboxServer (background thread, for tests/dev/benches) and a blocking run()."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from .app import create_sandbox_app
from .config import SandboxConfig


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, config: SandboxConfig | None = None) -> None:
        self.host, self.port = host, port
        self.config = config or SandboxConfig()
        self.app = create_sandbox_app(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self):
        return self.app.state.sandbox

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def realm_ids(self) -> list[str]:
        return list(self.state.slots)

    def start(self, timeout: float = 10.0) -> SandboxServer:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        cfg = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                             timeout_keep_alive=30)
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="qbo-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def banner(base_url: str, config: SandboxConfig, realm_ids: list[str]) -> str:
    return "\n".join([
        f"QBO sandbox running at {base_url}",
        f"  API base:      {base_url}/v3/company/{{realmId}}/",
        f"  discovery:     {base_url}/.well-known/openid_configuration",
        f"  OAuth client:  {config.client_id}",
        f"  sample realms: {', '.join(realm_ids) or '(none)'}",
        f"  auto-approve:  {'on' if config.auto_approve else 'off'}",
        f"  admin API:     {base_url}/_sandbox/realms  (docs: {base_url}/_sandbox/docs)",
    ])


def run(host: str = "127.0.0.1", port: int = 8765, config: SandboxConfig | None = None) -> None:
    """Blocking: serve the sandbox in the foreground until interrupted."""
    config = config or SandboxConfig()
    app = create_sandbox_app(config)
    print(banner(f"http://{host}:{port}", config, list(app.state.sandbox.slots)), flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, lifespan="off")
