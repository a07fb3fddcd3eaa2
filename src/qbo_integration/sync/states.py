"""The outbox's vocabulary: a row's state, the operation it wants, the kind of its last failure and
Core's wish. StrEnums, so a value compares and stores as its text; the tables' check constraints are
generated from them (sync/models.py), so a new value cannot reach the database unlisted."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    IN_FLIGHT = "in_flight"  # claimed by a job (claim_token)
    SYNCED = "synced"  # QBO holds what Core wants (or nothing, when it wants nothing)
    FAILED = "failed"  # a human fixes it (validation, mapping), or a transient retry is scheduled
    DEAD = "dead"  # retries exhausted: the dead-letter queue


class Op(StrEnum):
    """What a row wants next in QBO (lifecycle.decide)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NONE = "none"  # QBO holds what Core wants
    SETTLE = "settle"  # look up an outstanding create in QBO before anything else


class Kind(StrEnum):
    """The kind of a row's last failure (error_kind): what the retry policy does with it."""

    TRANSIENT = "transient"  # retried on policy.RETRIES
    VALIDATION = "validation"  # QBO (or the company's books) refused the data: a human fixes it
    MAPPING = "mapping"  # no payload could be built: re-queued when the mapping changes
    WAIT = "wait"  # connection lost / breaker open / throttled: waits, attempts untouched


class Wanted(StrEnum):
    """Core's wish for the timecard, as last read."""

    PRESENT = "present"  # approved (and on/after the sync start date): QBO should hold it
    ABSENT = "absent"  # unapproved/deleted: QBO should not
    SKIP = "skip"  # approved but dated before the sync start date: never sent


#: States in which no job holds the row.
AT_REST = (State.SYNCED, State.FAILED, State.DEAD)
#: States a job may claim when due (a failed row only when its failure is transient).
WAITING = (State.PENDING, State.IN_FLIGHT)
#: Operations that send something to QBO.
SENDS = (Op.CREATE, Op.UPDATE, Op.DELETE)


def check(column: str, enum: type[StrEnum]) -> str:
    """`column IN (...)` over every value of `enum`: a table's check constraint."""
    return f"{column} IN ({','.join(repr(str(v)) for v in enum)})"
