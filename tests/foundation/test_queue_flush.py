"""JobQueue.flush when Redis fails part-way: jobs already queued stay queued; the failed one and those
not tried yet run their `if_unqueued` (committed), and the enqueue's own error is what the caller sees."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import text

from qbo_integration.queue import JobQueue


class _Pool:
    """Refuses the second enqueue, as Redis going away between two would."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def enqueue_job(self, function, *args, _job_id=None, **kwargs):  # noqa: ANN001, ANN002, ANN003
        self.calls.append(_job_id)
        if len(self.calls) == 2:
            raise RedisConnectionError("Connection refused")
        return type("Job", (), {"job_id": _job_id})()


async def test_flush_undoes_the_jobs_not_queued_and_raises_the_enqueue_error(sessionmaker):
    queue = JobQueue(_Pool())
    undone: list[str] = []

    def undo(name: str):  # noqa: ANN202
        async def step(session) -> None:  # noqa: ANN001
            assert (await session.execute(text("SELECT 1"))).scalar() == 1  # the session is usable after its commit
            undone.append(name)
        return step

    async with sessionmaker() as s:
        for name in ("a", "b", "c"):
            queue.after_commit(s, "sync_company", name, _job_id=name, _if_unqueued=undo(name))
        await s.commit()
        with pytest.raises(RedisConnectionError):
            await queue.flush(s)
    assert queue.pool.calls == ["a", "b"]  # c was never tried
    assert undone == ["b", "c"]


async def test_a_failing_undo_does_not_hide_the_enqueue_error(sessionmaker, caplog):
    queue = JobQueue(_Pool())

    async def broken(session) -> None:  # noqa: ANN001
        raise RuntimeError("the database went too")

    async with sessionmaker() as s:
        queue.after_commit(s, "sync_company", "a", _job_id="a")
        queue.after_commit(s, "sync_company", "b", _job_id="b", _if_unqueued=broken)
        await s.commit()
        with pytest.raises(RedisConnectionError):
            await queue.flush(s)
    assert "could not record jobs that were not queued" in caplog.text
