"""The web pages as people use them, over HTTP: ask and see who it reaches, answer as the routed
expert, accept and thank; volunteer, fill, withdraw; profile, preferences, expertise
corrections and export; posts; people and search; Dutch and English."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from askhub.calls.scheduled import lifecycle_tick
from askhub.context import AppContext
from askhub.nudges.outbox import inbox
from askhub.routing.service import RoutingService
from models import Call, CallStatus, Embedding, Match, Person, Post, PostKind, Reply
from tests.test_web_support import sign_in, submit, text_of, web_client, with_passwords

STEEL_TITLE = "Who knows about steel construction and bolted connections?"


async def _person(ctx: AppContext, handle: str) -> Person:
    async with ctx.sessions() as session:
        person = await session.scalar(select(Person).where(Person.handle == handle))
        assert person is not None
        return person


async def _call(ctx: AppContext, call_id: int) -> Call:
    async with ctx.sessions() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return call


async def test_ask_see_matches_answer_as_the_routed_expert_accept_and_thank(
    org: AppContext,
) -> None:
    await with_passwords(org, ["asker", "sanne.visser", "mark.jones"])
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        # The live preview: who it would reach, with reasons, before posting.
        preview = await submit(
            asker,
            "/calls/new",
            "/calls/preview",
            {"kind": "question", "title": STEEL_TITLE, "body": "", "tags": "staalbouw"},
        )
        assert preview.status_code == 200
        assert "Sanne Visser" in preview.text and "Mark Jones" in preview.text
        assert "Anna Asker" not in preview.text  # never the asker
        assert 'class="reasons"' in preview.text
        # Without JavaScript the same preview comes from the form's second button.
        no_js = await submit(
            asker,
            "/calls/new",
            "/calls/new",
            {"kind": "question", "title": STEEL_TITLE, "body": "**bold**", "action": "preview"},
        )
        assert no_js.status_code == 200 and "Sanne Visser" in no_js.text
        assert "<strong>bold</strong>" in no_js.text
        # Post it.
        posted = await submit(
            asker,
            "/calls/new",
            "/calls/new",
            {
                "kind": "question",
                "title": STEEL_TITLE,
                "body": "For the *datacenter*.",
                "tags": "staalbouw",
                "action": "post",
            },
        )
        assert posted.status_code == 303
        call_path = posted.headers["location"]
        call_id = int(call_path.rsplit("/", 1)[1])
        page = await asker.get(call_path)
        text = text_of(page.text)
        assert re.search(r"sent to \d+ colleagues|naar \d+ collega's gestuurd", text)
        assert "<em>datacenter</em>" in page.text
        assert 'id="asked-heading"' in page.text and "Sanne Visser" in page.text

    async with web_client(org) as sanne:
        await sign_in(sanne, "sanne.visser")
        home = await sanne.get("/")
        # Sanne's first language is Dutch: the page is in Dutch, with why she was asked.
        assert "Aan jou gevraagd" in home.text and STEEL_TITLE in home.text
        assert "Waarom jij" in home.text and "Staalbouw" in home.text
        page = await sanne.get(f"/calls/{call_id}")
        assert 'id="why-heading"' in page.text and 'id="asked-heading"' not in page.text
        answered = await submit(
            sanne,
            f"/calls/{call_id}",
            f"/calls/{call_id}/reply",
            {"kind": "answer", "body": "Use **bolted** connections; see the datacenter post."},
        )
        assert answered.status_code == 303
        page = await sanne.get(answered.headers["location"].split("#")[0])
        assert "Dank je wel! Je antwoord is naar Anna Asker gestuurd." in page.text
        assert "<strong>bolted</strong>" in page.text
        # An empty answer is refused with a message, not an error page.
        empty = await submit(
            sanne, f"/calls/{call_id}", f"/calls/{call_id}/reply", {"kind": "answer", "body": " "}
        )
        # Sanne reads Dutch: the service's message too.
        assert empty.status_code == 422 and "een antwoord heeft tekst nodig" in empty.text

    async with org.sessions() as session:
        reply_id = await session.scalar(select(Reply.id).where(Reply.call_id == call_id))
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        # Kept open: the rest of this journey still forwards it (accepting closes it else).
        accepted = await submit(
            asker,
            f"/calls/{call_id}",
            f"/calls/{call_id}/replies/{reply_id}/accept",
            {"keep_open": "1"},
        )
        assert accepted.status_code == 303
        thanked = await submit(
            asker, f"/calls/{call_id}", f"/calls/{call_id}/replies/{reply_id}/thank"
        )
        assert thanked.status_code == 303
        page = await asker.get(f"/calls/{call_id}")
        assert "Geaccepteerd antwoord" in page.text and "Bedankt" in page.text
    assert (await _call(org, call_id)).status == CallStatus.ANSWERED
    async with org.sessions() as session:
        answer_post = await session.scalar(
            select(Post).where(Post.source == "reply", Post.external_id == str(reply_id))
        )
        assert answer_post is not None and answer_post.kind == PostKind.ANSWER
        sanne_id = (await _person(org, "sanne.visser")).id
        notices = [n.payload["subject"] for n in await inbox(session, sanne_id)]
        # Sanne reads Dutch: the thanks in her inbox is Dutch, not "Anna Asker thanks you".
        assert any(s.startswith("Anna Asker bedankt je:") for s in notices), notices

    # Only the asker accepts.
    async with web_client(org) as mark:
        await sign_in(mark, "mark.jones")
        refused = await submit(
            mark, f"/calls/{call_id}", f"/calls/{call_id}/replies/{reply_id}/accept"
        )
        assert refused.status_code == 403
        # Mark forwards it to a colleague by name, with autocomplete.
        suggest = await mark.get("/suggest/people?q=henk")
        assert '<option value="henk.mulder">' in suggest.text
        forwarded = await submit(
            mark,
            f"/calls/{call_id}",
            f"/calls/{call_id}/reply",
            {"kind": "forward", "forward_to": "Henk Mulder", "body": "Henk knows masts."},
        )
        assert forwarded.status_code == 303
        bad = await submit(
            mark,
            f"/calls/{call_id}",
            f"/calls/{call_id}/reply",
            {"kind": "forward", "forward_to": "nobody.here"},
        )
        assert bad.status_code == 422 and "no colleague with handle" in bad.text


async def test_volunteers_call_fills_and_a_withdrawal_opens_it_again(org: AppContext) -> None:
    await with_passwords(org, ["asker", "amy.chen", "joost.smit"])
    deadline = (datetime.now(UTC) + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        missing = await submit(
            asker,
            "/calls/new",
            "/calls/new",
            {"kind": "volunteers", "title": "Modem testers wanted", "needed": "", "action": "post"},
        )
        assert missing.status_code == 422 and "Zeg hoeveel vrijwilligers" in missing.text
        posted = await submit(
            asker,
            "/calls/new",
            "/calls/new",
            {
                "kind": "volunteers",
                "title": "We need 2 colleagues to test the new modem at home",
                "body": "Firmware tests, two weeks.",
                "tags": "modem, testing",
                "needed": "2",
                "deadline": deadline,
                "action": "post",
            },
        )
        assert posted.status_code == 303
        call_id = int(posted.headers["location"].rsplit("/", 1)[1])
    call = await _call(org, call_id)
    assert call.needed == 2 and call.deadline is not None

    for handle in ("amy.chen", "joost.smit"):
        async with web_client(org) as client:
            await sign_in(client, handle)
            home = await client.get("/")
            assert "We need 2 colleagues" in home.text  # listed to join, or asked
            joined = await submit(
                client, f"/calls/{call_id}", f"/calls/{call_id}/reply", {"kind": "volunteer"}
            )
            assert joined.status_code == 303
    assert (await _call(org, call_id)).status == CallStatus.FILLED

    async with web_client(org) as amy:
        await sign_in(amy, "amy.chen")
        page = await amy.get(f"/calls/{call_id}")
        assert "You volunteered" in page.text
        out = await submit(amy, f"/calls/{call_id}", f"/calls/{call_id}/withdraw")
        assert out.status_code == 303
        again = await submit(amy, f"/calls/{call_id}", f"/calls/{call_id}/withdraw")
        assert again.status_code == 409
    assert (await _call(org, call_id)).status == CallStatus.OPEN
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        page = text_of((await asker.get(f"/calls/{call_id}")).text)
        assert "1 van 2 vrijwilligers" in page


async def test_profile_preferences_expertise_corrections_and_export(org: AppContext) -> None:
    await with_passwords(org, ["mark.jones"])
    async with web_client(org) as client:
        await sign_in(client, "mark.jones")
        page = await client.get("/profile")
        assert page.status_code == 200 and "What AskHub thinks you know" in page.text
        assert re.search(r'<span class="tag">steel</span>', page.text)

        saved = await submit(
            client,
            "/profile",
            "/profile/preferences",
            {
                "availability": "away",
                "away_until": (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d"),
                "nudge_budget_per_week": "1",
                "quiet_hours_start": "22",
                "quiet_hours_end": "7",
                "channels": ["email"],
                "digest": "1",
            },
        )
        assert saved.status_code == 303
        mark = await _person(org, "mark.jones")
        assert mark.availability == "away" and mark.away_until is not None
        assert (mark.nudge_budget_per_week, mark.quiet_hours_start, mark.quiet_hours_end) == (
            1,
            22,
            7,
        )
        assert mark.channels == ["inapp", "email"] and mark.digest is True
        page = await client.get("/profile")
        assert 'value="22" selected' in page.text and "Saved." in page.text

        bad = await submit(
            client,
            "/profile",
            "/profile/preferences",
            {"availability": "available", "nudge_budget_per_week": "500"},
        )
        assert bad.status_code == 422 and 'class="field-error"' in bad.text
        bad_zone = await submit(
            client, "/profile", "/profile", {"bio": "x", "timezone": "Mars/Olympus"}
        )
        assert bad_zone.status_code == 422 and "unknown time zone" in bad_zone.text
        assert (await _person(org, "mark.jones")).bio != "x"

        # Correct the inferred expertise: hide a topic, add a skill.
        assert (
            await submit(client, "/profile", "/profile/topics/hide", {"topic": "steel"})
        ).status_code == 303
        assert (
            await submit(client, "/profile", "/profile/skills/add", {"skill": "Welding"})
        ).status_code == 303
        mark = await _person(org, "mark.jones")
        assert "-steel" in mark.skills and "Welding" in mark.skills
        page = await client.get("/profile")
        assert not re.search(r'<span class="tag">steel</span>', page.text)
        assert "steel ↺" in page.text
        public = await client.get("/people/mark.jones")
        assert "Welding" in public.text and "-steel" not in public.text
        # Saving the about-form keeps hidden topics.
        await submit(
            client,
            "/profile",
            "/profile",
            {
                "bio": "Structural engineer.",
                "skills": "Welding, masts",
                "languages": "en",
                "timezone": "Europe/Amsterdam",
            },
        )
        mark = await _person(org, "mark.jones")
        assert mark.skills == ["Welding", "masts", "-steel"]
        assert (
            await submit(client, "/profile", "/profile/topics/show", {"topic": "steel"})
        ).status_code == 303
        assert "-steel" not in (await _person(org, "mark.jones")).skills

        export = await client.get("/profile/export")
        data = export.json()
        assert data["person"]["handle"] == "mark.jones"
        assert data["person"]["preferences"]["quiet_hours_start"] == 22
        assert {p["title"] for p in data["posts"]} >= {
            "Lessons from building a steel frame for the Amsterdam office"
        }
        assert "password_hash" not in export.text

        # Change the password.
        changed = await submit(
            client,
            "/profile",
            "/profile/password",
            {"current_password": "wrong", "new_password": "long enough now"},
        )
        assert changed.status_code == 422
        changed = await submit(
            client,
            "/profile",
            "/profile/password",
            {"current_password": "correct horse battery", "new_password": "long enough now"},
        )
        assert changed.status_code == 303
        assert (await client.get("/", follow_redirects=False)).status_code == 200


async def test_posts_count_as_expertise_at_once_and_edits_are_re_embedded(
    org: AppContext,
) -> None:
    await with_passwords(org, ["eva.brown"])
    async with web_client(org) as client:
        await sign_in(client, "eva.brown")
        empty = await submit(client, "/posts", "/posts", {"title": "x", "body": ""})
        assert empty.status_code == 422
        written = await submit(
            client,
            "/posts",
            "/posts",
            {
                "title": "Zeppelin hangar roofs",
                "body": "We fitted *zeppelinhangar* roofs with solar panels.",
                "tags": "solar, roofs",
            },
        )
        assert written.status_code == 303
        listed = await client.get("/posts")
        assert "Zeppelin hangar roofs" in listed.text and "<em>zeppelinhangar</em>" in listed.text
        async with org.sessions() as session:
            post = await session.scalar(select(Post).where(Post.title == "Zeppelin hangar roofs"))
            assert post is not None
            first = await session.scalar(select(func.count()).where(Embedding.post_id == post.id))
            assert first and first > 0
        edit = await client.get(f"/posts/{post.id}/edit")
        assert edit.status_code == 200 and "zeppelinhangar" in edit.text
        saved = await submit(
            client,
            f"/posts/{post.id}/edit",
            f"/posts/{post.id}/edit",
            {
                "title": "Airship hangar roofs",
                "body": "We fitted luchtschiphaven roofs.",
                "tags": "solar",
            },
        )
        assert saved.status_code == 303
    async with org.sessions() as session:
        texts = (
            await session.scalars(select(Embedding.text).where(Embedding.post_id == post.id))
        ).all()
        assert texts and all("luchtschiphaven" in t for t in texts)
        # A fresh index (as another process would build) finds Eva by the new word only.
        routing = RoutingService(org.settings, org.routing.embedder)
        found = await routing.route(session, "luchtschiphaven", k=3)
        assert found and found[0].person.handle == "eva.brown"
        old = await routing.route(session, "zeppelinhangar", k=3)
        assert all(m.person.handle != "eva.brown" for m in old) or not old


async def test_a_post_is_deleted_from_my_posts_after_a_confirm_step_and_stops_counting(
    org: AppContext,
) -> None:
    await with_passwords(org, ["asker", "eva.brown"])
    words = "Luchtschiphaven dakgoten"
    async with web_client(org) as client, web_client(org) as other:
        await sign_in(client, "asker")  # reads Dutch
        await sign_in(other, "eva.brown")
        written = await submit(client, "/posts", "/posts", {"title": words, "body": words})
        assert written.status_code == 303
        async with org.sessions() as session:
            post = await session.scalar(select(Post).where(Post.title == words))
            assert post is not None
        listed = await client.get("/posts")
        assert f'href="/posts/{post.id}/delete"' in listed.text
        assert "Verwijderen" in text_of(listed.text)
        confirm = await client.get(f"/posts/{post.id}/delete")
        assert confirm.status_code == 200
        assert "Dit bericht verwijderen?" in text_of(confirm.text) and words in confirm.text
        # Only its author may: anyone else finds nothing to delete.
        assert (await other.get(f"/posts/{post.id}/delete")).status_code == 404
        refused = await submit(other, "/posts", f"/posts/{post.id}/delete")
        assert refused.status_code == 404
        async with org.sessions() as session:
            assert await session.get(Post, post.id) is not None  # asking to confirm deletes nothing
            routing = RoutingService(org.settings, org.routing.embedder)
            found = await routing.route(session, words, k=1)
            assert found and found[0].person.handle == "asker"
        deleted = await submit(client, f"/posts/{post.id}/delete", f"/posts/{post.id}/delete")
        assert deleted.status_code == 303 and deleted.headers["location"] == "/posts"
        after = await client.get("/posts")
        assert "Verwijderd." in text_of(after.text) and words not in after.text
    async with org.sessions() as session:
        assert await session.get(Post, post.id) is None
        vectors = select(func.count()).where(Embedding.post_id == post.id)
        assert await session.scalar(vectors) == 0
        gone = await RoutingService(org.settings, org.routing.embedder).route(session, words, k=3)
        assert all(post.id not in {r["post_id"] for r in m.reasons} for m in gone)


async def test_people_pages_search_and_languages(org: AppContext) -> None:
    await with_passwords(org, ["liam.obrien", "sanne.visser"])
    async with web_client(org) as client:
        login = await client.get("/login", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"})
        assert "Inloggen bij AskHub" in login.text and '<html lang="nl">' in login.text
        login = await client.get("/login", headers={"Accept-Language": "de-DE,en;q=0.5"})
        assert "Sign in to AskHub" in login.text and '<html lang="en">' in login.text
        await sign_in(client, "liam.obrien")
        home = await client.get("/", headers={"Accept-Language": "nl"})
        assert "Asked of you" in home.text  # Liam's profile language (en) wins
        person = await client.get("/people/sanne.visser")
        assert person.status_code == 200
        assert "Staalbouw voor het nieuwe datacenter in Zwolle" in person.text
        assert (await client.get("/people/nobody")).status_code == 404
        by_skill = text_of((await client.get("/search?q=staalbouw")).text)
        assert "Sanne Visser" in by_skill
        by_department = text_of((await client.get("/search?q=finance")).text)
        assert "Tom Bakker" in by_department
        by_name = text_of((await client.get("/search?q=joost")).text)
        assert "Joost Smit" in by_name
        odd = await client.get("/search?q=%25_%5C")
        assert odd.status_code == 200 and "Nobody found." in odd.text
    async with web_client(org) as client:
        await sign_in(client, "sanne.visser")
        await submit(
            client,
            "/calls/new",
            "/calls/new",
            {
                "kind": "referral",
                "title": "Vacature: constructeur staalbouw",
                "url": "https://werkenbij.example/constructeur",
                "action": "post",
            },
        )
        found = text_of((await client.get("/search?q=vacature")).text)
        assert "Vacature: constructeur staalbouw" in found
        assert "verwijzing" in found or "doorverwijzing" in found


async def test_a_dutch_reader_sees_reason_labels_in_dutch(org: AppContext) -> None:
    await with_passwords(org, ["henk.mulder"])
    async with web_client(org) as reader:
        await sign_in(reader, "henk.mulder")
        preview = await submit(
            reader,
            "/calls/new",
            "/calls/preview",
            {"kind": "question", "title": STEEL_TITLE, "body": "", "tags": "staalbouw"},
        )
    assert preview.status_code == 200
    # Profiles match too; their label is the reader's word, followed by the department.
    assert "Profiel — " in preview.text
    assert "Profile — " not in preview.text


async def test_the_language_switch_is_a_setting_apart_from_the_languages_one_speaks(
    org: AppContext,
) -> None:
    await with_passwords(org, ["sanne.visser"])
    async with web_client(org) as sanne:
        await sign_in(sanne, "sanne.visser")
        # Sanne speaks only Dutch: she reads Dutch, whatever her browser says.
        home = await sanne.get("/", headers={"accept-language": "en"})
        assert "Mijn berichten" in home.text and '<html lang="nl">' in home.text
        switched = await submit(sanne, "/profile", "/language", {"lang": "en", "next": "/posts"})
        assert switched.status_code == 303 and switched.headers["location"] == "/posts"
        posts = await sanne.get("/posts", headers={"accept-language": "nl"})
        assert "My posts" in posts.text and "Mijn berichten" not in posts.text
        assert '<html lang="en">' in posts.text
        refused = await submit(sanne, "/profile", "/language", {"lang": "fr", "next": "/"})
        assert refused.status_code == 422 and "en, nl" in refused.text
        back = await submit(sanne, "/", "/language", {"lang": "nl", "next": "//evil.example"})
        assert back.headers["location"] == "/"
    person = await _person(org, "sanne.visser")
    assert person.ui_language == "nl" and person.languages == ["nl"]


async def test_anonymous_pages_follow_the_browser_or_the_lang_choice(org: AppContext) -> None:
    async with web_client(org) as visitor:
        english = await visitor.get("/login", headers={"accept-language": "en"})
        assert "Sign in to AskHub" in english.text
        assert 'href="/login?lang=nl"' in english.text  # the switch, without a cookie
        dutch = await visitor.get("/login?lang=nl", headers={"accept-language": "en"})
        assert "Inloggen bij AskHub" in dutch.text and '<html lang="nl">' in dutch.text


async def test_someone_asked_finds_the_reply_box_first_and_can_say_later(
    org: AppContext,
) -> None:
    await with_passwords(org, ["asker", "sanne.visser"])
    async with web_client(org) as asker:
        await sign_in(asker, "asker")
        preview = await submit(
            asker, "/calls/new", "/calls/preview", {"kind": "question", "title": STEEL_TITLE}
        )
        # One line per person with the best reason; the rest behind a toggle.
        assert preview.text.count('class="match-line"') >= 2
        assert 'class="best-reason"' in preview.text
        posted = await submit(
            asker,
            "/calls/new",
            "/calls/new",
            {"kind": "question", "title": STEEL_TITLE, "tags": "staalbouw", "action": "post"},
        )
        call_id = int(posted.headers["location"].rsplit("/", 1)[1])
    async with web_client(org) as sanne:
        await sign_in(sanne, "sanne.visser")
        page = (await sanne.get(f"/calls/{call_id}")).text
        # The answer box comes before who else replied, right under the call.
        assert page.index('id="act-heading"') < page.index('id="replies-heading"')
        assert page.index('id="act-heading"') < page.index('id="why-heading"')
        later = await submit(sanne, f"/calls/{call_id}", f"/calls/{call_id}/snooze")
        assert later.status_code == 303
        page = (await sanne.get(f"/calls/{call_id}")).text
        assert "We herinneren je er later aan." in page
    async with org.sessions() as session:
        sanne_match = await session.scalar(
            select(Match)
            .join(Person, Person.id == Match.person_id)
            .where(Match.call_id == call_id, Person.handle == "sanne.visser")
        )
        assert sanne_match is not None and sanne_match.snoozed_until is not None
        due = sanne_match.snoozed_until + timedelta(seconds=org.settings.reminder_after + 1)
    await lifecycle_tick(org.sessions, org.settings, due)
    async with org.sessions() as session:
        sanne_id = (await _person(org, "sanne.visser")).id
        subjects = [n.payload["subject"] for n in await inbox(session, sanne_id)]
    assert any(s.startswith("Herinnering: Anna Asker vraagt:") for s in subjects), subjects


async def test_a_preview_answered_after_the_post_does_not_wipe_the_posts_note(
    org: AppContext,
) -> None:
    """The Ask page's live preview is a fetch that can still be in flight when the asker
    posts. Its answer comes with the session as it was before the post; had it set the session
    cookie, it would replace the post's and the note "sent to N colleagues" would never show.
    A request that changes nothing in the session sends no session cookie."""
    from askhub.web import SESSION_COOKIE
    from tests.test_web_support import csrf_of

    form = {"kind": "question", "title": STEEL_TITLE, "tags": "staalbouw"}
    await with_passwords(org, ["asker"])
    async with web_client(org) as asker, web_client(org) as late_tab:
        await sign_in(asker, "asker")
        ask_page = await asker.get("/calls/new")
        token = csrf_of(ask_page.text)
        # The preview's request left with the cookies the browser had before the post.
        for name, value in asker.cookies.items():
            late_tab.cookies.set(name, value)
        posted = await asker.post(
            "/calls/new",
            data={**form, "action": "post", "_csrf_token": token},
            follow_redirects=False,
        )
        assert posted.status_code == 303
        late = await late_tab.post("/calls/preview", data=form, headers={"x-csrftoken": token})
        assert late.status_code == 200 and "Sanne Visser" in late.text
        assert SESSION_COOKIE not in late.headers.get("set-cookie", "")
        shown = text_of((await asker.get(posted.headers["location"])).text)
    assert re.search(r"sent to \d+ colleagues|naar \d+ collega's gestuurd", shown)
