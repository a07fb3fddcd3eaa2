"""When to try again, as one value the request loop, the outbox, directory import and webhooks can share.

A policy is a number of tries and the delays between them: capped exponential backoff with "equal
jitter" (half fixed, half random: openai-python's `_calculate_retry_timeout`), or a fixed schedule
(`RetryPolicy.fixed(60, 300, 900, 3600, 14400)`). Delays are seconds; nothing here sleeps or draws a
random number: the caller passes the draw, so every decision is a plain function of its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_tries: int = 3  # tries in all, the first included
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    schedule: tuple[float, ...] = ()  # fixed delays after the 1st, 2nd, ... failed try, in place of backoff
    jitter: bool = True  # half of each delay is random, so callers that failed together spread out
    retry_after_cap: float = 10.0  # a Retry-After up to this is waited out; a longer one ends the tries here
    default_throttle_wait: float = 60.0  # what Intuit advises after a 429 without Retry-After

    @classmethod
    def fixed(cls, *delays: float) -> RetryPolicy:
        """len(delays) + 1 tries, exactly `delays` apart (no jitter)."""
        return cls(max_tries=len(delays) + 1, schedule=tuple(delays), jitter=False)

    def delay(self, failed: int, draw: float = 1.0) -> float | None:
        """Seconds from the `failed`-th failed try to the next one; None when no try is left.
        `draw` in [0, 1] is the jitter's random part (1.0: the longest delay)."""
        if failed >= self.max_tries:
            return None
        if failed < 1:
            return 0.0
        if self.schedule:
            ceiling = self.schedule[min(failed, len(self.schedule)) - 1]
        else:
            ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (failed - 1))
        return ceiling / 2 + ceiling / 2 * draw if self.jitter else ceiling

    def delay_honouring(self, failed: int, retry_after: float | None, draw: float = 1.0) -> float | None:
        """`delay`, made at least the server's Retry-After; None also when that asks for more than
        `retry_after_cap` (the job queue waits, not this try)."""
        delay = self.delay(failed, draw)
        if delay is None or retry_after is None:
            return delay
        return max(delay, retry_after) if retry_after <= self.retry_after_cap else None

    def throttle_wait(self, retry_after: float | None) -> float:
        """How long a 429 pauses: its Retry-After, else `default_throttle_wait`."""
        return retry_after if retry_after is not None else self.default_throttle_wait
