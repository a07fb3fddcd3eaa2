"""A round's preparation: each claimed timecard read as Core has it now, mapped, checked against the
company's books, and decided (create, update, delete, settle a lost create, or nothing). Nothing is sent
or recorded here: rounds.py records the ledger and sends."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from qbo_integration.connections import books as company_books
from qbo_integration.connections.books import BookRules
from qbo_integration.core_platform.gateway import CoreGateway
from qbo_integration.core_platform.views import CompanyView, TimecardView
from qbo_integration.sync import lifecycle, outbox, policy, sender
from qbo_integration.sync.mapper import Mapper
from qbo_integration.sync.states import Op


async def prepare(session: AsyncSession, mapper: Mapper, company: CompanyView, claimed: list[outbox.Claimed],
                  start_date: Any, rules: BookRules = company_books.UNREAD,
                  realm_id: str | None = None) -> list[sender.Work]:
    """Read each claimed timecard as it is now (events may have been lost), map it (`mapper`), check it
    against the company's books (`rules`), and decide. A few statements per round whatever its size: the
    timecards, the profile, the directory."""
    timecards: dict[uuid.UUID, TimecardView] = await CoreGateway(session).get_timecards(
        [c.timecard_id for c in claimed])
    works = []
    for c in claimed:
        tc = timecards.get(c.timecard_id)
        desire = outbox.desire_of(company, tc, start_date)
        version = tc.version if tc else c.version
        w = sender.Work(c, "none", version, tc, desire=desire.value)
        w.want = outbox.want_of(desire, version, c.qbo_id is not None)
        works.append(w)
    to_map = [w.timecard for w in works if w.want is not None and w.timecard is not None]
    built = await mapper.build(session, company, to_map) if to_map else {}
    for w in works:
        b = built.get(w.timecard.id) if w.want is not None and w.timecard is not None else None
        if b is not None:
            if b.errors or b.payload is None:
                w.mapping_error = " ".join(f"{e.message}. {e.fix}." for e in b.errors)[:2000] or \
                    "The timecard could not be mapped to a QuickBooks time entry."
            else:
                w.payload = b.payload
                w.fingerprint = policy.fingerprint(b.payload)
                w.want = lifecycle.Want(w.version, w.fingerprint)
                w.refusal = mapper.refusal(rules, b.payload)
                if w.refusal is not None:
                    w.mapping_error = w.refusal[1]  # the books refuse it: nothing is sent
        w.op = str(lifecycle.decide(w.want, outbox.held_of(w.claimed), outbox.outstanding_of(w.claimed)))
        if w.op not in (Op.CREATE, Op.UPDATE):
            w.mapping_error = None  # only content we send needs a mapping
            w.refusal = None
        if w.op != Op.NONE and outbox.other_realm(w.claimed, realm_id):
            assert w.claimed.realm_id and realm_id
            w.mapping_error = policy.other_realm_message(w.claimed.realm_id, realm_id)
            w.refusal = (policy.OTHER_REALM, w.mapping_error)
    return works
