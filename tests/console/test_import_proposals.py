"""The import links, never duplicates, in the browser at 1280 and 375 px.

* The demo as `scripts/dev` seeds it (the realm's first six employees as CrewFlow workers, the sixth in
  capitals with no email: "TOM BENNETT", owning approved timecards), connected and imported: the mapping
  page shows him linked to QuickBooks' Tom Bennett, and there is one Tom Bennett, not two.
* What the import could not place for sure is asked first on the mapping page (Link / Create a new worker /
  Skip), and a worker it made twice is merged back; each answer's result shows where the click was."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import connect_realm
from tests.console.conftest import WIDTHS
from tests.console.flows import new_realm, script_errors, sign_in, wait_for_text
from tests.mapping import factories as f
from tests.mapping.test_import_links import apply, customer, employee

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]


async def _demo(sandbox, sessionmaker, settings):
    """The dev stack's demo company on a fresh sample realm whose sixth active employee is Tom Bennett."""
    from qbo_integration.core_platform.demo_seed import DEMO_BILL_RATE, DEMO_PAY_RATE, seed_demo_company
    from qbo_integration.core_platform.models import Company
    from qbo_integration.devstack.dev import demo_directory
    from qbo_integration.mapping.profiles import seed_default_rates

    realm = await new_realm(sandbox, "Summit Ridge Construction")
    admin = f"/_sandbox/realms/{realm['realmId']}/entities"

    async def items(entity: str) -> list[dict]:
        return (await sandbox.get(f"{admin}/{entity}")).json()["items"]

    active = [e for e in await items("Employee") if e.get("Active", True)]
    for e in active[:5] + active[6:]:  # nobody else is a Tom Bennett
        if e["DisplayName"].casefold() == "tom bennett":
            await sandbox.post(f"{admin}/Employee", json={"Id": e["Id"], "DisplayName": f"Other Person {e['Id']}"})
    await sandbox.post(f"{admin}/Employee", json={"Id": active[5]["Id"], "DisplayName": "Tom Bennett",
                                                  "GivenName": "Tom", "FamilyName": "Bennett"})
    seed = demo_directory(await items("Employee"), await items("Customer"), await items("Item"))
    assert seed["workers"][5] == ("TOM BENNETT", None)
    async with sessionmaker() as s:
        company_id = await seed_demo_company(s, **seed)
        await seed_default_rates(s, company_id, bill_rate=DEMO_BILL_RATE, pay_rate=DEMO_PAY_RATE)
        await s.commit()
        company = await s.get(Company, company_id)
    return await connect_realm(company, sessionmaker, settings, sandbox, realm), active[5]["Id"]


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_the_demos_TOM_BENNETT_is_linked_not_duplicated(viewport, probe_at, live, sandbox, sessionmaker,
                                                              settings, services, redis, make_token):
    from qbo_integration.core_platform.models import User
    from qbo_integration.directory import import_flow
    from qbo_integration.mapping.profiles import profile_targets
    from qbo_integration.worker.queue import JobQueue, open_pool

    cc, tom_qbo = await _demo(sandbox, sessionmaker, settings)
    cid = cc.company_id
    async with sessionmaker() as s:
        tom = (await s.execute(select(User).where(User.company_id == cid, User.name == "TOM BENNETT"))).scalar_one()
    pool = await open_pool(settings.redis_url)
    try:  # the first import, as connecting queues it (run here instead of by a worker)
        done = await import_flow.run_import(sessionmaker, services.qbo, JobQueue(pool), cid, mapped=profile_targets,
                                            trigger="connect")
    finally:
        await pool.aclose()
    assert done["status"] == "completed", done

    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "mapping")
    row = f".crew-row[data-id='{tom.id}']"
    await page.wait_for_selector(f"{row} .chip[data-qbo-id='{tom_qbo}']")
    chip = await page.text_content(f"{row} .chip")
    assert "Tom Bennett" in chip and "(linked by import)" in chip
    assert await page.is_visible(f"{row} .chip")
    names = [n.strip().casefold() for n in await page.locator("#board .crew-row .crew-name strong").all_text_contents()]
    assert names.count("tom bennett") == 1, names  # one Tom Bennett: no second worker was made
    # his approved timecards are there to test with, under the worker that is linked
    assert "Tom Bennett" in " ".join(await page.locator("#test-timecard option").all_text_contents())
    assert await page.locator("#proposals .proposal").count() == 0  # nothing left to ask
    async with sessionmaker() as s:
        toms = (await s.execute(select(User.id).where(User.company_id == cid,
                                                      User.external_ids["qbo"].astext == tom_qbo))).scalars().all()
    assert toms == [tom.id]
    assert not script_errors(probe)


