"""The main journeys in real Chromium, on a phone and on a desktop viewport: sign in, ask and
see who it reaches, answer as the routed expert, accept; a volunteers call filled; nudge
preferences; posts and people; and a reply with script or a javascript: link shown inert.

Screenshots of the main pages go to test-artifacts/screenshots/{viewport}-{page}.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, VIEWPORTS, Server

Shot = Callable[[Any, str], Coroutine[Any, Any, None]]


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def shot(screenshots: Path, viewport: str) -> Shot:
    async def take(page: Any, name: str) -> None:
        await page.screenshot(
            path=str(screenshots / f"{viewport}-{name}.png"), full_page=True, scale="css"
        )

    return take


async def assert_fits(page: Any) -> None:
    """Nothing sticks out sideways: the page reads on a phone without scrolling left-right."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the viewport"


@pytest.fixture(scope="module")
async def people(browser: Any, server: Server) -> AsyncIterator[dict[tuple[str, str], Any]]:
    """Signed-in pages, one per viewport and person, kept for the module: each person signs in
    through the form once per viewport."""
    pages: dict[tuple[str, str], Any] = {}
    try:
        yield pages
    finally:
        for page in pages.values():
            await page.context.close()


@pytest.fixture
def as_person(
    browser: Any, server: Server, viewport: str, people: dict[tuple[str, str], Any]
) -> Callable[[str], Coroutine[Any, Any, Any]]:
    async def open_as(handle: str) -> Any:
        from playwright.async_api import expect

        page = people.get((viewport, handle))
        if page is not None:
            await page.goto("/")
            return page
        context = await browser.new_context(
            base_url=server.url, locale="en-US", **VIEWPORTS[viewport]
        )
        context.set_default_timeout(15_000)
        page = await context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.dialogs = dialogs
        await page.goto("/login")
        await page.fill("#handle", handle)
        await page.fill("#password", PASSWORD)
        await page.click('form[action="/login"] button[type="submit"]')
        await page.wait_for_url(f"{server.url}/")
        await expect(page.locator("nav a.brand")).to_be_visible()
        people[(viewport, handle)] = page
        return page

    return open_as


AsPerson = Callable[[str], Coroutine[Any, Any, Any]]


async def post_call(page: Any, title: str, navigate: bool = True, **fields: str) -> str:
    if navigate:
        await page.click('nav a[href="/calls/new"]')
        await page.wait_for_url(re.compile(r"/calls/new$"))
    if "kind" in fields:
        await page.check(f'input[name="kind"][value="{fields.pop("kind")}"]')
    await page.fill("#title", title)
    for name, value in fields.items():
        await page.fill(f"#{name}", value)
    await page.click('button[name="action"][value="post"]')
    await page.wait_for_url(re.compile(r"/calls/\d+$"))
    return str(page.url)


