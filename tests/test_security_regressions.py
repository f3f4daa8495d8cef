"""One test per attack of issue 10 (items 2, 3, 5 and 6), each named after what it tried.
Every one of them worked against the server before the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from askhub.calls.links import action_url
from askhub.context import AppContext
from askhub.people.service import EMAIL_IS_IDENTITY, EMAIL_TAKEN
from askhub.web.core import CSRF_COOKIE
from models import Role
from models.db import MigrationRefused, create_engine, upgrade
from tests.served import people_with_tokens, served
from tests.test_api import STAALBOUW, token_for
from tests.test_web_support import PASSWORD, csrf_of, sign_in, submit, web_client, with_passwords

SANNE = "sanne@example.com"


def _field_errors(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


async def _email_of(ctx: AppContext, handle: str) -> str | None:
    async with ctx.sessions() as session:
        return await session.scalar(
            text("SELECT email FROM person WHERE handle = :h"), {"h": handle}
        )


# -- 2. one identity per address --------------------------------------------------------------


async def test_header_signin_cannot_be_hijacked_by_case_variant_email(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Amy claims Sanne's address in other case; Sanne, signed in by her address through the
    company proxy, must still be Sanne (it used to be the lowest id: Amy)."""
    amy = await token_for(org, "amy.chen")
    async with web_client(org) as client:
        claimed = await client.put("/api/people/me", json={"email": SANNE.upper()}, headers=amy)
        assert claimed.status_code == 409, claimed.text
        assert _field_errors(claimed) == ["email"] and EMAIL_TAKEN in claimed.json()["detail"]
    assert await _email_of(org, "amy.chen") == "amy@example.com"

    monkeypatch.setenv("ASKHUB_AUTH_HEADER", "X-Forwarded-User")
    async with web_client(org, auth_header_field="email") as client:
        page = await client.get("/profile", headers={"X-Forwarded-User": "Sanne@Example.com"})
        assert page.status_code == 200 and "sanne.visser" in page.text
        assert "amy.chen" not in page.text
        # An address that is nobody's signs nobody in; a handle is not an address.
        assert (
            await client.get("/", headers={"X-Forwarded-User": "nobody@example.com"})
        ).status_code == 403
        assert (
            await client.get("/", headers={"X-Forwarded-User": "sanne.visser"})
        ).status_code == 403


async def test_email_identity_cannot_be_claimed_before_its_owner_arrives(
    org: AppContext,
) -> None:
    """With email sign-in, Amy sets her address to a new colleague's before the directory
    gives it to them: refused, since the address is who someone is."""
    amy = await token_for(org, "amy.chen")
    async with web_client(org, auth_header_field="email") as client:
        claimed = await client.put(
            "/api/people/me", json={"email": "new.hire@example.com"}, headers=amy
        )
        assert claimed.status_code == 422 and _field_errors(claimed) == ["email"]
        assert EMAIL_IS_IDENTITY in claimed.json()["detail"]
        # The same address in another case is not a change of who she is.
        same = await client.put("/api/people/me", json={"email": "Amy@Example.com"}, headers=amy)
        assert same.status_code == 200 and same.json()["email"] == "Amy@Example.com"
    assert await _email_of(org, "amy.chen") == "Amy@Example.com"


async def test_directory_sync_cannot_give_an_address_to_a_second_person(org: AppContext) -> None:
    admin = await token_for(org, "asker", role=Role.ADMIN)
    async with web_client(org) as client:
        created = await client.post(
            "/api/people",
            json={"handle": "mallory", "name": "Mallory", "email": SANNE.title()},
            headers=admin,
        )
        assert created.status_code == 409, created.text
        assert _field_errors(created) == ["email"]
        assert (await client.get("/api/people/mallory", headers=admin)).status_code == 404


async def test_upgrade_refuses_to_guess_whose_shared_address_it_is(database_url: str) -> None:
    """Two people already share an address (made before 0004): the upgrade must not keep it
    for the lowest id (the hijack) or clear one; it stops and names them."""
    from alembic import command
    from alembic.config import Config

    from models.db import MIGRATIONS

    def downgrade(connection: Any) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")

    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(downgrade)
            for handle, email in (("victim", "v@example.com"), ("thief", "V@EXAMPLE.COM")):
                await connection.execute(
                    text(
                        "INSERT INTO person (handle, name, email, languages, bio, skills, "
                        "timezone, availability, nudge_budget_per_week, channels, digest, role, "
                        "created_at, updated_at) VALUES (:h, :h, :e, '[]', '', '[]', 'UTC', "
                        "'available', 3, '[]', false, 'member', :now, :now)"
                    ),
                    {"h": handle, "e": email, "now": datetime(2026, 1, 1, tzinfo=UTC)},
                )
        with pytest.raises(MigrationRefused, match=r"v@example.com: @victim, @thief"):
            await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE person SET email = NULL WHERE handle = 'thief'"))
        await upgrade(engine)
        async with engine.begin() as connection:
            with pytest.raises(Exception, match=r"(?i)unique"):
                await connection.execute(
                    text("UPDATE person SET email = 'V@example.com' WHERE handle = 'thief'")
                )
    finally:
        await engine.dispose()