async def _questions(sessionmaker, cid):
    """Two QuickBooks Maria Garcias for one CrewFlow Maria Garcia (no email), a project that only resembles
    one, and the ghost an earlier import left: a "Tom Bennett" it made beside TOM BENNETT."""
    async with sessionmaker() as s:
        maria = f.add_worker(s, cid, "Maria Garcia")
        tom = f.add_worker(s, cid, "TOM BENNETT")
        ghost = f.add_worker(s, cid, "Tom Bennett", "tom.bennett@example.com", qbo="5")
        job = f.add_project(s, cid, "Riverside Lofts")
        await s.flush()
        f.add_timecard(s, cid, tom, job)
        await s.commit()
    await apply(sessionmaker, cid, [employee("1", "Maria Garcia", "maria@a.test"),
                                    employee("2", "Maria Garcia", "mgarcia@b.test"),
                                    employee("5", "Tom Bennett", "tom.bennett@example.com")],
                [customer("12", "Riverside Lofts Phase 2")])
    return maria, tom, ghost


@pytest.mark.parametrize("viewport", WIDTHS)
async def test_questions_come_first_and_each_answer_shows_where_it_was_given(viewport, probe_at, live,
                                                                            connected_company, sessionmaker,
                                                                            make_token):
    from qbo_integration.core_platform.models import User

    cid = connected_company.company_id
    maria, tom, ghost = await _questions(sessionmaker, cid)
    probe = await probe_at(viewport)
    page = probe.page
    await sign_in(probe, live, make_token(cid), "mapping")
    await page.wait_for_selector("#proposals .proposal")
    # first on the page, above the import panel
    panels = page.locator("#mapping-body section.panel")
    assert "Questions from the QuickBooks import" in await panels.first.text_content()
    assert "4 QuickBooks record(s) need your answer" in await page.text_content("#proposals")
    width = viewport["width"]
    await probe.shot(f"mapping-proposals-{width}", full_page=False)
    for button in await page.locator("#proposals button").all():  # every button whole on the screen
        box = await button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (await button.text_content(), box)
    assert await page.evaluate("() => { const e = document.querySelector('#proposals'); "
                               "return e.scrollWidth <= e.clientWidth; }")

    # merge back the ghost: the link moves to TOM BENNETT, the empty Tom Bennett is deactivated
    merge = page.locator(f"#proposals .merge[data-from-id='{ghost.id}']")
    assert "is linked to Tom Bennett, a CrewFlow worker with no timecards. Is it TOM BENNETT?" in \
        await merge.text_content()
    await merge.locator("button", has_text="Link to TOM BENNETT and deactivate the empty Tom Bennett").click()
    await wait_for_text(page, "#proposals-note", "Merged: QuickBooks' Tom Bennett is now TOM BENNETT")
    await page.wait_for_function("document.activeElement && document.activeElement.id === 'proposals-note'")

    # Maria: the first QuickBooks Maria Garcia is her
    first = page.locator("#proposals .proposal:not(.merge)").filter(has_text="QuickBooks has Maria Garcia").first
    await first.wait_for()
    assert await first.locator("button", has_text="Create a new worker").is_visible()
    assert await first.locator("button", has_text="Skip").is_visible()
    await first.locator("button", has_text="Link to Maria Garcia").click()
    await wait_for_text(page, "#proposals-note", "Linked: QuickBooks' Maria Garcia is Maria Garcia in CrewFlow.")
    await page.wait_for_selector(f".crew-row[data-id='{maria.id}'] .chip[data-qbo-id='1']")

    # the second is someone else: Maria is taken, so a new worker is made for it
    second = page.locator("#proposals .proposal:not(.merge)").filter(has_text="QuickBooks has Maria Garcia")
    await second.locator("button", has_text="Create a new worker").click()
    await wait_for_text(page, "#proposals-note", "Created the CrewFlow worker Maria Garcia")
    names = [n.strip() for n in await page.locator("#board .crew-row .crew-name strong").all_text_contents()]
    assert names.count("Maria Garcia") == 2

    # the project that only resembles Riverside Lofts: skipped, and nothing is left to answer
    await page.locator("#proposals .proposal", has_text="QuickBooks has Riverside Lofts Phase 2") \
        .locator("button", has_text="Skip").click()
    await wait_for_text(page, "#proposals-note", "Skipped: QuickBooks' Riverside Lofts Phase 2 stays unlinked")
    await wait_for_text(page, "#proposals", "Nothing left to answer.")
    assert await page.locator("#proposals .proposal").count() == 0

    async with sessionmaker() as s:
        rows = {u.id: u for u in (await s.execute(select(User).where(User.company_id == cid))).scalars()}
    assert (rows[tom.id].external_ids, rows[ghost.id].active, rows[ghost.id].external_ids) == ({"qbo": "5"}, False, {})
    assert rows[maria.id].external_ids == {"qbo": "1"}
    assert not script_errors(probe)
