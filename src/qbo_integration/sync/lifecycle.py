"""The one decision per timecard: what to do next in QBO, from three facts.

- what Core wants now: the approved content (`Want`), or nothing (`None`);
- what QBO is known to hold for it: a record's id, SyncToken and content (`Held`), or nothing;
- which request went out with an outcome nobody knows yet (`Outstanding`), from the ledger.

While a request is outstanding the only move is to settle it: a create that may have landed is
looked up in QBO and adopted (never sent fresh: QBO may have forgotten its request id); an update
or delete names the record, so QBO's content is unknown but its identity is not, and the next
update or delete settles it (a stale SyncToken is re-read, a vanished record is re-created).
Whatever Core wanted meanwhile is applied to the record once it is known, never next to it.

Failures are classified here too, once: whether QBO may have committed the request decides whether
the ledger entry stays, and the kind decides the retry policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from qbo_integration.qbo import QboError
from qbo_integration.sync import policy
from qbo_integration.sync.states import Kind, Op


@dataclass(frozen=True)
class Want:
    """Approved content: its version, and the fingerprint of its payload when it was mapped."""

    version: int
    fingerprint: str | None = None


@dataclass(frozen=True)
class Held:
    """A TimeActivity QBO holds for the timecard. `version`/`fingerprint` None: its content is unknown."""

    qbo_id: str
    sync_token: str | None = None
    version: int | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class Outstanding:
    """A request recorded in the ledger before it was sent, whose outcome is not known."""

    op: str  # create | update | delete
    request_id: str
    fingerprint: str | None = None


def same_content(want: Want, held: Held) -> bool:
    if want.fingerprint is not None and held.fingerprint is not None:
        return want.fingerprint == held.fingerprint
    return held.version is not None and held.version == want.version


def decide(want: Want | None, held: Held | None, outstanding: Outstanding | None) -> Op:
    if outstanding is not None and outstanding.op == Op.CREATE:
        return Op.SETTLE
    if held is None:
        return Op.CREATE if want is not None else Op.NONE
    if want is None:
        return Op.DELETE
    if outstanding is not None:  # an update/delete of this record may or may not have landed
        return Op.UPDATE
    return Op.NONE if same_content(want, held) else Op.UPDATE


# ------------------------------------------------------------------------------------ failures


@dataclass(frozen=True)
class Failure:
    kind: Kind
    maybe_committed: bool  # QBO may have applied the request: its ledger entry stays until settled


def classify(error: QboError | None, *, mapping: bool = False, refused: bool = False) -> Failure:
    """The kind (policy.failure_kind: what the retry policy does) and whether QBO may have written it.

    A write handed to the client may have landed whatever its final error says: the client retries a
    call itself, and an attempt that timed out or lost its answer may be followed by one refused for
    a lost connection, a 429 or our own limiter (issue 13's "disconnect while a batch was unknown").
    The client tracks that across the call's attempts (`error.resolution.may_have_landed`); a call it knows
    was never applied (refused by our limiter or the breaker, or answered 429/4xx with no earlier
    doubtful attempt) needs no look-up: its next try is a plain send.

    `refused`: the company's books refuse it (mapping/books.py): a VALIDATION failure, never retried;
    before sending (no error) nothing was sent; after QBO's answer the ledger entry stays only when an
    attempt of the call may have landed, as for any answer."""
    if refused:  # whatever code QBO used, a retry cannot change the books
        return Failure(Kind.VALIDATION, error is not None and error.resolution.may_have_landed)
    if mapping or error is None:
        return Failure(Kind.MAPPING, False)
    return Failure(policy.failure_kind(error), error.resolution.may_have_landed)
