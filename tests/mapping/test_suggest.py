"""suggest(): the matching rules on their own (pure functions, no database)."""

from __future__ import annotations

from qbo_integration.directory.matching import BULK_ACCEPT, hold_shared, name_key, suggest, variant_key
from qbo_integration.directory.service import DirEntry


def emp(qbo_id: str, name: str, email: str | None = None, entity: str = "Employee") -> DirEntry:
    return DirEntry(entity, qbo_id, name, email, True, False, False)


def test_order_case_punctuation_are_exact_and_nicknames_middle_initials_are_variants():
    assert name_key("Reyes, Jack") == name_key("jack  REYES") == "jack reyes"
    assert variant_key("Bob J. Smith") == variant_key("Robert Smith") == "robert smith"
    top = suggest("Reyes, Jack", None, [emp("1", "Jack Reyes"), emp("2", "Jackie Reyes")])[0]
    assert (top.qbo_id, top.reason, top.confidence) == ("1", "name", 0.95)
    top = suggest("Bob Smith", None, [emp("1", "Robert T. Smith"), emp("2", "Rob Smithers")])[0]
    assert (top.qbo_id, top.reason) == ("1", "variant") and top.confidence >= BULK_ACCEPT


def test_a_name_two_records_share_is_not_bulk_acceptable():
    out = suggest("Maria Garcia", None, [emp("1", "Maria Garcia"), emp("2", "maria garcia")])
    assert {s.qbo_id for s in out} == {"1", "2"}
    assert all(s.confidence < BULK_ACCEPT and s.reason == "ambiguous" for s in out)
    # an email settles it
    out = suggest("Maria Garcia", "mg@x.test", [emp("1", "Maria Garcia"), emp("2", "Maria Garcia", "MG@x.test")])
    assert out[0].qbo_id == "2" and out[0].confidence == 1.0


def test_a_namesake_with_another_email_and_a_typo_stay_below_bulk_accept():
    out = suggest("Tom Bennett", "tom@a.test", [emp("1", "Tom Bennett", "tbennett@b.test")])
    assert out[0].confidence < BULK_ACCEPT and out[0].reason == "email differs"
    out = suggest("Tom Benett", None, [emp("1", "Tom Bennett")])
    assert out[0].reason == "fuzzy" and out[0].confidence < BULK_ACCEPT


def test_jobs_match_by_their_own_name_under_a_parent():
    out = suggest("Kitchen remodel", None, [emp("7", "Amy Lee:Kitchen Remodel", entity="Customer")])
    assert out[0].qbo_id == "7" and out[0].confidence >= BULK_ACCEPT
    out = suggest("Phase 2", None, [emp("7", "Lee:Phase 2", entity="Customer"), emp("8", "Ng:Phase 2", entity="Customer")])
    assert all(s.confidence < BULK_ACCEPT for s in out)


def test_two_records_pointing_at_one_candidate_are_both_held():
    rows = hold_shared([suggest("Tom Bennett", None, [emp("1", "Tom Bennett")]),
                        suggest("TOM BENNETT", None, [emp("1", "Tom Bennett")]),
                        suggest("Ann Oak", None, [emp("2", "Ann Oak")])])
    assert [r[0].reason for r in rows] == ["shared", "shared", "name"]
    assert rows[0][0].confidence < BULK_ACCEPT and rows[2][0].confidence >= BULK_ACCEPT


def test_a_typo_that_sorts_a_word_elsewhere_is_still_similar():
    # "walsh" sorts before "william" (Liam's formal name), "wylsh" after it: words in any order alone miss it
    top = suggest("Liam Wylsh", None, [emp("1", "Liam Walsh"), emp("2", "Omar Khan")])
    assert [(s.qbo_id, s.reason) for s in top] == [("1", "fuzzy")] and top[0].confidence < BULK_ACCEPT


def test_a_typo_in_a_nickname_is_still_similar():
    # "jack" is John's nickname: "jac silva" is far from "john silva", close to "jack silva" as written
    staff = [emp("1", "Jack Silva"), emp("2", "Omar Khan"), emp("3", "John Reyes"), emp("4", "Maria Santos")]
    top = suggest("Jac Silva", None, staff)
    assert top and (top[0].qbo_id, top[0].reason) == ("1", "fuzzy") and 0.7 < top[0].confidence < 0.95
    assert top[0].confidence < BULK_ACCEPT
