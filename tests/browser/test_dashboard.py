"""The dashboard in real Chromium: a manager sees the figures, the charts (SVG bars with data)
and the knowledge gaps at phone and desktop size and downloads a CSV that parses; a member
sees only their own figures and may not download the organisation's."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from askhub.context import AppContext
from askhub.demo.history import load_history
from askhub.people.service import get_by_handle
from indexer.embedders import Embedder
from models import Role
from tests.browser.conftest import PASSWORD, VIEWPORTS, Server


async def _seed(server: Server, embedder: Embedder) -> int:
    """The demo's eight weeks of calls on the test organisation; "asker" manages."""
    context = AppContext.create(server.settings, embedder)
    try:
        async with context.sessions() as session, session.begin():
            calls = await load_history(session, datetime.now(UTC))
            asker = await get_by_handle(session, "asker")
            assert asker is not None
            asker.role = Role.MANAGER
        await context.routing.embed_missing(context.sessions)
    finally:
        await context.close()
    return calls


async def _signed_in(browser: Any, server: Server, handle: str, size: str) -> Any:
    context = await browser.new_context(
        base_url=server.url, locale="en-US", accept_downloads=True, **VIEWPORTS[size]
    )
    context.set_default_timeout(20_000)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("#handle", handle)
    await page.fill("#password", PASSWORD)
    await page.click('form[action="/login"] button[type="submit"]')
    await page.wait_for_url(f"{server.url}/")
    return page


async def test_a_manager_sees_the_dashboard_with_charts_and_downloads_csv(
    browser: Any, server: Server, embedder: Embedder, screenshots: Path
) -> None:
    from playwright.async_api import expect

    assert await _seed(server, embedder) > 100
    for size in ("phone", "desktop"):
        page = await _signed_in(browser, server, "asker", size)
        await page.get_by_role("link", name="Dashboard").first.click()
        await page.wait_for_url(f"{server.url}/dashboard")
        await expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
        # Every chart is drawn, with bars that have height.
        for chart in ("chart-weeks", "chart-waves", "chart-active"):
            svg = page.locator(f"svg#{chart}")
            await expect(svg).to_be_visible()
            box = await svg.bounding_box()
            assert box is not None and box["width"] > 300
            heights = await svg.locator("rect.bar").evaluate_all(
                "bars => bars.map(b => b.getBBox().height)"
            )
            assert sum(1 for h in heights if h > 1) >= 2, chart
        # The figures and the gaps: a reader sees topics nobody knows.
        # (The test organisation's people read Dutch: the selectors do not depend on words.)
        posted = page.locator(".stats div:first-child dd")
        assert int(await posted.inner_text()) > 20
        gaps = page.locator("table.gaps tbody tr.gap")
        assert await gaps.count() >= 2
        await expect(gaps.first.locator(".gap-badge")).to_be_visible()
        # Nothing overflows the phone's width but the tables, which scroll in their box.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[size]["viewport"]["width"] + 1
        await page.screenshot(path=str(screenshots / f"dashboard-{size}.png"), full_page=True)
        if size == "desktop":
            await page.locator("#gaps-heading").scroll_into_view_if_needed()
            await (
                page.locator("#gaps-heading")
                .locator("xpath=..")
                .screenshot(path=str(screenshots / "dashboard-gaps.png"))
            )
        async with page.expect_download() as info:
            await page.locator("#connectors-heading a.csv").click()
        download = await info.value
        text = await anyio.Path(await download.path()).read_text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows and {"handle", "total", "answers"} <= set(rows[0])
        shown = await page.locator("table.connectors tbody tr").count()
        assert len(rows) == shown
        assert sum(int(r["total"]) for r in rows) > 0
        await page.context.close()


async def test_a_member_sees_their_own_figures_only(browser: Any, server: Server) -> None:
    from playwright.async_api import expect

    page = await _signed_in(browser, server, "sanne.visser", "phone")
    await page.goto("/dashboard")
    await expect(page.locator("#mine-heading")).to_be_visible()
    assert await page.locator("table.gaps").count() == 0
    response = await page.goto("/dashboard/export/connectors")
    assert response is not None and response.status == 403
    await page.context.close()
