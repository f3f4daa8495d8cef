"""The board and "asked before?" in real Chromium: the board lists calls and filters them by
kind and text; the ask page shows an earlier answered call like the one being typed, with its
answer, and taking it asks nobody."""

from __future__ import annotations

import re
from typing import Any

from askhub.calls import control, service
from askhub.calls.schemas import CallCreate, ReplyCreate
from askhub.context import AppContext
from askhub.people.service import get_by_handle
from indexer.embedders import Embedder
from tests.browser.conftest import PASSWORD, VIEWPORTS, Server

STEEL = "Wie weet iets van innovatie in staalbouw?"
MODEM = "Testers gezocht voor het nieuwe modem"


async def _seed(server: Server, embedder: Embedder) -> None:
    """An answered (accepted) staalbouw question and an open volunteers call, written as the
    API would write them; the running server finds them through the database."""
    context = AppContext.create(server.settings, embedder)
    try:
        async with context.sessions() as session, session.begin():
            asker = await get_by_handle(session, "asker")
            sanne = await get_by_handle(session, "sanne.visser")
            assert asker and sanne
            steel = await service.create_call(
                session,
                context.routing,
                context.settings,
                asker,
                CallCreate(
                    kind="question",
                    title=STEEL,
                    body="Ik zoek collega's die met stalen constructies hebben gewerkt.",
                ),
            )
            reply = await service.add_reply(
                session,
                context.settings,
                steel,
                sanne,
                ReplyCreate(body="Bel me: ik heb de hal in Zwolle begeleid."),
            )
            await control.accept(session, context.settings, context.routing, steel, reply.id, asker)
            await service.create_call(
                session,
                context.routing,
                context.settings,
                asker,
                CallCreate(kind="volunteers", title=MODEM, needed=5),
            )
    finally:
        await context.close()


async def _signed_in(browser: Any, server: Server, handle: str) -> Any:
    context = await browser.new_context(base_url=server.url, locale="en-US", **VIEWPORTS["desktop"])
    context.set_default_timeout(15_000)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#handle", handle)
    await page.fill("#password", PASSWORD)
    await page.click('form[action="/login"] button[type="submit"]')
    await page.wait_for_url(f"{server.url}/")
    return page


async def test_the_board_lists_and_filters_and_the_ask_page_offers_an_earlier_answer(
    browser: Any, server: Server, embedder: Embedder
) -> None:
    from playwright.async_api import expect

    await _seed(server, embedder)
    page = await _signed_in(browser, server, "joost.smit")
    try:
        await page.click('nav a[href="/calls"]')
        await page.wait_for_url(re.compile(r"/calls$"))
        board = page.locator("#board-list")
        await expect(board).to_contain_text(MODEM)
        await expect(board).not_to_contain_text(STEEL)  # answered and closed: not open

        await page.select_option("#board-status", "closed")
        await page.click("form[data-board-form] button[type=submit]")
        await expect(page.locator("#board-list")).to_contain_text(STEEL)
        await page.select_option("#board-status", "open")
        await page.select_option("#board-kind", "question")
        await page.click("form[data-board-form] button[type=submit]")
        await expect(page.locator("#board-list")).to_have_count(0)
        await page.select_option("#board-kind", "")
        await page.fill("#board-q", "modem")
        await page.click("form[data-board-form] button[type=submit]")
        await expect(page.locator("#board-list li")).to_have_count(1)
        await expect(page.locator("#board-total")).to_contain_text("1")

        # Asked before? While typing, the earlier answered call shows, with its answer.
        await page.click('nav a[href="/calls/new"]')
        await page.fill("#title", "Who knows about steel construction?")
        similar = page.locator("#similar-preview")
        await expect(similar).to_contain_text(STEEL)
        await expect(similar).to_contain_text("hal in Zwolle")
        await page.click("#similar-preview form[action$='/take'] button")
        await page.wait_for_url(re.compile(r"/calls/\d+$"))
        await expect(page.locator("h1")).to_have_text(STEEL)
        # Joost reads Dutch: "nobody was asked".
        await expect(page.locator("p.flash")).to_contain_text("Er is niemand gevraagd.")
    finally:
        await page.context.close()