async def test_sign_in_ask_see_matches_answer_as_expert_and_accept(
    browser: Any, server: Server, viewport: str, shot: Shot, as_person: AsPerson
) -> None:
    from playwright.async_api import expect

    title = f"Wie weet iets van staalbouw voor het datacenter? ({viewport})"
    # The sign-in page works from the keyboard, and focus is visible.
    context = await browser.new_context(base_url=server.url, **VIEWPORTS[viewport])
    page = await context.new_page()
    await page.goto("/")
    await page.wait_for_url(re.compile(r"/login\?next=/$"))
    assert await page.evaluate("document.activeElement.id") == "handle"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "password"
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    await shot(page, "login")
    await page.fill("#handle", "asker")
    await page.fill("#password", "wrong password")
    await page.click('form[action="/login"] button[type="submit"]')
    await expect(page.locator("p.error[role=alert]")).to_be_visible()
    await context.close()

    asker = await as_person("asker")
    await shot(asker, "home")
    await assert_fits(asker)
    await asker.click('nav a[href="/calls/new"]')
    await asker.fill("#title", title)
    await asker.fill("#tags", "staalbouw")
    # The live preview: who it would reach, with reasons, before posting.
    preview = asker.locator("#match-preview")
    await expect(preview).to_contain_text("Sanne Visser")
    # One line per person with the best reason (the others behind a toggle).
    await expect(preview.locator(".best-reason").first).to_be_visible()
    # ... and the forecast: how many would be asked now, what to expect by the deadline.
    await expect(preview.locator("[data-forecast]")).to_contain_text("Zou nu")
    await expect(preview.locator("[data-forecast]")).to_contain_text("verwachting")
    await asker.fill("#body", "Graag **ervaring** met geboute verbindingen.")
    await asker.click('[data-md-preview="body"]')
    await expect(asker.locator("#body-preview strong")).to_have_text("ervaring")
    await assert_fits(asker)
    await shot(asker, "new-call")
    await asker.click('button[name="action"][value="post"]')
    await asker.wait_for_url(re.compile(r"/calls/\d+$"))
    call_url = asker.url
    await expect(asker.locator("p.flash")).to_contain_text(
        re.compile(r"naar \d+ collega('s)? gestuurd")
    )
    asked = asker.locator('section[aria-labelledby="asked-heading"]')
    await expect(asked).to_contain_text("Sanne Visser")
    await expect(asker.locator(".call .md strong")).to_have_text("ervaring")
    await assert_fits(asker)
    await shot(asker, "call-asker")

    sanne = await as_person("sanne.visser")
    waiting = sanne.locator('section[aria-labelledby="asked-heading"]')
    await expect(waiting).to_contain_text(title)
    await expect(waiting.locator(".reasons").first).to_contain_text("taalbouw")
    await shot(sanne, "home-expert")
    await waiting.get_by_role("link", name=title).click()
    await sanne.wait_for_url(call_url)
    await expect(sanne.locator("#why-heading")).to_be_visible()
    assert await sanne.locator("#asked-heading").count() == 0
    await sanne.fill(
        "#answer", "Gebruik **geboute** verbindingen; zie [de notitie](https://example.com/staal)."
    )
    await sanne.click("form:has(#answer) button[type=submit]")
    await sanne.wait_for_url(re.compile(r"/calls/\d+#reply-\d+$"))
    reply = sanne.locator(".reply").last
    await expect(reply.locator(".md strong")).to_have_text("geboute")
    await expect(reply.locator('a[href="https://example.com/staal"]')).to_be_visible()
    await expect(sanne.locator("p.flash")).to_contain_text("Anna Asker")
    await assert_fits(sanne)
    await shot(sanne, "call-expert")

    asker = await as_person("asker")
    await asker.goto(call_url)
    await asker.click('form[action$="/accept"] button')
    await asker.wait_for_url(re.compile(r"#reply-\d+$"))
    await expect(asker.locator(".reply.accepted .badge.accepted")).to_be_visible()
    # Accepting an answer closes the question (the asker may keep it open instead).
    await expect(asker.locator(".call .status-closed")).to_be_visible()
    await shot(asker, "call-accepted")
    assert asker.dialogs == []


async def test_a_volunteers_call_is_filled(
    browser: Any, server: Server, viewport: str, shot: Shot, as_person: AsPerson
) -> None:
    from playwright.async_api import expect

    title = f"Twee collega's gezocht om het nieuwe modem thuis te testen ({viewport})"
    asker = await as_person("asker")
    await asker.click('nav a[href="/calls/new"]')
    needed = asker.locator("#needed")
    await expect(needed).to_be_hidden()  # only for volunteers calls
    await asker.check('input[name="kind"][value="volunteers"]')
    await expect(needed).to_be_visible()
    call_url = await post_call(
        asker, title, False, needed="2", deadline="2031-06-01T17:00", tags="modem, testen"
    )
    await expect(asker.locator(".call .progress")).to_contain_text("0 van 2")

    for handle, thanks in (("amy.chen", "You volunteered"), ("joost.smit", "Je doet mee")):
        person = await as_person(handle)
        await person.get_by_role("link", name=title).first.click()
        await person.wait_for_url(call_url)
        if handle == "amy.chen":
            await shot(person, "volunteer")
        await person.click("form:has(input[value=volunteer]) button[type=submit]")
        await person.wait_for_url(re.compile(r"#reply-\d+$"))
        await expect(person.locator('section[aria-labelledby="act-heading"]')).to_contain_text(
            thanks
        )

    asker = await as_person("asker")
    await asker.goto(call_url)
    await expect(asker.locator(".call .status-filled")).to_be_visible()
    await expect(asker.locator(".call .progress")).to_contain_text("2 van 2")
    await expect(asker.locator(".replies .reply")).to_have_count(2)
    await assert_fits(asker)
    await shot(asker, "call-filled")


