"""Referral sharing in real Chromium: the sharer's page renders on a phone with its share
buttons, the copy button copies the personal link and counts as a share, and the link opened
in a fresh browser (no sign-in, nothing stored) counts one visit and lands on the vacancy."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from askhub.calls import service
from askhub.calls.schemas import CallCreate
from askhub.context import AppContext
from askhub.people.service import get_by_handle
from indexer.embedders import Embedder
from models import Share, ShareLink, ShareVisits
from tests.browser.conftest import PASSWORD, VIEWPORTS, Server

TITLE = "Vacature: constructeur staalbouw"


class _Vacancy(BaseHTTPRequestHandler):
    """The employer's vacancy page, on its own loopback port (another site than AskHub)."""

    seen: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        _Vacancy.seen.append(self.path)
        body = b"<!doctype html><title>Vacature</title><h1>Constructeur staalbouw</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def vacancy_site() -> Iterator[str]:
    site = ThreadingHTTPServer(("127.0.0.1", 0), _Vacancy)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    _Vacancy.seen.clear()
    try:
        # "localhost", not 127.0.0.1: a different site from AskHub's for the browser.
        yield f"http://localhost:{site.server_address[1]}/vacatures/constructeur-staalbouw"
    finally:
        site.shutdown()
        site.server_close()


async def _seed(server: Server, embedder: Embedder, vacancy: str) -> int:
    context = AppContext.create(server.settings, embedder)
    try:
        async with context.sessions() as session, session.begin():
            asker = await get_by_handle(session, "asker")
            assert asker is not None
            call = await service.create_call(
                session,
                context.routing,
                context.settings,
                asker,
                CallCreate(
                    kind="referral",
                    title=TITLE,
                    body="Ken jij een constructeur die staalbouw beheerst?",
                    tags=["staalbouw"],
                    url=vacancy,
                ),
            )
            return call.id
    finally:
        await context.close()


async def _figures(server: Server, embedder: Embedder, call_id: int) -> tuple[int, int, str]:
    """Shares, visits and the code of the one share link of the call."""
    context = AppContext.create(server.settings, embedder)
    try:
        async with context.sessions() as session:
            link = await session.scalar(select(ShareLink).where(ShareLink.call_id == call_id))
            assert link is not None
            shares = await session.scalar(
                select(func.count()).select_from(Share).where(Share.link_id == link.id)
            )
            visits = await session.scalar(
                select(func.coalesce(func.sum(ShareVisits.visits), 0)).where(
                    ShareVisits.link_id == link.id
                )
            )
            return int(shares or 0), int(visits or 0), link.code
    finally:
        await context.close()


async def test_a_share_link_is_shared_on_a_phone_and_counts_one_visit(
    browser: Any, server: Server, embedder: Embedder, screenshots: Any, vacancy_site: str
) -> None:
    from playwright.async_api import expect

    call_id = await _seed(server, embedder, vacancy_site)
    sharer = await browser.new_context(base_url=server.url, locale="en-US", **VIEWPORTS["phone"])
    await sharer.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sharer.set_default_timeout(15_000)
    page = await sharer.new_page()
    try:
        await page.goto("/login")
        await page.fill("#handle", "mark.jones")
        await page.fill("#password", PASSWORD)
        await page.click('form[action="/login"] button[type="submit"]')
        await page.wait_for_url(f"{server.url}/")
        await page.goto(f"/calls/{call_id}")
        await page.click(f'a[href="/calls/{call_id}/share"]')
        await page.wait_for_url(re.compile(rf"/calls/{call_id}/share$"))
        await expect(page.locator("h1")).to_have_text(TITLE)
        linkedin = page.locator('a[data-share="linkedin"]')
        await expect(linkedin).to_be_visible()
        href = await linkedin.get_attribute("href")
        assert href and href.startswith("https://www.linkedin.com/sharing/share-offsite/?url=")
        mail = await page.locator('a[data-share="email"]').get_attribute("href")
        assert mail and mail.startswith("mailto:?subject=")
        personal = await page.locator("#share-link").input_value()
        assert re.fullmatch(rf"{re.escape(server.url)}/r/[\w-]{{12,}}", personal)
        # The buttons fit the phone's width: no sideways scrolling.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        await page.screenshot(path=str(screenshots / "share-phone.png"), full_page=True)

        async with page.expect_response(lambda r: r.url.endswith("/shares")) as posted:
            await page.click('button[data-share="copy"]')
        assert (await posted.value).status == 204
        await expect(page.locator("[data-share-status]")).to_contain_text("Your link is copied")
        assert await page.evaluate("navigator.clipboard.readText()") == personal
    finally:
        await sharer.close()

    shares, visits, code = await _figures(server, embedder, call_id)
    assert (shares, visits) == (1, 0)
    assert personal.endswith(f"/r/{code}")

    # Someone outside: a fresh browser with nothing of AskHub in it.
    visitor = await browser.new_context(locale="nl-NL", **VIEWPORTS["phone"])
    try:
        outside = await visitor.new_page()
        await outside.goto(personal)
        await expect(outside.locator("h1")).to_have_text("Constructeur staalbouw")
        assert outside.url == vacancy_site
        assert _Vacancy.seen[0] == "/vacatures/constructeur-staalbouw"
        assert await visitor.cookies() == []
    finally:
        await visitor.close()
    assert (await _figures(server, embedder, call_id))[:2] == (1, 1)

    # The asker sees it spread, per colleague and per day.
    asker = await browser.new_context(base_url=server.url, locale="en-US", **VIEWPORTS["desktop"])
    asker.set_default_timeout(15_000)
    page = await asker.new_page()
    try:
        await page.goto("/login")
        await page.fill("#handle", "asker")
        await page.fill("#password", PASSWORD)
        await page.click('form[action="/login"] button[type="submit"]')
        await page.wait_for_url(f"{server.url}/")
        await page.goto(f"/calls/{call_id}")
        row = page.locator("#spread-sharers tbody tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("Mark Jones")
        cells = [c.strip() for c in await row.locator("td").all_inner_texts()]
        assert cells[1] == "1" and cells[3] == "1"
        day = page.locator("#spread-days tbody tr")
        await expect(day).to_have_count(1)
        await page.locator("#spread-heading").scroll_into_view_if_needed()
        await page.screenshot(path=str(screenshots / "share-spread-desktop.png"), full_page=True)
    finally:
        await asker.close()
