"""The operations campaign's seeded generator: one company's history, derived from its seed alone.

`plan(seed)` returns the timecards' starting content, the company's fault profile and a list of
steps. It simulates Core and the admin just enough to keep every step meaningful (approve a card
that is not approved, unapprove one that is, keep the admin's disconnect / live-sync-off / broken
mapping intervals apart and closed by the end). Nothing here talks to anything: the same seed
gives the same plan on every machine, so a seed printed by a failed run replays it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

HOURS = [4.0 + 0.25 * i for i in range(23)]  # 4.00 .. 9.50 worked hours (plus a 30-minute break)


@dataclass
class CardPlan:
    index: int
    hours: float
    project: int  # 0 or 1: which of the company's two projects
    cost_code: int  # 0 or 1: cost code B (1) is the one the mapping change breaks
    notes_rev: int = 0


@dataclass
class Step:
    kind: str
    card: int | None = None  # timecard index, for the per-timecard steps
    args: dict[str, Any] = field(default_factory=dict)
    pause: float = 0.0  # seconds to wait before the step (pacing only: nothing waits for a result)

    def describe(self) -> str:
        target = f" tc{self.card}" if self.card is not None else ""
        extra = " ".join(f"{k}={v}" for k, v in self.args.items())
        return f"{self.kind}{target}{(' ' + extra) if extra else ''}"


@dataclass
class Plan:
    seed: int
    cards: list[CardPlan]
    faults: dict[str, Any]
    memory_seconds: float | None  # the sandbox's request-id memory for this realm (None: forever)
    steps: list[Step]


ADMIN_PAIRS = (("map_break", "map_fix"), ("disconnect", "reconnect"), ("live_off", "live_on"))


def plan(seed: int, *, cards: int | None = None, steps: int | None = None) -> Plan:
    rng = random.Random(f"ops-campaign:{seed}")
    n_cards = cards or rng.randint(8, 12)
    n_steps = steps or rng.randint(18, 24)
    card_plans = [CardPlan(i, rng.choice(HOURS), rng.randrange(2), rng.randrange(2)) for i in range(n_cards)]
    faults = {
        "error500Rate": round(rng.uniform(0.0, 0.12), 3), "error503Rate": round(rng.uniform(0.0, 0.08), 3),
        "timeoutRate": round(rng.uniform(0.0, 0.04), 3), "timeoutSeconds": 3,
        "commitThenDropRate": round(rng.uniform(0.12, 0.3), 3),
        "latencyMs": 10, "jitterMs": 60, "seed": seed,
    }
    # Drawn apart, so adding them left every seed's history as it was: writes QBO applies after the
    # client (2 s timeout) gave up, within the settle deadline (2 s + 10 s after the last send).
    late = random.Random(f"ops-campaign-late:{seed}")
    faults |= {"lateCommitRate": round(late.uniform(0.0, 0.06), 3), "lateCommitSeconds": 4}
    memory = rng.choice([None, 2.0, 4.0]) if rng.random() < 0.6 else None

    status = ["submitted"] * n_cards  # submitted | approved | deleted
    ops: list[Step] = []
    deletes = 0
    recent: list[int] = []  # the latest approvals: likely still in flight, or just lost with their batch
    for _ in range(n_steps):
        alive = [i for i in range(n_cards) if status[i] != "deleted"]
        not_approved = [i for i in alive if status[i] != "approved"]
        approved = [i for i in alive if status[i] == "approved"]
        choices: list[tuple[str, float]] = [("edit", 3.5), ("sync_now", 1.2), ("requeue", 0.5),
                                            ("storm", 0.25), ("expire", 0.3), ("drop_burst", 0.6)]
        if not_approved:
            choices.append(("approve", 4.0 if len(approved) < len(alive) / 2 else 2.0))
            if len(not_approved) >= 3:
                choices.append(("approve_many", 1.5 if ops else 100.0))  # a supervisor approves the week
        if approved:
            choices.append(("unapprove", 1.6))
            if deletes < 2:
                choices.append(("delete", 0.5))
        kind = rng.choices([k for k, _ in choices], [w for _, w in choices])[0]
        pause = round(rng.uniform(0.0, 0.15), 3)
        hot = [i for i in recent[-10:] if status[i] != "deleted"]

        def pick(pool: list[int], hot: list[int] = hot) -> int:
            near = [i for i in hot if i in pool]
            return rng.choice(near) if near and rng.random() < 0.6 else rng.choice(pool)

        if kind == "approve_many":
            group = sorted(rng.sample(not_approved, rng.randint(3, min(10, len(not_approved)))))
            for i in group:
                status[i] = "approved"
            recent.extend(group)
            ops.append(Step("approve_many", args={"cards": group}, pause=pause))
        elif kind == "approve":
            i = rng.choice(not_approved)
            status[i] = "approved"
            recent.append(i)
            ops.append(Step("approve", i, pause=pause))
        elif kind == "unapprove":
            i = pick(approved)
            status[i] = "submitted"
            ops.append(Step("unapprove", i, pause=pause))
        elif kind == "delete":
            i = pick(approved + not_approved)
            status[i] = "deleted"
            deletes += 1
            ops.append(Step("delete", i, pause=pause))
        elif kind == "edit":
            i = pick(alive)
            what = rng.choice(["hours", "project", "cost_code", "notes", "hours", "notes"])
            value: Any
            if what == "hours":
                value = rng.choice(HOURS)
            elif what in ("project", "cost_code"):
                value = None  # flip
            else:
                value = rng.randint(1, 10_000)
            ops.append(Step("edit", i, {"field": what, "value": value} if value is not None else {"field": what},
                            pause=pause))
        elif kind == "sync_now":
            subset = sorted({pick(alive) for _ in range(rng.randint(1, 4))}) if rng.random() < 0.75 else []
            ops.append(Step("sync_now", args={"cards": sorted(subset)}, pause=pause))
        elif kind == "drop_burst":  # every write commits and loses its answer for a while: outcomes unknown
            ops.append(Step("drop_burst", args={"seconds": rng.choice([2, 3, 5])}, pause=pause))
        elif kind == "storm":
            ops.append(Step("storm", args={"seconds": rng.choice([2, 3, 4])}, pause=pause))
        else:
            ops.append(Step(kind, pause=pause))

    # The admin's three intervals (mapping broken, disconnected, live sync off): short, disjoint, in a
    # random order, one in each third of the history, all closed by the end.
    order = rng.sample(ADMIN_PAIRS, len(ADMIN_PAIRS))
    third = len(ops) // len(order)
    marks: dict[int, list[Step]] = {}
    for n, (begin, end) in enumerate(order):
        length = rng.randint(2, max(2, min(6, third - 1)))
        start = n * third + rng.randint(0, max(0, third - length - 1))
        marks.setdefault(start, []).append(Step(begin, pause=round(rng.uniform(0.0, 0.3), 3)))
        marks.setdefault(start + length, []).append(Step(end, pause=round(rng.uniform(0.3, 1.0), 3)))
    out: list[Step] = []
    for pos in range(len(ops) + 1):
        out.extend(marks.get(pos, []))
        if pos < len(ops):
            out.append(ops[pos])
    return Plan(seed, card_plans, faults, memory, people(seed, out))


# Intervals in which the admin runs a dry run (reconnect, live sync on): books closed or a worker's employee
# inactive would fail it, so the new intervals keep out of these.
DRY_RUN_SPANS = (("disconnect", "reconnect"), ("live_off", "live_on"))
PEOPLE_PAIRS = (("books_close", "books_open"), ("emp_break", "emp_fix"))


def _span(steps: list[Step], begin: str, end: str) -> tuple[int, int] | None:
    s = next((i for i, st in enumerate(steps) if st.kind == begin), None)
    e = next((i for i, st in enumerate(steps) if st.kind == end), None)
    return (s, e) if s is not None and e is not None else None


def people(seed: int, out: list[Step]) -> list[Step]:
    """What people do beside Core and the admin's intervals: a bookkeeper editing and deleting synced time
    entries inside QuickBooks and deactivating a worker's employee, the admin resolving drift findings,
    closing and reopening the books, switching to another QuickBooks company. Drawn apart and inserted
    between the steps of `out`, so adding them left every seed's earlier history as it was.

    An inserted interval [p1, p2) begins before out[p1] and ends before out[p2]."""
    rng = random.Random(f"ops-campaign-people:{seed}")
    n = len(out)
    busy = [sp for b, e in DRY_RUN_SPANS if (sp := _span(out, b, e))]
    every = [sp for b, e in ADMIN_PAIRS if (sp := _span(out, b, e))]
    inserts: dict[int, list[Step]] = {}
    taken: list[tuple[int, int]] = []  # the new intervals, as [p1, p2)

    def free(p1: int, p2: int, spans: list[tuple[int, int]]) -> bool:
        return all(p2 <= s or p1 > e for s, e in spans) and all(p2 <= a or p1 >= b for a, b in taken)

    for (begin, end), chance in zip(PEOPLE_PAIRS, (0.6, 0.6), strict=True):
        if rng.random() >= chance:
            continue
        for _ in range(50):
            length = rng.randint(2, 6)
            p1 = rng.randint(1, max(1, n - length))
            if free(p1, p1 + length, busy):
                taken.append((p1, p1 + length))
                args = {"days": rng.randint(0, 2)} if begin == "books_close" else {}
                how = rng.choice(["import", "sync_now"] if begin == "books_close" else ["import", "sync_now", "none"])
                inserts.setdefault(p1, []).append(Step(begin, args=args, pause=round(rng.uniform(0.2, 1.0), 3)))
                inserts.setdefault(p1 + length, []).append(Step(end, args={"how": how},
                                                                pause=round(rng.uniform(0.5, 1.5), 3)))
                break
    if rng.random() < 0.35:  # the admin moves the company to another QuickBooks company
        for _ in range(50):
            p = rng.randint(n // 3, max(n // 3, 2 * n // 3))
            if all(p <= s or p > e for s, e in every) and all(p < a or p > b for a, b in taken):
                inserts.setdefault(p, []).append(Step("switch", pause=round(rng.uniform(0.5, 1.5), 3)))
                break
    first_bk = n
    for kind, count in (("bk_edit", rng.randint(2, 4)), ("bk_delete", rng.choice([0, 1, 1, 2]))):
        for _ in range(count):
            p = rng.randint(n // 4, n)
            first_bk = min(first_bk, p)
            args: dict[str, Any] = {"pick": round(rng.random(), 4)}
            if kind == "bk_edit":
                args["what"] = rng.choice(["notes", "break", "both"])
            inserts.setdefault(p, []).append(Step(kind, args=args, pause=round(rng.uniform(0.5, 2.0), 3)))
    for _ in range(rng.randint(2, 4)):
        p = rng.randint(min(first_bk + 1, n), n)
        action = rng.choices(["push", "accept", "dismiss"], [0.45, 0.35, 0.2])[0]
        inserts.setdefault(p, []).append(Step("resolve", args={"pick": round(rng.random(), 4), "action": action},
                                              pause=round(rng.uniform(0.5, 2.0), 3)))
    merged: list[Step] = []
    for pos in range(n + 1):
        merged.extend(inserts.get(pos, []))
        if pos < n:
            merged.append(out[pos])
    return merged