# -- 3. sign-in limits that hold -----------------------------------------------------------------


async def _guess(client: Any, token: str, handle: str, password: str, via: str) -> int:
    response = await client.post(
        "/login",
        data={"_csrf_token": token, "handle": handle, "password": password},
        headers={"X-Forwarded-For": via},
        follow_redirects=False,
    )
    return int(response.status_code)


async def test_forwarded_for_header_cannot_reset_the_sign_in_limit(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From loopback, a claimed X-Forwarded-For made every guess come from a new address. The
    header is ignored unless the peer is a trusted proxy (none by default)."""
    monkeypatch.setenv("ASKHUB_LOGIN_MAX_FAILURES_PER_ADDRESS", "3")
    async with served(org) as client:
        token = csrf_of((await client.get("/login")).text)
        spray = [await _guess(client, token, f"user{n}", "guess", f"10.0.0.{n}") for n in range(4)]
        assert spray == [401, 401, 401, 429]

    # Behind a trusted proxy the header is the client: other addresses are other clients.
    monkeypatch.setenv("ASKHUB_TRUSTED_PROXIES", "127.0.0.1/32, ::1")
    async with served(org) as client:
        token = csrf_of((await client.get("/login")).text)
        spread = [await _guess(client, token, f"user{n}", "guess", f"10.0.1.{n}") for n in range(4)]
        assert spread == [401] * 4
        # A forged hop to the left of what the trusted proxy saw does not help either.
        same = [
            await _guess(client, token, f"other{n}", "guess", f"10.9.9.{n}, 10.0.2.1")
            for n in range(4)
        ]
        assert same == [401, 401, 401, 429]


async def test_password_guessing_from_many_addresses_hits_the_per_handle_limit(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit was per handle *and* address: a botnet (or a forged header) had a fresh
    allowance per address. Now the handle's own allowance runs out whoever guesses."""
    await with_passwords(org, ["asker"])
    monkeypatch.setenv("ASKHUB_TRUSTED_PROXIES", "127.0.0.1")
    async with served(org) as client:
        token = csrf_of((await client.get("/login")).text)
        guesses = [await _guess(client, token, "asker", "wrong", f"10.1.0.{n}") for n in range(5)]
        assert guesses == [401] * 5
        assert await _guess(client, token, "asker", PASSWORD, "10.1.0.99") == 429


async def test_current_password_cannot_be_brute_forced_from_a_stolen_session(
    org: AppContext,
) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        await sign_in(client, "asker")
        for n in range(5):
            wrong = await submit(
                client,
                "/profile",
                "/profile/password",
                {"current_password": f"guess {n}", "new_password": "taken over 123"},
            )
            assert wrong.status_code == 422
        blocked = await submit(
            client,
            "/profile",
            "/profile/password",
            {"current_password": PASSWORD, "new_password": "taken over 123"},
        )
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    async with web_client(org) as client:
        assert (await sign_in(client, "asker")).status_code == 303  # unchanged


# -- 5. sessions that end -----------------------------------------------------------------------


def _jar(client: Any) -> dict[str, str]:
    return {cookie.name: cookie.value for cookie in client.cookies.jar}


async def test_session_cookie_copied_before_sign_out_no_longer_works(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as victim, web_client(org) as thief:
        await sign_in(victim, "asker")
        thief.cookies.update(_jar(victim))
        assert (await thief.get("/profile", follow_redirects=False)).status_code == 200
        assert (await submit(victim, "/", "/logout")).status_code == 303
        replay = await thief.get("/profile", follow_redirects=False)
        assert replay.status_code == 303 and replay.headers["location"].startswith("/login")


async def test_password_change_ends_every_other_session_and_old_cookies(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as laptop, web_client(org) as phone, web_client(org) as thief:
        await sign_in(laptop, "asker")
        await sign_in(phone, "asker")
        thief.cookies.update(_jar(laptop))
        assert (await thief.get("/profile", follow_redirects=False)).status_code == 200
        changed = await submit(
            laptop,
            "/profile",
            "/profile/password",
            {"current_password": PASSWORD, "new_password": "a brand new secret"},
        )
        assert changed.status_code == 303
        assert (await laptop.get("/profile", follow_redirects=False)).status_code == 200
        assert (await phone.get("/profile", follow_redirects=False)).status_code == 303
        # The laptop's cookie from before the change is a session that ended too.
        assert (await thief.get("/profile", follow_redirects=False)).status_code == 303


async def test_sign_out_everywhere_ends_a_session_someone_else_holds(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as mine, web_client(org) as theirs:
        await sign_in(mine, "asker")
        await sign_in(theirs, "asker")
        page = await mine.get("/profile")
        assert "Overal uitloggen" in page.text  # Anna reads Dutch
        out = await submit(mine, "/profile", "/profile/sessions/end")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert (await theirs.get("/", follow_redirects=False)).status_code == 303
        assert (await mine.get("/", follow_redirects=False)).status_code == 303


async def test_planted_csrf_cookie_cannot_forge_a_form_for_a_signed_in_user(
    org: AppContext,
) -> None:
    """The attacker gets a valid CSRF cookie and token from their own browser and plants the
    cookie in the victim's (a sibling subdomain can): the token fitted any cookie of the same
    value, so forms could be forged. Now a signed-in session's token is its own."""
    await with_passwords(org, ["asker"])
    async with web_client(org) as attacker:
        planted = _jar(await _fresh(attacker))[CSRF_COOKIE]
    form = {"kind": "question", "title": "Forged call", "action": "post"}
    async with web_client(org) as victim:
        # Planted before the sign-in: the sign-in gives the browser a new one.
        victim.cookies.set(CSRF_COOKIE, planted)
        signed_in = await sign_in(victim, "asker")
        assert _jar(victim)[CSRF_COOKIE] != planted
        # It lasts as long as the session cookie (a browser restart keeps both).
        bound = [c for c in signed_in.headers.get_list("set-cookie") if c.startswith(CSRF_COOKIE)]
        assert bound and "max-age=" in bound[0].lower()
        forged = await victim.post("/calls/new", data={**form, "_csrf_token": planted})
        assert forged.status_code == 403
        # Planted after the sign-in.
        victim.cookies.set(CSRF_COOKIE, planted)
        forged = await victim.post("/calls/new", data={**form, "_csrf_token": planted})
        assert forged.status_code == 403
    async with org.sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM call")) == 0


async def _fresh(client: Any) -> Any:
    await client.get("/login")
    return client


# -- 6. who may forward, who sees a decline, links that act once ------------------------------


async def _call_with_asked(ctx: AppContext, client: Any) -> tuple[int, list[str]]:
    """A question routed to some of the organisation: its id and the handles asked."""
    created = await client.post("/api/calls", json=STAALBOUW, headers=await token_for(ctx, "asker"))
    assert created.status_code == 201, created.text
    call = created.json()
    asked = [m["person"]["handle"] for m in call["matches"] if m["state"] == "nudged"]
    assert len(asked) >= 2, call["matches"]
    return call["id"], asked


async def _person_id(ctx: AppContext, handle: str) -> int:
    async with ctx.sessions() as session:
        found = await session.scalar(text("SELECT id FROM person WHERE handle = :h"), {"h": handle})
    assert found is not None
    return int(found)


async def test_stranger_cannot_forward_a_call_to_have_a_colleague_asked(org: AppContext) -> None:
    """Neither asker nor asked, Mallory forwarded any call (201) and the colleague was asked
    at once, in the asker's name."""
    [mallory, target] = await people_with_tokens(org, "outsider", 2)
    async with web_client(org) as client:
        call_id, asked = await _call_with_asked(org, client)
        forged = await client.post(
            f"/api/calls/{call_id}/replies",
            json={"kind": "forward", "forward_to": "outsider001", "body": "ask them"},
            headers=mallory,
        )
        assert forged.status_code == 403, forged.text
        as_target = (await client.get(f"/api/calls/{call_id}", headers=target)).json()
        assert as_target["matches"] == []  # nobody asked them
        # The people asked, and managers, still may.
        by_asked = await client.post(
            f"/api/calls/{call_id}/replies",
            json={"kind": "forward", "forward_to": "outsider001"},
            headers=await token_for(org, asked[0]),
        )
        assert by_asked.status_code == 201, by_asked.text
        manager = await token_for(org, "tom.bakker", role=Role.MANAGER)
        by_manager = await client.post(
            f"/api/calls/{call_id}/replies",
            json={"kind": "forward", "forward_to": "mark.jones"},
            headers=manager,
        )
        assert by_manager.status_code == 201, by_manager.text


async def test_decline_replies_do_not_tell_others_who_was_asked(org: AppContext) -> None:
    await with_passwords(org, ["amy.chen"])
    [outsider] = await people_with_tokens(org, "reader", 1)
    async with web_client(org) as client:
        call_id, asked = await _call_with_asked(org, client)
        decliner = await token_for(org, asked[0])
        note = "Ik ben op vakantie tot maart"
        declined = await client.post(
            f"/api/calls/{call_id}/replies",
            json={"kind": "decline", "body": note},
            headers=decliner,
        )
        assert declined.status_code == 201
        seen_by = {
            "asker": (
                await client.get(f"/api/calls/{call_id}", headers=await token_for(org, "asker"))
            ).json(),
            "decliner": (await client.get(f"/api/calls/{call_id}", headers=decliner)).json(),
            "outsider": (await client.get(f"/api/calls/{call_id}", headers=outsider)).json(),
            "listed": (await client.get("/api/calls", headers=outsider)).json()[0],
        }
        assert [r["body"] for r in seen_by["asker"]["replies"]] == [note]
        assert [r["body"] for r in seen_by["decliner"]["replies"]] == [note]
        assert seen_by["outsider"]["replies"] == seen_by["listed"]["replies"] == []
        # Nor on the web page of someone else.
        if asked[0] != "amy.chen":
            await sign_in(client, "amy.chen")
            page = await client.get(f"/calls/{call_id}")
            assert page.status_code == 200 and note not in page.text
            assert asked[0] not in page.text


async def _notices_to_asker(ctx: AppContext, call_id: int) -> int:
    async with ctx.sessions() as session:
        found = await session.scalar(
            text(
                "SELECT count(*) FROM nudge JOIN person ON person.id = nudge.person_id "
                "WHERE nudge.call_id = :c AND person.handle = 'asker' AND nudge.kind = 'notice' "
                "AND nudge.channel = 'inapp'"
            ),
            {"c": call_id},
        )
    return int(found or 0)


async def test_reply_link_posted_three_times_answers_once(org: AppContext) -> None:
    async with web_client(org) as client:
        call_id, asked = await _call_with_asked(org, client)
        link = action_url(org.settings, call_id, await _person_id(org, asked[0]), "reply")
        path = link.removeprefix(org.settings.base_url)
        posts = [
            await client.post(path, data={"body": f"Antwoord {n}: gebruik HE-profielen."})
            for n in range(3)
        ]
        assert [p.status_code for p in posts] == [200, 409, 409]
        for replay in posts[1:]:
            assert "Antwoord 0" in replay.text  # what was done
            assert f'href="{org.settings.base_url}/calls/{call_id}"' in replay.text
        again = await client.get(path)
        assert again.status_code == 200 and "<form" not in again.text
        call = (
            await client.get(f"/api/calls/{call_id}", headers=await token_for(org, "asker"))
        ).json()
    assert [r["body"] for r in call["replies"]] == ["Antwoord 0: gebruik HE-profielen."]
    assert await _notices_to_asker(org, call_id) == 1


async def test_used_decline_link_disables_the_persons_other_links_for_the_call(
    org: AppContext,
) -> None:
    async with web_client(org) as client:
        call_id, asked = await _call_with_asked(org, client)
        person_id = await _person_id(org, asked[0])
        decline = action_url(org.settings, call_id, person_id, "decline")
        reply = action_url(org.settings, call_id, person_id, "reply")
        other = action_url(org.settings, call_id, await _person_id(org, asked[1]), "reply")
        strip = org.settings.base_url
        done = await client.post(decline.removeprefix(strip), data={"body": ""})
        assert done.status_code == 200
        late = await client.post(reply.removeprefix(strip), data={"body": "toch een antwoord"})
        assert late.status_code == 409
        assert "not for you" in late.text or "niet voor jou" in late.text  # their language
        assert "<form" not in (await client.get(reply.removeprefix(strip))).text
        # Someone else's links are theirs.
        answered = await client.post(other.removeprefix(strip), data={"body": "Wel een antwoord"})
        assert answered.status_code == 200
        call = (
            await client.get(f"/api/calls/{call_id}", headers=await token_for(org, "asker"))
        ).json()
    assert sorted(r["kind"] for r in call["replies"]) == ["answer", "decline"]
