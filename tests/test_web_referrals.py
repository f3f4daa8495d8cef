"""Referral pages as a signed-in colleague sees them: the Ask page takes the vacancy's address
(and refuses one that is not http or https, naming the field), the sharer's page has their
personal link and the share buttons in their language, a button's POST records the share,
and the asker's call page shows how the referral spread."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from askhub.context import AppContext
from models import Call, Person, ShareLink
from tests.test_web_support import csrf_of, sign_in, submit, text_of, web_client, with_passwords

pytestmark = pytest.mark.db

VACANCY = "https://werkenbij.example/vacatures/constructeur"
FORM = {
    "kind": "referral",
    "title": "Vacature: constructeur staalbouw",
    "body": "Ken jij een constructeur die staalbouw en constructieberekeningen beheerst?",
    "tags": "staalbouw",
    "offer": "vacancy",
    "url": VACANCY,
    "action": "post",
}


async def _post_referral(client: Any, **fields: str) -> Any:
    return await submit(client, "/calls/new", "/calls/new", {**FORM, **fields})


async def test_the_ask_page_needs_a_web_address_for_a_referral(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        await sign_in(client, "asker")
        page = await client.get("/calls/new?kind=referral")
        assert 'name="url"' in page.text and 'value="event"' in page.text
        refused = await _post_referral(client, url="javascript:alert(1)")
        assert refused.status_code == 422
        assert 'id="url-error"' in refused.text
        assert "http:// of https://" in refused.text  # the asker reads Dutch
        missing = await _post_referral(client, url="")
        assert missing.status_code == 422 and 'id="url-error"' in missing.text
        posted = await _post_referral(client)
        assert posted.status_code == 303, posted.text[:300]
        shown = await client.get(posted.headers["location"])
    assert VACANCY in shown.text
    assert "Deel het in je netwerk" in shown.text
    async with org.sessions() as session:
        assert len((await session.scalars(select(Call))).all()) == 1


async def test_a_sharer_shares_and_the_asker_sees_it_spread(org: AppContext) -> None:
    await with_passwords(org, ["asker", "mark.jones", "sanne.visser"])
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        posted = await _post_referral(asker)
        call_path = posted.headers["location"]
        call_id = int(call_path.rsplit("/", 1)[1])
        empty = await asker.get(call_path)
        assert "Nog niemand heeft hem gedeeld." in empty.text

    async with web_client(org) as mark:
        await sign_in(mark, "mark.jones")
        # Asked, Mark finds the share page from his home page.
        home = await mark.get("/")
        assert f'href="/calls/{call_id}/share"' in home.text
        page = await mark.get(f"/calls/{call_id}/share")
        assert page.status_code == 200, page.text[:300]
        async with org.sessions() as session:
            link = await session.scalar(select(ShareLink).where(ShareLink.call_id == call_id))
        assert link is not None
        personal = f"http://askhub.test/r/{link.code}"
        text = text_of(page.text)
        assert "Share on LinkedIn" in text and "Share by e-mail" in text and "Copy link" in text
        assert f'value="{personal}"' in page.text
        assert (
            "https://www.linkedin.com/sharing/share-offsite/?url=" + quote(personal, safe="")
        ) in page.text
        assert re.search(r'href="mailto:\?subject=[^"]+"', page.text)
        assert VACANCY in page.text
        token = csrf_of(page.text)
        for channel in ("linkedin", "copy"):
            shared = await mark.post(
                f"/calls/{call_id}/shares",
                data={"channel": channel},
                headers={"x-csrftoken": token},
            )
            assert shared.status_code == 204, shared.text[:300]
        bad = await mark.post(
            f"/calls/{call_id}/shares", data={"channel": "fax"}, headers={"x-csrftoken": token}
        )
        assert bad.status_code == 422
        again = text_of((await mark.get(f"/calls/{call_id}/share")).text)
        assert "You shared it 2 times." in again

    async with web_client(org) as sanne:
        await sign_in(sanne, "sanne.visser")
        dutch = text_of((await sanne.get(f"/calls/{call_id}/share")).text)
        assert "Delen op LinkedIn" in dutch and "Link kopiëren" in dutch

    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        visited = await asker.get(f"/r/{link.code}", follow_redirects=False)
        assert visited.status_code == 302
        page = await asker.get(call_path)
    spread = page.text[page.text.index('id="spread-sharers"') :]
    row = text_of(spread[: spread.index("</tr>", spread.index("<tbody>"))])
    assert "Mark Jones" in row and row.endswith("Mark Jones 2 link gekopieerd 1 LinkedIn 1 1")
    assert "2 keer gedeeld · 1 bezoek" in text_of(page.text)


async def test_only_the_audience_may_share(org: AppContext) -> None:
    await with_passwords(org, ["asker", "tom.bakker"])
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        posted = await _post_referral(asker, department="Vastgoed & Bouw")
        call_id = int(posted.headers["location"].rsplit("/", 1)[1])
    async with web_client(org) as tom:
        await sign_in(tom, "tom.bakker")
        refused = await tom.get(f"/calls/{call_id}/share")
        assert refused.status_code == 403
        shown = await tom.get(f"/calls/{call_id}")
        assert f"/calls/{call_id}/share" not in shown.text


async def test_the_ask_page_previews_a_referral_as_posting_ranks_it(org: AppContext) -> None:
    from datetime import UTC, datetime

    from tests.test_referrals import _helped

    await with_passwords(org, ["asker"])
    # Mark helped many colleagues: posting ranks him by evidence and network together.
    await _helped(org, "mark.jones", 12, datetime.now(UTC))
    async with web_client(org) as client:
        await sign_in(client, "asker")
        preview = await submit(client, "/calls/new", "/calls/preview", FORM)
        assert preview.status_code == 200
        shown = re.findall(r'<a href="/people/([^"]+)"><strong>', preview.text)
        posted = await _post_referral(client)
        call_id = int(posted.headers["location"].rsplit("/", 1)[1])
    async with org.sessions() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        await session.refresh(call, ["matches"])
        ranked = [m.person_id for m in sorted(call.matches, key=lambda m: m.rank)]
        handles = {
            p.id: p.handle
            for p in (await session.scalars(select(Person).where(Person.id.in_(ranked)))).all()
        }
    assert "mark.jones" in shown
    assert shown[: len(ranked)] == [handles[i] for i in ranked][: len(shown)]


async def test_a_share_is_recorded_only_with_the_pages_csrf_token(org: AppContext) -> None:
    await with_passwords(org, ["asker", "mark.jones"])
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        posted = await _post_referral(asker)
        call_id = int(posted.headers["location"].rsplit("/", 1)[1])
    async with web_client(org) as mark:
        await sign_in(mark, "mark.jones")
        await mark.get(f"/calls/{call_id}/share")
        forged = await mark.post(f"/calls/{call_id}/shares", data={"channel": "linkedin"})
        assert forged.status_code == 403
        wrong = await mark.post(
            f"/calls/{call_id}/shares",
            data={"channel": "linkedin"},
            headers={"x-csrftoken": "not-the-token"},
        )
        assert wrong.status_code == 403
        again = text_of((await mark.get(f"/calls/{call_id}/share")).text)
    assert "You shared it" not in again
