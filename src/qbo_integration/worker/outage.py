"""arq's worker, kept running through a Redis outage.

arq's poll loop lets a Redis connection error out of `Worker.main`, and the process exits: one
Redis restart used to take every worker down at once (the campaigns played the supervisor that
restarted them). Here a failed poll is logged and tried again with a growing pause; redis-py
reconnects on the next command. Jobs that were running meanwhile fail on their own Redis calls
and are recovered as any failed job is (the outbox and the sweep, not the queue, hold the work).
"""

from __future__ import annotations

import asyncio
import logging

from arq.worker import Worker
from redis.exceptions import RedisError

from qbo_integration import logs

logger = logging.getLogger(__name__)

FIRST_PAUSE = 0.5  # seconds before the first retry of a failed poll; doubled each time, up to MAX_PAUSE
MAX_PAUSE = 10.0
# Any Redis error that escapes arq's poll: a lost connection shows up as ConnectionError, TimeoutError,
# or WatchError ("A ConnectionError occurred on while watching", when it drops inside start_jobs'
# WATCH; seen in the operations campaign). A job's own failure never escapes it: arq records it.
OUTAGE_ERRORS = (RedisError, ConnectionError, TimeoutError)


class OutageTolerantWorker(Worker):
    pause = 0.0  # the current pause; 0 while Redis answers
    outages = 0  # polls that failed, since the start (for the logs and tests)

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except OUTAGE_ERRORS as exc:
            self.outages += 1
            self.pause = min(MAX_PAUSE, self.pause * 2 or FIRST_PAUSE)
            logger.warning("Redis did not answer the worker's poll; polling again in %.1f s", self.pause,
                           extra=logs.log_fields(error=type(exc).__name__, failed_polls=self.outages))
            await asyncio.sleep(self.pause)
            return
        if self.pause:
            logger.info("Redis answers the worker's poll again", extra=logs.log_fields(failed_polls=self.outages))
            self.pause = 0.0
