"""Matching quality: how often the mapping wizard's suggestions are right, by confidence band.

A generated messy directory (fixed seed): 500 CrewFlow workers against a QuickBooks employee list and
500 CrewFlow projects against a QuickBooks customer list (jobs under parents, "Parent:Job"), with the
true match of every record known. The CrewFlow side is written the way people write it: typos,
nicknames (Bob for Robert), other case, middle initials, "Reyes, Jack" order, missing or personal
emails, people who share a name, new hires with no QuickBooks record, jobs named without their parent
and job names that recur under several parents. Every record gets the suggestions the console shows
(directory.matching, as the wizard uses it: suggest() per record, then hold_shared() over the list), and the top one is scored.

Precision in a band = right top suggestions / top suggestions in that band. Recall at or above a band
= right top suggestions at or above it / records that have a true match. "Accept suggestions >= 90 %"
accepts exactly the band(s) at or above BULK_ACCEPT, so its precision must be 100 %.

    .venv/bin/python bench/matching_quality.py            # 500 + 500, seed 18
    .venv/bin/python bench/matching_quality.py --seed 7   # another directory
No database, no network: pure functions, a few seconds.
"""

from __future__ import annotations

import argparse
import random
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qbo_integration.directory import matching as matcher
from qbo_integration.directory.service import DirEntry

BULK_ACCEPT: float = matcher.BULK_ACCEPT
hold_shared = matcher.hold_shared
BANDS = [(0.95, 1.01, "95-100 %"), (0.90, 0.95, "90-94 %"), (0.80, 0.90, "80-89 %"), (0.70, 0.80, "70-79 %"),
         (0.0, 0.70, "< 70 %")]

FIRST = ("Robert William James Michael Thomas Richard David Daniel Joseph Christopher Katherine Elizabeth "
         "Jennifer Susan Anthony Steven Matthew Nicholas Patrick Samuel Andrew Edward Gregory John Margaret "
         "Rebecca Benjamin Charles Kenneth Timothy Maria Ana Luis Carlos Jorge Sofia Lucia Diego Pedro Rosa "
         "Aisha Omar Wei Mei Hiroshi Yuki Priya Ravi Olga Ivan Fatima Noah Emma Olivia Liam Ava Mason Chloe "
         "Ethan Grace Lucas Zoe Henry Nora Owen Ruby Caleb Ivy Isaac Leah Gavin Tessa").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
        "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Reyes Bennett Okafor Kowalski Novak Schmidt "
        "Fischer Rossi Ferrari Sato Tanaka Kim Park Chen Wang Singh Patel Khan Ali Ivanov Petrov Dubois Moreau "
        "Larsen Jensen Silva Santos Costa Oliveira Murphy Kelly Byrne Walsh").split()
NICK = {"Robert": "Bob", "William": "Bill", "James": "Jim", "Michael": "Mike", "Thomas": "Tom", "Richard": "Rick",
        "Katherine": "Kate", "Elizabeth": "Liz", "Joseph": "Joe", "Daniel": "Dan", "Christopher": "Chris",
        "Anthony": "Tony", "Edward": "Ted", "John": "Jack", "Margaret": "Peggy", "Samuel": "Sam"}
COMPANY = ("Summit Ridge Harbor Cedar Granite Maple Pioneer Frontier Lakeside Riverside Oakwood Pinecrest "
           "Stonegate Westfield Northgate Brookside Highland Meadow Valley Canyon Prairie Coastal Metro "
           "Eagle Falcon Willow Aspen Birch Copper Silver").split()
KIND = "Builders Homes Properties Holdings Development Realty Partners Group Construction Contractors".split()
JOBS = ("Kitchen Remodel|Bathroom Remodel|Phase 1|Phase 2|Phase 3|Roof Replacement|Basement Finish|Deck|"
        "Garage Addition|Warehouse Expansion|Lobby Renovation|Tenant Improvement|Parking Structure|"
        "Site Work|Foundation|Framing Package|Window Retrofit|HVAC Upgrade|Exterior Paint|Landscaping").split("|")


@dataclass
class Case:
    name: str
    email: str | None
    truth: str | None  # the QuickBooks id it should map to, None when it has no QuickBooks record
    noise: str


def typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, max(2, len(word) - 1))
    how = rng.choice(("swap", "drop", "double", "sub"))
    if how == "swap" and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if how == "drop":
        return word[:i] + word[i + 1:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]