async def test_change_nudge_preferences_and_correct_expertise(
    browser: Any, server: Server, viewport: str, shot: Shot, as_person: AsPerson
) -> None:
    from playwright.async_api import expect

    mark = await as_person("mark.jones")
    await mark.click('nav a[href="/profile"]')
    form = mark.locator("form#preferences")
    await form.locator("#nudge_budget_per_week").fill("2")
    await form.locator("#quiet_hours_start").select_option("22")
    await form.locator("#quiet_hours_end").select_option("7")
    await form.locator('input[name="digest"]').check()
    await form.locator('input[name="channels"][value="email"]').uncheck()
    await form.locator('input[name="availability"][value="away"]').check()
    await form.locator("#away_until").fill("2031-01-15")
    await form.locator("button[type=submit]").click()
    await mark.wait_for_url(re.compile(r"/profile#preferences$"))
    await expect(mark.locator("p.flash")).to_have_text("Saved.")
    await mark.reload()
    await expect(form.locator("#nudge_budget_per_week")).to_have_value("2")
    await expect(form.locator("#quiet_hours_start")).to_have_value("22")
    await expect(form.locator("#quiet_hours_end")).to_have_value("7")
    await expect(form.locator('input[name="digest"]')).to_be_checked()
    await expect(form.locator('input[name="channels"][value="email"]')).not_to_be_checked()
    await expect(form.locator("#away_until")).to_have_value("2031-01-15")

    # Back to available, so the other journeys may still ask Mark.
    await form.locator('input[name="availability"][value="available"]').check()
    await form.locator("button[type=submit]").click()
    await mark.wait_for_url(re.compile(r"/profile#preferences$"))

    # The inferred expertise: hide a topic, then show it again.
    steel = mark.locator('form[action="/profile/topics/hide"]:has(input[value="steel"]) button')
    await steel.click()
    await mark.wait_for_url(re.compile(r"/profile$"))
    await expect(mark.locator('form[action="/profile/topics/show"] button')).to_contain_text(
        "steel"
    )
    await mark.locator("#skill").fill("welding")
    await mark.locator('form[action="/profile/skills/add"] button').click()
    await mark.wait_for_url(re.compile(r"/profile$"))
    await expect(mark.locator("#skills")).to_have_value(re.compile("welding"))
    await assert_fits(mark)
    await shot(mark, "profile")
    await mark.locator('form[action="/profile/topics/show"] button').first.click()
    await mark.wait_for_url(re.compile(r"/profile$"))

    async with mark.expect_download() as download_info:
        await mark.click('a[href="/profile/export"]')
    download = await download_info.value
    assert download.suggested_filename == "askhub-mark.jones.json"


async def test_write_a_post_and_find_it_on_the_people_page(
    browser: Any, server: Server, viewport: str, shot: Shot, as_person: AsPerson
) -> None:
    from playwright.async_api import expect

    title = f"Zonnepanelen op het dak van de centrale ({viewport})"
    eva = await as_person("eva.brown")
    await eva.click('nav a[href="/posts"]')
    await eva.fill("#post-title", title)
    await eva.fill("#post-body", "We legden **240 panelen** op het dak van de centrale.")
    await eva.fill("#post-tags", "solar, zonnepanelen")
    await eva.click("form:has(#post-body) button.primary")
    await eva.wait_for_url(re.compile(r"/posts$"))
    await expect(eva.locator(".cards .card").first).to_contain_text(title)
    await shot(eva, "posts")
    await eva.fill("#site-search", "Eva")
    await eva.press("#site-search", "Enter")
    await eva.wait_for_url(re.compile(r"/search\?q=Eva$"))
    await shot(eva, "search")
    await eva.get_by_role("link", name="Eva Brown").first.click()
    await expect(eva.locator("h1")).to_have_text("Eva Brown")
    await expect(eva.locator("main")).to_contain_text(title)
    await assert_fits(eva)
    await shot(eva, "person")


async def test_a_reply_with_script_or_a_javascript_link_is_inert(
    browser: Any, server: Server, viewport: str, shot: Shot, as_person: AsPerson
) -> None:
    from playwright.async_api import expect

    title = f"Wie weet iets van brandwerende coating op staal? ({viewport})"
    asker = await as_person("asker")
    call_url = await post_call(asker, title)
    evil = (
        "<script>alert('xss')</script>\n\n"
        "[click me](javascript:alert(1)) <img src=x onerror=alert(2)> "
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgzKTwvc2NyaXB0Pg==)"
    )
    sanne = await as_person("sanne.visser")
    await sanne.goto(call_url)
    await sanne.fill("#answer", evil)
    await sanne.click("form:has(#answer) button[type=submit]")
    await sanne.wait_for_url(re.compile(r"#reply-\d+$"))
    body = sanne.locator(".replies .reply .md").last
    await expect(body).to_contain_text("<script>alert('xss')</script>")
    await expect(body).to_contain_text("[click me](javascript:alert(1))")
    replies = sanne.locator(".replies")
    assert await replies.locator("script").count() == 0
    assert await replies.locator("img").count() == 0
    assert await replies.locator('a[href^="javascript"], a[href^="data"]').count() == 0
    await body.get_by_text("click me", exact=False).click()
    # The click's handlers (and any alert they raised) have run once the page paints again.
    await sanne.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r)))")
    assert sanne.dialogs == []
    await shot(sanne, "reply-inert")
    asker = await as_person("asker")
    await asker.goto(call_url)
    await expect(asker.locator(".replies .reply .md").last).to_contain_text("<script>")
    assert asker.dialogs == []
