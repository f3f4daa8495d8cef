"""Facilitation in real Chromium, on a phone and a desktop: a manager introduces a colleague
from the call page and the introduced colleague finds it waiting on their home page with the
manager's note; a new colleague opens an ambassador's link, signs in, and lands on a profile
that says how complete it is. Screenshots go to test-artifacts/screenshots."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select, update

from askhub.people.ambassadors import appoint
from models import Person, Role
from models.db import create_engine, session_factory
from tests.browser import test_journeys as journeys
from tests.browser.conftest import PASSWORD, VIEWPORTS, Server
from tests.browser.test_journeys import AsPerson, Shot, assert_fits, post_call

# The journeys' fixtures: a viewport each, signed-in pages per person, screenshots.
viewport = journeys.viewport
people = journeys.people
as_person = journeys.as_person
shot = journeys.shot

pytestmark = pytest.mark.db


async def _prepare(server: Server) -> str:
    """Eva is a manager; Amy an ambassador (her link's code is returned); a new colleague
    with a password and nothing else on their profile."""
    from askhub.web.accounts import set_password

    engine = create_engine(server.settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(Person).where(Person.handle == "eva.brown").values(role=Role.MANAGER)
            )
            eva = await session.scalar(select(Person).where(Person.handle == "eva.brown"))
            amy = await session.scalar(select(Person).where(Person.handle == "amy.chen"))
            assert eva is not None and amy is not None
            found = await appoint(session, eva, amy)
            if await session.scalar(select(Person).where(Person.handle == "nieuw")) is None:
                newcomer = Person(handle="nieuw", name="Nieuwe Collega")
                session.add(newcomer)
                await session.flush()
                await set_password(session, newcomer, PASSWORD)
            return found.code
    finally:
        await engine.dispose()


async def test_a_manager_introduces_and_a_newcomer_arrives_through_an_ambassador(
    browser: Any, server: Server, viewport: str, shot: Shot, as_person: AsPerson
) -> None:
    from playwright.async_api import expect

    code = await _prepare(server)
    asker = await as_person("asker")
    call_url = await post_call(asker, f"Wie kent de uitrol van glasvezel in Zwolle? ({viewport})")

    eva = await as_person("eva.brown")
    await eva.goto(call_url)
    form = eva.locator("#introduce")
    await expect(form).to_be_visible()
    await eva.fill("#introduce-person", "joost.smit")
    note = f"Joost deed de labtesten voor Zwolle ({viewport})."
    await eva.fill("#introduce-note", note)
    await form.locator('button[type="submit"]').click()
    await expect(eva.locator(".flash, [role=status]").first).to_contain_text("Introduced.")
    await assert_fits(eva)
    await shot(eva, "call-introduced")

    # Joost was never asked on this call before: it waits for him now, with why.
    context = await browser.new_context(base_url=server.url, **VIEWPORTS[viewport])
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#handle", "joost.smit")
    await page.fill("#password", PASSWORD)
    await page.click('form[action="/login"] button[type="submit"]')
    await page.wait_for_url(f"{server.url}/")
    card = page.locator("li.card", has_text=f"({viewport})")
    await expect(card).to_contain_text("Eva Brown")
    await expect(card).to_contain_text(note)
    await context.close()

    # A newcomer opens Amy's link: sign in first, then the profile with what is missing.
    context = await browser.new_context(base_url=server.url, **VIEWPORTS[viewport])
    page = await context.new_page()
    await page.goto(f"/join/{code}")
    await page.wait_for_url(re.compile(r"/login\?next="))
    await page.fill("#handle", "nieuw")
    await page.fill("#password", PASSWORD)
    await page.click('form[action="/login"] button[type="submit"]')
    await page.wait_for_url(re.compile(r"/profile$"))
    await expect(page.locator("body")).to_contain_text("Amy Chen")
    await expect(page.locator("#completeness")).to_contain_text("0%")
    await assert_fits(page)
    await shot(page, "profile-completeness")
    await context.close()