def people(rng: random.Random, n_workers: int) -> tuple[list[DirEntry], list[Case]]:
    emps: list[DirEntry] = []
    cases: list[Case] = []
    used: set[str] = set()

    def employee(first: str, last: str, middle: str | None, with_email: bool) -> DirEntry:
        qid = str(len(emps) + 1)
        display = f"{first} {middle + '. ' if middle else ''}{last}"
        email = f"{first[0].lower()}{last.lower()}{qid}@summitridge.test" if with_email else None
        e = DirEntry("Employee", qid, display, email, True, False, False)
        emps.append(e)
        return e

    def fresh_name() -> tuple[str, str]:
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if f"{first} {last}" not in used:
                used.add(f"{first} {last}")
                return first, last

    noises = ["clean", "case", "middle", "reorder", "nickname", "typo", "typo", "spacing", "personal email"]
    n_dupes, n_new = 12, 30
    for _ in range(n_workers - 2 * n_dupes - n_new):
        first, last = fresh_name()
        noise = rng.choice(noises)
        if noise == "nickname" and first not in NICK:
            noise = "typo"
        middle = rng.choice(string.ascii_uppercase) if noise == "middle" or rng.random() < 0.15 else None
        e = employee(first, last, middle, rng.random() < 0.6)
        name = {"clean": f"{first} {last}", "case": rng.choice((f"{first} {last}".upper(), f"{first} {last}".lower())),
                "middle": f"{first} {last}", "reorder": f"{last}, {first}", "nickname": f"{NICK.get(first, first)} {last}",
                "typo": f"{typo(rng, first)} {last}" if rng.random() < 0.5 else f"{first} {typo(rng, last)}",
                "spacing": f" {first}  {last} ", "personal email": f"{first} {last}"}[noise]
        if noise == "personal email":
            email: str | None = f"{first.lower()}.{last.lower()}@gmail.test"
        else:
            email = e.email.upper() if e.email and rng.random() < 0.5 else None  # half the workers have no email
        cases.append(Case(name, email, e.qbo_id, noise))
    for _ in range(n_dupes):  # two different people with one name, both in both systems
        first, last = fresh_name()
        a, b = employee(first, last, None, True), employee(first, last, None, rng.random() < 0.5)
        cases.append(Case(f"{first} {last}", a.email, a.qbo_id, "same name, email"))
        cases.append(Case(f"{first} {last}", None, b.qbo_id, "same name, no email"))
    for i in range(n_new):  # new hires not in QuickBooks yet; a third share a name with someone who is
        if i % 3 == 0 and cases:
            other = rng.choice([c for c in cases if c.noise == "clean"])
            cases.append(Case(other.name, f"newhire{i}@gmail.test", None, "new hire, namesake"))
        else:
            first, last = fresh_name()
            cases.append(Case(f"{first} {last}", None, None, "new hire"))
    for _ in range(40):  # office staff: in QuickBooks only
        first, last = fresh_name()
        employee(first, last, None, True)
    return emps, cases


def customers(rng: random.Random, n_projects: int) -> tuple[list[DirEntry], list[Case]]:
    custs: list[DirEntry] = []
    cases: list[Case] = []

    def customer(name: str) -> DirEntry:
        c = DirEntry("Customer", str(len(custs) + 1), name, None, True, False, False)
        custs.append(c)
        return c

    parents: list[str] = []
    while len(parents) < 160:
        p = f"{rng.choice(COMPANY)} {rng.choice(KIND)}"
        if p not in parents:
            parents.append(p)
    n_new = 25
    while len(cases) < n_projects - n_new:
        parent = rng.choice(parents)
        if rng.random() < 0.25 and not any(c.name == parent for c in custs):
            target = customer(parent)
            noise = rng.choice(("clean", "case", "typo", "punctuation"))
            name = {"clean": parent, "case": parent.lower(), "typo": f"{parent.split()[0]} {typo(rng, parent.split()[1])}",
                    "punctuation": parent.replace(" ", "-") + "."}[noise]
            cases.append(Case(name, None, target.qbo_id, f"customer {noise}"))
            continue
        job = rng.choice(JOBS)
        full = f"{parent}:{job}"
        if any(c.name == full for c in custs):
            continue
        target = customer(full)
        noise = rng.choice(("job only", "parent - job", "case", "typo"))
        name = {"job only": job, "parent - job": f"{parent} - {job}", "case": f"{parent}: {job}".upper(),
                "typo": f"{parent} - {typo(rng, job)}"}[noise]
        cases.append(Case(name, None, target.qbo_id, f"job {noise}"))
    for i in range(n_new):  # projects not in QuickBooks yet
        cases.append(Case(f"{rng.choice(COMPANY)} {rng.choice(JOBS)} {i}", None, None, "new project"))
    for _ in range(30):
        customer(f"{rng.choice(COMPANY)} {rng.choice(KIND)} {rng.randrange(100, 999)}")
    return custs, cases


