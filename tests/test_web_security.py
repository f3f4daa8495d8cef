"""The web pages' security: sign-in, session cookies, CSRF, rate limits, trusted header mode,
what others cannot see, and markdown that cannot run script."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from askhub.context import AppContext
from askhub.web.accounts import set_password
from models import Call, Person, Post, Role
from tests.test_api import STAALBOUW, token_for
from tests.test_web_support import (
    PASSWORD,
    csrf_of,
    sign_in,
    submit,
    text_of,
    web_client,
    with_passwords,
)


def cookie_header(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie in {headers}"
    return str(found[-1])


async def test_pages_ask_to_sign_in_and_the_api_keeps_its_bearer_tokens(org: AppContext) -> None:
    async with web_client(org) as client:
        home = await client.get("/", follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/login?next=/"
        export = await client.get("/profile/export", follow_redirects=False)
        assert export.status_code == 303
        assert export.headers["location"] == "/login?next=/profile/export"
        login = await client.get("/login")
        assert login.status_code == 200 and 'name="password"' in login.text
        assert "content-security-policy" in login.headers
        # The JSON API is untouched: 401 JSON without a token, no web cookies.
        api = await client.get("/api/calls")
        assert api.status_code == 401 and api.json()["detail"].startswith("missing bearer")
        assert "set-cookie" not in api.headers
        assert (await client.get("/api/health")).status_code == 200


async def test_sign_in_sets_an_http_only_same_site_session_and_sign_out_ends_it(
    org: AppContext,
) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        login = await client.get("/login")
        csrf_cookie = cookie_header(login, "askhub_csrf").lower()
        assert "httponly" in csrf_cookie and "samesite=lax" in csrf_cookie
        response = await sign_in(client, "asker")
        assert response.headers["location"] == "/"
        session = cookie_header(response, "askhub_session").lower()
        assert "httponly" in session and "samesite=lax" in session and "path=/" in session
        assert "secure" not in session  # http base URL
        home = await client.get("/")
        assert home.status_code == 200 and "Anna Asker" in home.text

        out = await submit(client, "/", "/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_session_cookie_is_secure_behind_https(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(
        org, client_url="https://askhub.example", base_url="https://askhub.example"
    ) as client:
        assert "secure" in cookie_header(await client.get("/login"), "askhub_csrf").lower()
        response = await submit(
            client, "/login", "/login", {"handle": "asker", "password": PASSWORD}
        )
        assert response.status_code == 303
        assert "secure" in cookie_header(response, "askhub_session").lower()


async def test_wrong_password_and_unknown_handle_look_the_same(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        wrong = await submit(
            client, "/login", "/login", {"handle": "asker", "password": "nope!!!!"}
        )
        unknown = await submit(client, "/login", "/login", {"handle": "nobody", "password": "x"})
        assert wrong.status_code == unknown.status_code == 401
        assert (
            "Wrong handle or password." in wrong.text
            and "Wrong handle or password." in unknown.text
        )
        assert "askhub_session" not in wrong.headers.get("set-cookie", "")


async def test_forms_without_a_valid_csrf_token_are_rejected(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        await client.get("/login")  # has the CSRF cookie, but sends no token
        no_token = await client.post("/login", data={"handle": "asker", "password": PASSWORD})
        assert no_token.status_code == 403
        assert "text/html" in no_token.headers["content-type"]
        await sign_in(client, "asker")
        form = {"kind": "question", "title": "Wie weet iets van staalbouw?", "action": "post"}
        assert (await client.post("/calls/new", data=form)).status_code == 403
        forged = await client.post("/calls/new", data={**form, "_csrf_token": "forged"})
        assert forged.status_code == 403
        # A token from another browser (its own cookie) does not fit this one's cookie.
        async with web_client(org) as other:
            foreign = csrf_of((await other.get("/login")).text)
        stolen = await client.post("/calls/new", data={**form, "_csrf_token": foreign})
        assert stolen.status_code == 403
        # The fetch() previews send the token in a header; without it they are refused too.
        assert (await client.post("/markdown/preview", data={"text": "x"})).status_code == 403
        async with org.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Call)) == 0
        # With the page's token the same form goes through.
        posted = await submit(client, "/calls/new", "/calls/new", form)
        assert posted.status_code == 303
        # The JSON API needs no CSRF token: it authenticates with bearer tokens, not cookies.
        api = await client.post("/api/calls", json=STAALBOUW, headers=await token_for(org, "asker"))
        assert api.status_code == 201


async def test_sign_in_is_rate_limited_per_handle_and_address(org: AppContext) -> None:
    await with_passwords(org, ["asker", "sanne.visser"])
    async with web_client(org) as client:
        for _ in range(5):
            response = await submit(
                client, "/login", "/login", {"handle": "asker", "password": "wrong password"}
            )
            assert response.status_code == 401
        # Now even the right password waits.
        blocked = await submit(
            client, "/login", "/login", {"handle": "asker", "password": PASSWORD}
        )
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Too many failed attempts" in blocked.text
        # Other accounts are not locked out by it.
        assert (await sign_in(client, "sanne.visser")).status_code == 303


async def test_trusted_header_mode_takes_the_handle_from_the_proxy(
    org: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASKHUB_AUTH_HEADER", "X-Forwarded-User")
    async with web_client(org) as client:
        header = {"X-Forwarded-User": "sanne.visser"}
        home = await client.get("/", headers=header)
        assert home.status_code == 200 and "Sanne Visser" in home.text
        assert "Sign out" not in home.text and "Uitloggen" not in home.text
        # The header carries handles here (ASKHUB_AUTH_HEADER_FIELD=handle): an address is
        # not a handle, and is never tried as one.
        by_mail = await client.get("/profile", headers={"X-Forwarded-User": "SANNE@example.com"})
        assert by_mail.status_code == 403
        assert (await client.get("/", follow_redirects=False)).status_code == 401
        unknown = await client.get("/", headers={"X-Forwarded-User": "mallory"})
        assert unknown.status_code == 403
        # No password sign-in in this mode.
        login = await client.get("/login", headers=header, follow_redirects=False)
        assert login.status_code == 303
        # Forms still need their CSRF token.
        form = {"kind": "question", "title": "Wie weet iets van staalbouw?", "action": "post"}
        assert (await client.post("/calls/new", data=form, headers=header)).status_code == 403
        posted = await submit(client, "/calls/new", "/calls/new", form, headers=header)
        assert posted.status_code == 303


async def test_another_persons_private_data_is_not_reachable_by_url(org: AppContext) -> None:
    await with_passwords(org, ["asker", "amy.chen", "tom.bakker"], {"tom.bakker": Role.MANAGER})
    async with org.sessions() as session, session.begin():
        asker = await session.scalar(select(Person).where(Person.handle == "asker"))
        assert asker is not None
        asker.webhook_url = "https://hooks.example/secret-asker-hook"
        asker.quiet_hours_start, asker.quiet_hours_end = 21, 7
    async with web_client(org) as client:
        await sign_in(client, "asker")
        await submit(
            client,
            "/posts",
            "/posts",
            {"title": "Mijn staalbouwnotities", "body": "Over geboute verbindingen.", "tags": ""},
        )
        posted = await submit(
            client,
            "/calls/new",
            "/calls/new",
            {"kind": "question", "title": STAALBOUW["title"], "body": STAALBOUW["body"]},
        )
        call_path = posted.headers["location"]
        own = await client.get(call_path)
        assert 'id="asked-heading"' in own.text and "Sanne Visser" in own.text
    async with org.sessions() as session:
        post_id = await session.scalar(
            select(Post.id).where(Post.title == "Mijn staalbouwnotities")
        )

    async with web_client(org) as client:
        await sign_in(client, "amy.chen")
        # The call: visible, but not who was asked, nor why.
        page = await client.get(call_path)
        assert page.status_code == 200 and STAALBOUW["title"] in text_of(page.text)
        assert 'id="asked-heading"' not in page.text and "Sanne Visser" not in page.text
        # Profile pages and the export are always the signed-in person's own.
        export = await client.get("/profile/export")
        assert export.status_code == 200
        assert "attachment" in export.headers["content-disposition"]
        data = export.json()
        assert data["person"]["handle"] == "amy.chen"
        assert "secret-asker-hook" not in export.text and "password" not in export.text
        for path in ("/profile?handle=asker", "/profile/export?handle=asker"):
            response = await client.get(path)
            assert response.status_code == 200 and "amy.chen" in response.text
            assert "secret-asker-hook" not in response.text
        for path in ("/people/asker/export", "/people/asker/preferences", "/profile/asker"):
            assert (await client.get(path)).status_code == 404
        public = await client.get("/people/asker")
        assert public.status_code == 200 and "Anna Asker" in public.text
        assert "secret-asker-hook" not in public.text and "21:00" not in public.text
        # Someone else's post cannot be edited.
        assert (await client.get(f"/posts/{post_id}/edit")).status_code == 404
        hijack = await submit(
            client, "/posts", f"/posts/{post_id}/edit", {"title": "pwned", "body": "pwned"}
        )
        assert hijack.status_code == 404
        # Preferences are changed through /profile only, for oneself.
        await submit(client, "/profile", "/profile/preferences", {"availability": "opted_out"})
    async with org.sessions() as session:
        post = await session.get(Post, post_id)
        asker_now = await session.scalar(select(Person).where(Person.handle == "asker"))
        amy = await session.scalar(select(Person).where(Person.handle == "amy.chen"))
        assert post is not None and post.title == "Mijn staalbouwnotities"
        assert asker_now is not None and asker_now.availability == "available"
        assert amy is not None and amy.availability == "opted_out"

    async with web_client(org) as client:
        await sign_in(client, "tom.bakker")  # a manager sees who was asked
        page = await client.get(call_path)
        assert 'id="asked-heading"' in page.text and "Sanne Visser" in page.text


async def test_a_reply_with_script_or_a_javascript_link_is_inert(org: AppContext) -> None:
    await with_passwords(org, ["asker", "sanne.visser"])
    async with web_client(org) as client:
        await sign_in(client, "asker")
        posted = await submit(
            client, "/calls/new", "/calls/new", {"kind": "question", "title": STAALBOUW["title"]}
        )
        call_path = posted.headers["location"]
    evil = (
        "<script>alert('xss')</script>\n\n"
        "[click me](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) "
        "<img src=x onerror=alert(2)> [fine](https://example.com/steel)"
    )
    async with web_client(org) as client:
        await sign_in(client, "sanne.visser")
        replied = await submit(
            client, call_path, f"{call_path}/reply", {"kind": "answer", "body": evil}
        )
        assert replied.status_code == 303
        page = (await client.get(call_path)).text
        assert "<script>alert" not in page and "&lt;script&gt;alert" in page
        assert "<img" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
        assert not re.search(r'href="\s*(javascript|data):', page, re.I)
        assert (
            '<a href="https://example.com/steel" rel="nofollow noopener noreferrer">fine</a>'
            in page
        )


async def test_changing_a_password_ends_other_sessions(org: AppContext) -> None:
    await with_passwords(org, ["asker"])
    async with web_client(org) as client:
        await sign_in(client, "asker")
        assert (await client.get("/", follow_redirects=False)).status_code == 200
        async with org.sessions() as session, session.begin():
            person = await session.scalar(select(Person).where(Person.handle == "asker"))
            assert person is not None
            await set_password(session, person, "a brand new secret")
        assert (await client.get("/", follow_redirects=False)).status_code == 303
