from __future__ import annotations

import asyncio
import uuid

import asyncpg

from qbo_integration.db.migrate import downgrade, upgrade
from tests.services import with_database


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables "
            "WHERE table_schema IN ('public','core')"
        )
        return {r["t"] for r in rows}
    finally:
        await conn.close()


def test_upgrade_downgrade_upgrade_on_an_empty_database(test_services):
    name = f"qbo_mig_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(test_services.admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = with_database(test_services.database_url, name)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        upgrade(url)
        first = asyncio.run(_tables(dsn))
        assert {"public.integrations", "public.sync_jobs", "public.integration_audit_log",
                "public.timecard_sync_records", "core.timecards", "core.companies"} <= first
        downgrade(url, "base")
        assert asyncio.run(_tables(dsn)) <= {"public.alembic_version"}
        upgrade(url)
        assert asyncio.run(_tables(dsn)) == first
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_models_match_migrations(engine):
    """Autogenerate finds nothing to do: the migrations create exactly what the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from qbo_integration.db.models import metadata

    def diff(sync_conn):
        ctx = MigrationContext.configure(sync_conn, opts={"include_schemas": True, "compare_type": True,
                                                          "include_object": _include})
        return compare_metadata(ctx, metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


def _include(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and reflected and compare_to is None)
