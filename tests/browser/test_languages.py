"""The main journeys once in Dutch and once in English, in real Chromium on a phone: the page is
in the reader's language chosen with the NL/EN switch (not the browser's), and a Dutch page
shows no English message of the catalogue (nor an English page a Dutch one). Tap targets are
at least 44 px high.

The catalogue tells which words are ours: every message id with a Dutch translation that
differs from it. Text people wrote (calls, replies, posts, reasons) is left out of the check.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from askhub.tools.i18n import load
from tests.browser.conftest import PASSWORD, VIEWPORTS, Server

# Where people's own words appear; the check skips these.
USER_TEXT = ".md, .snippet, .reasons, .best-reason, .tag, h1, .card a, .cards a, .match-line a, input, textarea"
# Where single words of ours appear (a single English word elsewhere may be someone's text).
CHROME = "nav, button, label, h2, summary, .badge, legend, .flash, .progress, .meta"


def _words() -> dict[str, tuple[set[str], set[str]]]:
    """For each language: (phrases of two or more words, single words) that are ours and
    differ between the languages. Placeholders split a message into its literal parts."""
    english_of = {e.id: e.string for e in load("en") if e.id and e.string}
    english: tuple[set[str], set[str]] = (set(), set())
    dutch: tuple[set[str], set[str]] = (set(), set())
    for entry in load("nl"):
        if not entry.id:
            continue
        pairs = (
            zip(entry.id, entry.string, strict=False)
            if isinstance(entry.id, tuple | list)
            else [(english_of.get(entry.id, entry.id), entry.string)]
        )
        for en_text, nl_text in pairs:
            if not nl_text or en_text == nl_text:
                continue
            for text, (phrases, singles) in ((en_text, english), (nl_text, dutch)):
                for part in re.split(r"\{[^}]*\}", str(text)):
                    part = part.strip(" .,:;()“”\"'·—-")
                    if len(part) < 3:
                        continue
                    (phrases if " " in part else singles).add(part)
    # A word both languages share (e.g. "Deadline") is nobody's leak.
    for own, other in ((english, dutch), (dutch, english)):
        own[1].difference_update(other[1] | {w for p in other[0] for w in p.split()})
    return {"en": english, "nl": dutch}


WORDS = _words()


async def _leaks(page: Any, other: str) -> list[str]:
    """Messages of the ``other`` language on this page (outside what people wrote)."""
    text, chrome = await page.evaluate(
        """([userText, chrome]) => {
            const copy = document.body.cloneNode(true);
            copy.querySelectorAll(userText).forEach(e => e.remove());
            const bits = [...copy.querySelectorAll(chrome)].map(e => e.innerText || e.textContent);
            return [copy.innerText || copy.textContent, bits.join("\\n")];
        }""",
        [USER_TEXT, CHROME],
    )
    phrases, singles = WORDS[other]
    found = [p for p in phrases if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text)]
    found += [w for w in singles if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", chrome)]
    return sorted(found)


async def _tap_targets_too_small(page: Any) -> list[str]:
    return list(
        await page.evaluate(
            """() => [...document.querySelectorAll(
                    "nav a, nav button, .lang-switch a, .lang-switch button, summary")]
                .filter(e => e.offsetParent !== null)
                .filter(e => e.getBoundingClientRect().height < 43.5)
                .map(e => `${e.tagName} ${e.textContent.trim()} ${e.getBoundingClientRect().height}px`)"""
        )
    )


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_main_journeys_speak_only_the_chosen_language(
    browser: Any, server: Server, lang: str
) -> None:
    from playwright.async_api import expect

    other = "en" if lang == "nl" else "nl"
    # The browser says the other language: the reader's choice must win on every page.
    context = await browser.new_context(
        base_url=server.url, locale="en-US" if lang == "nl" else "nl-NL", **VIEWPORTS["phone"]
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    visited: dict[str, list[str]] = {}
    small: dict[str, list[str]] = {}

    async def check(name: str) -> None:
        assert await page.evaluate("document.documentElement.lang") == lang, name
        visited[name] = await _leaks(page, other)
        small[name] = await _tap_targets_too_small(page)

    try:
        # Anonymous: the switch is a link with ?lang=, no cookie needed.
        await page.goto("/login")
        await page.click(f'.lang-switch a[hreflang="{lang}"]')
        await page.wait_for_url(re.compile(rf"lang={lang}"))
        await check("login")
        await page.fill("#handle", "joost.smit")  # speaks Dutch only
        await page.fill("#password", PASSWORD)
        await page.click('form[action="/login"] button[type="submit"]')
        await page.wait_for_url(f"{server.url}/")
        # Signed in: the switch stores the choice on the person.
        await page.click(f'.lang-switch button[value="{lang}"]')
        await page.wait_for_load_state()
        await expect(page.locator(f'.lang-switch button[value="{lang}"]')).to_have_attribute(
            "aria-current", "true"
        )
        await check("home")

        await page.click('nav a[href="/calls/new"]')
        await page.wait_for_url(re.compile(r"/calls/new$"))
        await page.fill("#title", "Modem firmware labtest: wie weet hoe het moet?")
        await page.fill("#tags", "modem")
        await expect(page.locator("#match-preview .match-line").first).to_be_visible()
        await check("new-call")
        await page.click('button[name="action"][value="post"]')
        await page.wait_for_url(re.compile(r"/calls/\d+$"))
        await check("call")
        for path in ("/profile", "/posts", "/search?q=modem"):
            await page.goto(path)
            await check(path)

        # Someone asked (Amy reads English by her profile; here she chose this language too).
        asked = await browser.new_context(base_url=server.url, **VIEWPORTS["phone"])
        other_page = await asked.new_page()
        try:
            await other_page.goto("/login")
            await other_page.fill("#handle", "amy.chen")
            await other_page.fill("#password", PASSWORD)
            await other_page.click('form[action="/login"] button[type="submit"]')
            await other_page.wait_for_url(f"{server.url}/")
            await other_page.click(f'.lang-switch button[value="{lang}"]')
            await other_page.wait_for_load_state()
            call_link = other_page.locator('section[aria-labelledby="asked-heading"] a').first
            await call_link.click()
            await other_page.wait_for_url(re.compile(r"/calls/\d+$"))
            # On a phone the reply box of someone asked starts within the first screen.
            top = await other_page.evaluate(
                "document.getElementById('act-heading').getBoundingClientRect().top"
            )
            assert top < VIEWPORTS["phone"]["viewport"]["height"], top  # type: ignore[index]
            page, saved = other_page, page
            await check("call-asked")
            page = saved
        finally:
            await asked.close()
    finally:
        await context.close()
    assert {name: found for name, found in visited.items() if found} == {}, (
        f"{other} words on {lang} pages"
    )
    assert {name: found for name, found in small.items() if found} == {}, "tap targets < 44px"
