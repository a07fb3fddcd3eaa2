"""A big history for one company, in a few set-based INSERTs (generate_series), for the health benches.

`audit_rows` audit rows spread back in time 7 s apart (5 % failures), `outbox_rows` approved Core
timecards each with an outbox row (1 % pending, 1 in 501 dead, the rest synced a minute apart),
`backlog` approved timecards with no outbox row yet (what Pending must count too), and `runs` finished
sync runs 15 minutes apart. The company, its integration, one worker and one project must exist.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import asyncpg


@dataclass
class History:
    audit_rows: int = 1_000_000
    outbox_rows: int = 50_000
    backlog: int = 100
    runs: int = 2_000


async def seed_history(conn: asyncpg.Connection, company_id: uuid.UUID, integration_id: uuid.UUID,
                       worker_id: uuid.UUID, project_id: uuid.UUID, h: History) -> float:
    """Seeds and ANALYZEs; returns the seconds it took."""
    t0 = time.perf_counter()
    await conn.execute(
        """INSERT INTO integration_audit_log
             (id, integration_id, company_id, timecard_id, action, status, error_message, created_at)
           SELECT gen_random_uuid(), $1, $2, gen_random_uuid(),
                  CASE WHEN g % 2 = 0 THEN 'sync_timecard' ELSE 'import_directory' END,
                  CASE WHEN g % 20 = 0 THEN 'failure' ELSE 'success' END,
                  CASE WHEN g % 20 = 0 THEN 'QBO answered 503' END,
                  now() - g * interval '7 seconds'
           FROM generate_series(1, $3) g""", integration_id, company_id, h.audit_rows)
    await conn.execute(
        """INSERT INTO core.timecards (id, company_id, worker_id, project_id, clock_in, clock_out, total_hours,
                                       status, approved_at, version, sync_status, qbo_id)
           SELECT gen_random_uuid(), $1, $2, $3, now() - g * interval '1 hour',
                  now() - g * interval '1 hour' + interval '8 hours', 7.5, 'approved', now() - g * interval '1 hour',
                  1, CASE WHEN g <= $4::int THEN 'synced' ELSE 'not_synced' END, CASE WHEN g <= $4::int THEN g::text END
           FROM generate_series(1, $4::int + $5::int) g""", company_id, worker_id, project_id, h.outbox_rows, h.backlog)
    await conn.execute(
        """INSERT INTO timecard_sync_records (id, company_id, timecard_id, state, operation, qbo_id,
                                              timecard_version, synced_version, synced_at, next_attempt_at)
           SELECT gen_random_uuid(), $1, t.id, s.state, CASE WHEN s.state = 'synced' THEN 'none' ELSE 'create' END,
                  CASE WHEN s.state = 'synced' THEN t.qbo_id END, 1, CASE WHEN s.state = 'synced' THEN 1 END,
                  CASE WHEN s.state = 'synced' THEN t.approved_at END, now()
           FROM (SELECT id, qbo_id, approved_at, row_number() OVER (ORDER BY approved_at DESC) AS g
                 FROM core.timecards WHERE company_id = $1 AND qbo_id IS NOT NULL) t,
                LATERAL (SELECT CASE WHEN t.g % 100 = 0 THEN 'pending' WHEN t.g % 501 = 0 THEN 'dead'
                                     ELSE 'synced' END AS state) s""", company_id)
    await conn.execute(
        """INSERT INTO sync_jobs (id, integration_id, company_id, status, created_at, completed_at,
                                  timecards_total, timecards_synced)
           SELECT gen_random_uuid(), $1, $2, 'completed', now() - g * interval '15 minutes',
                  now() - g * interval '15 minutes' + interval '20 seconds', 10, 10
           FROM generate_series(1, $3) g""", integration_id, company_id, h.runs)
    await conn.execute("ANALYZE")
    return time.perf_counter() - t0
