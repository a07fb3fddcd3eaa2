"""The matching rule: how a CrewFlow name (and email) finds its QuickBooks record. Exact email, the same
name (case, spacing, punctuation and "Last, First" order do not matter), the same name written another
way (nickname, middle initial, a job known by its own name under its parent), then a similar name
(rapidfuzz, as written or written another way), each with a confidence. Pure functions.

One rule for both users: the mapping wizard's suggestions (mapping.suggest) and the directory import,
which links a QuickBooks record to an existing CrewFlow record only where the wizard would accept the
suggestion in bulk (directory.linking).

A suggestion at or above BULK_ACCEPT may be accepted in bulk, so nothing that can be wrong gets there:
a name that two candidates share, a candidate that two CrewFlow records both point at, and a name whose
emails disagree are all held below it (bench/matching_quality.py measures this)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from rapidfuzz import fuzz, process

from qbo_integration.directory.service import DirEntry

BULK_ACCEPT = 0.9  # "Accept suggestions ≥ 90 %" in the console
FUZZY_MIN = 80  # rapidfuzz score (0-100) below which a name is not suggested
FUZZY_MIN_WRITTEN = 85  # the same for names as written (nicknames, middle initials kept): more noise, a higher bar
FUZZY_CAP = 0.85  # a typo is never sure enough to accept in bulk
UNSURE = 0.8  # where an exact-looking match is held when something contradicts it
MAX_SUGGESTIONS = 3
# A similar name: its words in any order (token_sort_ratio), or as written (ratio), since sorting puts a
# typo'd word on the other side of its neighbour ("liam wylsh" sorts as written, "liam walsh" does not).
SCORERS = (fuzz.token_sort_ratio, fuzz.ratio)

CONFIDENCE = {"email": 1.0, "name": 0.95, "variant": 0.9}

# Common English short forms → the formal first name (both sides are reduced to the formal one).
_NICKNAMES = {
    "robert": "bob bobby rob robbie bert", "william": "bill billy will willy liam", "james": "jim jimmy jamie",
    "michael": "mike mikey mick", "thomas": "tom tommy", "richard": "rick ricky rich dick", "david": "dave davey",
    "daniel": "dan danny", "joseph": "joe joey", "christopher": "chris", "katherine": "kate katie kathy cathy",
    "elizabeth": "liz lizzie beth betty", "jennifer": "jen jenny", "susan": "sue susie", "anthony": "tony",
    "steven": "steve", "matthew": "matt", "nicholas": "nick nicky", "patrick": "pat", "samuel": "sam",
    "alexander": "alex", "andrew": "andy drew", "edward": "ed eddie ted", "gregory": "greg", "john": "jack johnny",
    "margaret": "maggie peggy meg", "rebecca": "becky", "deborah": "deb debbie", "benjamin": "ben benny",
    "charles": "charlie chuck", "kenneth": "ken kenny", "timothy": "tim timmy", "jonathan": "jon",
    "francisco": "paco", "jose": "pepe", "guillermo": "memo", "roberto": "beto",
    "victoria": "vicky tori", "abigail": "abby", "patricia": "patty trish", "jessica": "jess jessie",
    "raymond": "ray", "ronald": "ron ronnie", "donald": "don donnie", "lawrence": "larry", "gerald": "jerry",
    "jeffrey": "jeff", "stephanie": "steph", "samantha": "sammy", "zachary": "zach zack", "joshua": "josh",
}
NICKNAMES = {nick: formal for formal, nicks in _NICKNAMES.items() for nick in nicks.split()}

_PUNCT = re.compile(r"[^\w\s]")


def normalise(text: str | None) -> str:
    """casefold, trimmed, whitespace collapsed: the key for emails."""
    return " ".join((text or "").split()).casefold()


@dataclass(frozen=True)
class Suggestion:
    qbo_id: str
    name: str
    email: str | None
    confidence: float
    reason: str  # email | name | variant | fuzzy (| ambiguous | shared | email differs when held back)
    linked_to: str | None = None  # the CrewFlow record this QBO record is already linked to


def _plain(text: str) -> str:
    """casefolded, accents and punctuation gone, "&" → "and", whitespace collapsed."""
    t = unicodedata.normalize("NFKD", text.replace("&", " and "))
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return " ".join(_PUNCT.sub(" ", t).split()).casefold()


@lru_cache(maxsize=65536)
def name_key(name: str) -> str:
    """The exact key: case, spacing and punctuation do not matter, nor "Reyes, Jack" order."""
    if name.count(",") == 1:
        last, first = name.split(",")
        if first.strip() and last.strip():
            name = f"{first} {last}"
    return _plain(name)


@lru_cache(maxsize=65536)
def variant_key(name: str) -> str:
    """The same person spelled another way: no middle initials, nicknames as the formal name."""
    words = [w for w in name_key(name).split() if len(w) > 1]
    if words:
        words[0] = NICKNAMES.get(words[0], words[0])
    return " ".join(words)


def leaf(name: str) -> str:
    """A QBO sub-customer is "Parent:Job"; CrewFlow often knows the job by its own name."""
    return name.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Pool:
    """Candidates indexed once, for many suggest() calls over the same list (a page of suggestions, an
    import): the same answers as a pass over every candidate per name, without that pass."""

    entries: tuple[DirEntry, ...]
    emails: dict[str, list[int]]  # normalised email → indices, in the candidates' order
    keys: dict[str, dict[str, list[int]]]  # "name" / "variant" → key of the name or, for "Parent:Job", its leaf → indices
    fuzzy: tuple[list[str], list[str]]  # every candidate's variant key: of its name, of its leaf
    # every candidate's exact key (of its name, of its leaf): all of them, and those that differ from the
    # candidate's variant key (all a name needs whose own two keys agree)
    written: tuple[dict[int, str], dict[int, str]]
    written_apart: tuple[dict[int, str], dict[int, str]]


def pool(candidates: Sequence[DirEntry] | Pool) -> Pool:
    if isinstance(candidates, Pool):
        return candidates
    entries = tuple(candidates)
    emails: dict[str, list[int]] = {}
    keys: dict[str, dict[str, list[int]]] = {"name": {}, "variant": {}}
    for i, c in enumerate(entries):
        if c.email:
            emails.setdefault(normalise(c.email), []).append(i)
        for level, keyf in (("name", name_key), ("variant", variant_key)):
            for k in {keyf(c.name)} | ({keyf(leaf(c.name))} if ":" in c.name else set()):
                keys[level].setdefault(k, []).append(i)
    fuzzy = ([variant_key(c.name) for c in entries], [variant_key(leaf(c.name)) for c in entries])
    written = ({i: name_key(c.name) for i, c in enumerate(entries)},
               {i: name_key(leaf(c.name)) for i, c in enumerate(entries)})
    apart = ({i: k for i, k in written[0].items() if k != fuzzy[0][i]},
             {i: k for i, k in written[1].items() if k != fuzzy[1][i]})
    return Pool(entries, emails, keys, fuzzy, written, apart)


def suggest(name: str, email: str | None, candidates: Sequence[DirEntry] | Pool, *,
            limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
    """The likeliest candidates for this name (and email), best first. Pass a Pool when asking about
    many names over the same candidates."""
    p = pool(candidates)
    out: dict[str, Suggestion] = {}
    found: set[int] = set()

    def add(i: int, confidence: float, reason: str) -> None:
        c = p.entries[i]
        if c.qbo_id not in out:
            out[c.qbo_id] = Suggestion(c.qbo_id, c.name, c.email, confidence, reason)
            found.add(i)

    if email:
        for i in p.emails.get(normalise(email), []):
            add(i, CONFIDENCE["email"], "email")
    exact, variant = name_key(name), variant_key(name)
    for level, want in (("name", exact), ("variant", variant)):
        for i in p.keys[level].get(want, []) if want else []:
            add(i, CONFIDENCE[level], level)
    if len(out) < limit and exact:
        best: dict[int, float] = {}
        query = variant or exact
        # Names as written too: a variant key makes "Jack" "John", so "Jac Silva" misses "Jack Silva". Where
        # both keys agree on both sides, the variant pass has already scored the pair.
        written = p.written if exact != query else p.written_apart
        passes = [(query, FUZZY_MIN, keys) for keys in p.fuzzy] + [(exact, FUZZY_MIN_WRITTEN, w) for w in written]
        for asked, cutoff, keys in passes:  # the best `limit` of those not found above, per candidate its best
            for scorer in SCORERS:
                ranked = process.extract(asked, keys, scorer=scorer, score_cutoff=cutoff, limit=limit + len(found))
                for _, score, idx in [r for r in ranked if r[2] not in found][:limit]:
                    best[idx] = max(best.get(idx, 0.0), score)
        for idx, score in sorted(best.items(), key=lambda kv: -kv[1])[:limit]:
            add(idx, round(min(score / 100 * 0.9, FUZZY_CAP), 2), "fuzzy")
    ranked_out = sorted((_doubt(s, email) for s in out.values()), key=lambda s: -s.confidence)
    sure = [s for s in ranked_out if s.confidence >= BULK_ACCEPT]
    if len(sure) > 1 and not (sure[0].reason == "email" != sure[1].reason):  # two records answer: a person chooses
        ranked_out = [replace(s, confidence=min(s.confidence, UNSURE), reason="ambiguous") if s in sure else s
                      for s in ranked_out]
    return ranked_out[:limit]


def _doubt(s: Suggestion, email: str | None) -> Suggestion:
    """A name match whose emails are both known and differ is probably a namesake."""
    if s.reason != "email" and email and s.email and normalise(email) != normalise(s.email):
        return replace(s, confidence=min(s.confidence, UNSURE - 0.1), reason="email differs")
    return s


def hold_shared(rows: list[list[Suggestion]]) -> list[list[Suggestion]]:
    """Two CrewFlow records whose best guess is the same QBO record: at most one is right, so neither
    best guess stays bulk-acceptable."""
    tops = Counter(r[0].qbo_id for r in rows if r and r[0].confidence >= BULK_ACCEPT)
    return [[replace(s, confidence=min(s.confidence, UNSURE), reason="shared") if i == 0 and tops[s.qbo_id] > 1
             else s for i, s in enumerate(r)] for r in rows]