def score(cases: Sequence[Case], candidates: Sequence[DirEntry], *, emails: bool) -> tuple[list[list[Any]], list[Any]]:
    indexed = matcher.pool(candidates)
    rows = hold_shared([matcher.suggest(c.name, c.email if emails else None, indexed) for c in cases])
    return [[c.truth, r[0] if r else None] for c, r in zip(cases, rows, strict=True)], rows


def report(title: str, cases: Sequence[Case], candidates: Sequence[DirEntry], *, emails: bool) -> dict[str, Any]:
    scored, _ = score(cases, candidates, emails=emails)
    matchable = sum(1 for c in cases if c.truth)
    print(f"\n== {title}: {len(cases)} CrewFlow records, {matchable} with a true match, {len(candidates)} QuickBooks records")
    print(f"  {'band':>9}  {'top guesses':>11}  {'right':>5}  {'wrong':>5}  {'precision':>9}  {'recall at or above':>18}")
    cum_right = 0
    out: dict[str, Any] = {}
    for lo, hi, label in BANDS:
        inband = [(truth, s) for truth, s in scored if s is not None and lo <= s.confidence < hi]
        right = sum(1 for truth, s in inband if truth == s.qbo_id)
        cum_right += right
        prec = f"{100 * right / len(inband):.1f} %" if inband else "—"
        print(f"  {label:>9}  {len(inband):>11}  {right:>5}  {len(inband) - right:>5}  {prec:>9}  "
              f"{100 * cum_right / matchable:>16.1f} %")
        out[label] = (len(inband), right)
    none = sum(1 for _, s in scored if s is None)
    print(f"  {'no guess':>9}  {none:>11}")
    bulk = [(truth, s) for truth, s in scored if s is not None and s.confidence >= BULK_ACCEPT]
    wrong = [(truth, s) for truth, s in bulk if truth != s.qbo_id]
    right = len(bulk) - len(wrong)
    print(f"  bulk accept (>= {BULK_ACCEPT:.0%}): {len(bulk)} accepted, {len(wrong)} wrong, precision "
          f"{100 * right / len(bulk) if bulk else 100:.1f} %, recall {100 * right / matchable:.1f} %")
    by_noise: dict[str, Counter[str]] = {}
    for c, (truth, s) in zip(cases, scored, strict=True):
        k = by_noise.setdefault(c.noise, Counter())
        k["n"] += 1
        if s is not None and s.confidence >= BULK_ACCEPT:
            k["bulk right" if s.qbo_id == truth else "bulk wrong"] += 1
        elif s is not None and s.qbo_id == truth:
            k["right, below bulk"] += 1
    print("  by kind of mess:  kind: records / accepted in bulk (wrong) / right top guess below bulk")
    for noise, k in sorted(by_noise.items()):
        print(f"    {noise}: {k['n']} / {k['bulk right'] + k['bulk wrong']} ({k['bulk wrong']}) / {k['right, below bulk']}")
    return out


def messy_directory(description: str) -> tuple[int, list[DirEntry], list[Case], list[DirEntry], list[Case]]:
    """The command line (--seed, --workers, --projects) and the directory it asks for: (seed, QuickBooks
    employees, CrewFlow workers, QuickBooks customers, CrewFlow projects). bench/import_quality.py uses it too."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--workers", type=int, default=500)
    ap.add_argument("--projects", type=int, default=500)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    emps, workers = people(rng, args.workers)
    custs, projects = customers(rng, args.projects)
    return args.seed, emps, workers, custs, projects


def main() -> None:
    seed, emps, workers, custs, projects = messy_directory(__doc__.split("\n")[0])
    print(f"matching quality, seed {seed}, bulk-accept threshold {BULK_ACCEPT:.0%}")
    report("Workers -> Employees", workers, emps, emails=True)
    report("Projects -> Customers", projects, custs, emails=False)


if __name__ == "__main__":
    main()
